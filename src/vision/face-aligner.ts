import type { RgbImage } from './image-decoder.js';

/** A 2-D point as [x, y]. */
export type Point = [number, number];

/**
 * Similarity transform x' = a·x − b·y + tx, y' = b·x + a·y + ty
 * (scale s = hypot(a, b), rotation θ = atan2(b, a)).
 */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/** Applies a similarity transform to a point. */
export function applySimilarity(t: Similarity, [x, y]: Point): Point {
  return [t.a * x - t.b * y + t.tx, t.b * x + t.a * y + t.ty];
}

/** Inverse of a similarity transform. */
export function invertSimilarity(t: Similarity): Similarity {
  const d = t.a * t.a + t.b * t.b;
  const a = t.a / d;
  const b = -t.b / d;
  return { a, b, tx: -(a * t.tx - b * t.ty), ty: -(b * t.tx + a * t.ty) };
}

/**
 * Least-squares similarity transform mapping `src` onto `dst` (Umeyama 1991, 2-D closed form
 * without reflection). In 2-D the rotation+scale part reduces to a complex ratio, so no SVD is needed.
 */
export function estimateSimilarity(src: readonly Point[], dst: readonly Point[]): Similarity {
  const n = src.length;
  if (n < 2 || dst.length !== n) throw new RangeError('need at least 2 point pairs of equal count');
  let sx = 0, sy = 0, dx = 0, dy = 0;
  for (let i = 0; i < n; i++) {
    sx += src[i]![0]; sy += src[i]![1];
    dx += dst[i]![0]; dy += dst[i]![1];
  }
  sx /= n; sy /= n; dx /= n; dy /= n;
  let num1 = 0, num2 = 0, den = 0;
  for (let i = 0; i < n; i++) {
    const px = src[i]![0] - sx, py = src[i]![1] - sy;
    const qx = dst[i]![0] - dx, qy = dst[i]![1] - dy;
    num1 += px * qx + py * qy;
    num2 += px * qy - py * qx;
    den += px * px + py * py;
  }
  if (den === 0) throw new RangeError('source points are all identical');
  const a = num1 / den;
  const b = num2 / den;
  return { a, b, tx: dx - (a * sx - b * sy), ty: dy - (b * sx + a * sy) };
}

// dlib's mean face shape (get_face_chip_details), points 17..67 of the 68-point scheme, in 0..1.
const MEAN_X = [
  0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124, 0.904991, 0.98004, 0.490127,
  0.490127, 0.490127, 0.490127, 0.36688, 0.426036, 0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825,
  0.334606, 0.260918, 0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149, 0.340985,
  0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721, 0.490127, 0.423532, 0.338094, 0.290379,
  0.428096, 0.490127, 0.552157, 0.689874, 0.553364, 0.490127, 0.42689,
];
const MEAN_Y = [
  0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915, 0.106454, 0.203352,
  0.307009, 0.409805, 0.515625, 0.587326, 0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852,
  0.231733, 0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099, 0.780233, 0.745405,
  0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805, 0.902192, 0.909281, 0.902192, 0.864805, 0.784792,
  0.778746, 0.785343, 0.778746, 0.784792, 0.824182, 0.831803, 0.824182,
];

function meanShapePoint(indices68: number[], size: number, padding: number): Point {
  let x = 0, y = 0;
  for (const i of indices68) {
    x += MEAN_X[i - 17]!;
    y += MEAN_Y[i - 17]!;
  }
  x /= indices68.length;
  y /= indices68.length;
  return [((padding + x) / (2 * padding + 1)) * size, ((padding + y) / (2 * padding + 1)) * size];
}

const LEFT_EYE = [36, 37, 38, 39, 40, 41];
const RIGHT_EYE = [42, 43, 44, 45, 46, 47];

/**
 * The 5-point template of dlib's 150×150 face chip (padding 0.25) that the ResNet recogniser was
 * trained on: eye centres, nose tip, mouth corners, taken from dlib's mean face shape.
 */
export const DLIB_CHIP_TEMPLATE_150: readonly Point[] = [
  meanShapePoint(LEFT_EYE, 150, 0.25),
  meanShapePoint(RIGHT_EYE, 150, 0.25),
  meanShapePoint([30], 150, 0.25),
  meanShapePoint([48], 150, 0.25),
  meanShapePoint([54], 150, 0.25),
];

/** 5 points (left eye, right eye, nose tip, left/right mouth corner) from the 68-point scheme. */
export function fivePointsFrom68(pts: readonly Point[]): Point[] {
  const mean = (idx: number[]): Point => {
    let x = 0, y = 0;
    for (const i of idx) {
      x += pts[i]![0];
      y += pts[i]![1];
    }
    return [x / idx.length, y / idx.length];
  };
  return [mean(LEFT_EYE), mean(RIGHT_EYE), pts[30]!, pts[48]!, pts[54]!];
}

/**
 * Samples an `outW`×`outH` RGB image where output pixel (u, v) takes the bilinear value of the
 * source at `toSource(u, v)` (pixel centres at integer coordinates, as dlib does). Outside the
 * source is black, like dlib's extract_image_chip.
 */
export function warpSimilarity(src: RgbImage, toSource: Similarity, outW: number, outH: number): Buffer {
  const out = Buffer.alloc(outW * outH * 3);
  const { data, width, height } = src;
  for (let v = 0; v < outH; v++) {
    for (let u = 0; u < outW; u++) {
      const x = toSource.a * u - toSource.b * v + toSource.tx;
      const y = toSource.b * u + toSource.a * v + toSource.ty;
      const x0 = Math.floor(x), y0 = Math.floor(y);
      const fx = x - x0, fy = y - y0;
      const o = (v * outW + u) * 3;
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let k = 0; k < 4; k++) {
          const xi = x0 + (k & 1), yi = y0 + (k >> 1);
          if (xi < 0 || yi < 0 || xi >= width || yi >= height) continue;
          const w = (k & 1 ? fx : 1 - fx) * (k >> 1 ? fy : 1 - fy);
          acc += w * data[(yi * width + xi) * 3 + c]!;
        }
        out[o + c] = Math.round(acc);
      }
    }
  }
  return out;
}

/**
 * Crops the face chip for the recogniser: the similarity transform taking the 5 landmarks onto
 * the dlib template is estimated, inverted, and the chip sampled from the image.
 */
export function alignFaceChip(img: RgbImage, landmarks5: readonly Point[], size = 150): Buffer {
  const template = size === 150 ? DLIB_CHIP_TEMPLATE_150 : DLIB_CHIP_TEMPLATE_150.map(([x, y]) => [(x * size) / 150, (y * size) / 150] as Point);
  const chipFromImage = estimateSimilarity(landmarks5, template);
  return warpSimilarity(img, invertSimilarity(chipFromImage), size, size);
}
