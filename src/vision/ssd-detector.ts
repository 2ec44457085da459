import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { nms, type ScoredBox } from './box-utils.js';
import type { RgbImage } from './image-decoder.js';

/** Side of face-api's SSD input square (the photo-mode detector). */
const S512 = 512;

/** Options of one detection call. */
export interface SsdDetectOptions {
  /** Minimum score kept. @defaultValue 0.5 (face-api's default) */
  minScore?: number;
  /**
   * Smallest face width (pixels of the image passed) that should be found; decides how finely
   * the image is tiled. Undefined = one global pass only (selfies, portraits).
   */
  minFaceSize?: number;
  /** Upper bound on SSD tiles per image, to cap latency on huge photos. @defaultValue 48 */
  maxTiles?: number;
  /**
   * Add a pass with the whole image shrunk into the middle of a black canvas, so faces filling
   * the frame (selfies) are found: face-api's SSD scores faces wider than ~half the input poorly.
   * 'fallback' runs it only when the other passes found no face scoring ≥ 0.8 (saves a pass on
   * ordinary selfies). @defaultValue 'always'
   */
  bigFaces?: 'always' | 'fallback' | 'never';
}

// The big-face pass shrinks the image to 1/BIG_FACE_SHRINK of the input square (measured on
// dlib's 150 px face chips at 512: 2.6 lifts every chip's score above 0.9, 2.0 leaves 4/55 below 0.5).
const BIG_FACE_SHRINK = 2.6;

/** Size-dependent constants of one detector; the 512 values are the measured originals. */
export interface SsdGeometry {
  /** Input square side. */
  size: number;
  /** Smallest box side kept, input pixels (see SSD_MIN_RELIABLE_FACE). */
  minBox: number;
  /** Tile overlap, input pixels. */
  overlap: number;
  /** The big-face pass shrinks the image to 1/bigFaceShrink of the input square. */
  bigFaceShrink: number;
}

/**
 * Geometry for an input side: pixel constants scale with the input so they keep their meaning
 * relative to the anchors (which are fractions of the input); 512 gives the original numbers.
 */
export function ssdGeometry(size: number): SsdGeometry {
  const k = size / S512;
  return { size, minBox: 20 * k, overlap: Math.round(128 * k), bigFaceShrink: BIG_FACE_SHRINK };
}

const GEOMETRY_512 = ssdGeometry(S512);

/**
 * Geometry of the small selfie detector. Its big-face pass shrinks less (1.8): on johns chips
 * blown up to fill a 900×900 frame, the 256 px detector found exactly one face in 54/55 with
 * 1.5..1.8 but only 41..46/55 with 2.0..2.6 (a second, offset box survives the cross-pass NMS).
 */
export function selfieSsdGeometry(size: number): SsdGeometry {
  return { ...ssdGeometry(size), bigFaceShrink: 1.8 };
}

/**
 * Face width (dlib-style tight box), in SSD-input pixels, found reliably: on dlib's group photos
 * recall was 97 % at 30 px, 88 % at 26 px, 55 % at 22 px.
 */
export const SSD_MIN_RELIABLE_FACE = 32;

interface Tile {
  /** Top-left of the tile in the scaled image. */
  x: number;
  y: number;
  scale: number;
  /** Whether each tile edge is interior (cut through the image) rather than the image border. */
  cut: { left: boolean; top: boolean; right: boolean; bottom: boolean };
}

/** Plans the pyramid: a global pass plus finer tiled passes down to `minFaceSize`. */
export function planScales(width: number, height: number, opts: SsdDetectOptions, geo: SsdGeometry = GEOMETRY_512): number[] {
  const { size: S, overlap: OVERLAP } = geo;
  const s0 = S / Math.max(width, height);
  const scales = [s0];
  if (opts.minFaceSize === undefined) return scales;
  let target = SSD_MIN_RELIABLE_FACE / opts.minFaceSize;
  const maxTiles = opts.maxTiles ?? 48;
  // Never upscale beyond 2× — the faces are blurry by then and the tile count explodes.
  target = Math.min(target, 2);
  if (target <= s0 * 1.15) return scales;
  // Shrink the finest scale until the whole pyramid fits the tile budget.
  const tilesAt = (s: number): number => {
    const w = width * s, h = height * s;
    return w <= S && h <= S ? 1 : Math.ceil((w - OVERLAP) / (S - OVERLAP)) * Math.ceil((h - OVERLAP) / (S - OVERLAP));
  };
  for (;;) {
    const pyramid = pyramidBetween(s0, target);
    const total = pyramid.reduce((n, s) => n + tilesAt(s), 0);
    if (total <= maxTiles || target <= s0 * 1.15) return total <= maxTiles ? pyramid : scales;
    target /= 1.1;
  }
}

// Consecutive scales differ by at most this ratio: SSD covers faces of ~40..400 px per pass.
// Tiles overlap (SsdGeometry.overlap, 128 at 512) by more than the largest face a finer pass is
// responsible for (step × 32 px); the smallest box kept is SsdGeometry.minBox (20 at 512).
const MAX_SCALE_STEP = 3;

function pyramidBetween(s0: number, target: number): number[] {
  const steps = Math.max(1, Math.ceil(Math.log(target / s0) / Math.log(MAX_SCALE_STEP)));
  const ratio = (target / s0) ** (1 / steps);
  return Array.from({ length: steps + 1 }, (_, i) => s0 * ratio ** i);
}

function tilesFor(w: number, h: number, scale: number, geo: SsdGeometry): Tile[] {
  const { size: S, overlap: OVERLAP } = geo;
  const starts = (len: number): number[] => {
    if (len <= S) return [0];
    const n = Math.ceil((len - OVERLAP) / (S - OVERLAP));
    const step = (len - S) / (n - 1);
    return Array.from({ length: n }, (_, i) => Math.round(i * step));
  };
  const xs = starts(w);
  const ys = starts(h);
  const tiles: Tile[] = [];
  for (const y of ys)
    for (const x of xs)
      tiles.push({ x, y, scale, cut: { left: x > 0, top: y > 0, right: x + S < w, bottom: y + S < h } });
  return tiles;
}

/**
 * SSD-MobileNetV1 face detector over onnxruntime, with face-api's anchors and decoding. The
 * input side defaults to face-api's 512; a graph built for another size needs the anchors
 * generated for it (`generateSsdAnchors`).
 */
export class SsdDetector {
  readonly geometry: SsdGeometry;
  private readonly numAnchors: number;

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly anchors: Float32Array,
    // One tile per run: on 2 cores batching 4 was ~20 % slower and held ~300 MB more arena memory.
    private readonly batchSize = 1,
    geometry: SsdGeometry | number = GEOMETRY_512,
  ) {
    this.geometry = typeof geometry === 'number' ? ssdGeometry(geometry) : geometry;
    this.numAnchors = anchors.length / 4;
  }

  /** Input side of the network. */
  get inputSize(): number {
    return this.geometry.size;
  }

  /**
   * Runs the network on `n` NHWC S×S RGB squares (raw 0..255) and decodes boxes to
   * normalised (x1, y1, x2, y2) with scores — the same numbers face-api computes.
   */
  async runSquares(input: Float32Array, n: number): Promise<{ boxes: Float32Array; scores: Float32Array }> {
    const S = this.geometry.size;
    const NUM_ANCHORS = this.numAnchors;
    const out = await this.session.run({ input: new ort.Tensor('float32', input, [n, S, S, 3]) });
    const enc = out.box_encodings!.data as Float32Array;
    const scores = out.scores!.data as Float32Array;
    const boxes = new Float32Array(n * NUM_ANCHORS * 4);
    const a = this.anchors;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < NUM_ANCHORS; i++) {
        const ai = i * 4;
        const ei = (b * NUM_ANCHORS + i) * 4;
        // Anchors are (ymin, xmin, ymax, xmax); encodings (ty, tx, th, tw) with TF-OD scales 10, 10, 5, 5.
        const ah = a[ai + 2]! - a[ai]!;
        const aw = a[ai + 3]! - a[ai + 1]!;
        const acy = a[ai]! + ah / 2;
        const acx = a[ai + 1]! + aw / 2;
        const cy = (enc[ei]! / 10) * ah + acy;
        const cx = (enc[ei + 1]! / 10) * aw + acx;
        const hh = (Math.exp(enc[ei + 2]! / 5) * ah) / 2;
        const hw = (Math.exp(enc[ei + 3]! / 5) * aw) / 2;
        boxes[ei] = cx - hw;
        boxes[ei + 1] = cy - hh;
        boxes[ei + 2] = cx + hw;
        boxes[ei + 3] = cy + hh;
      }
    }
    return { boxes, scores };
  }

  /** Detects faces; boxes are in pixels of `img`. */
  async detect(img: RgbImage, opts: SsdDetectOptions = {}): Promise<ScoredBox[]> {
    const { size: S, minBox: MIN_BOX, bigFaceShrink } = this.geometry;
    const NUM_ANCHORS = this.numAnchors;
    const minScore = opts.minScore ?? 0.5;
    const scales = planScales(img.width, img.height, opts, this.geometry);
    const found: ScoredBox[] = [];
    const passes = scales.map((scale) => ({ scale, big: false }));
    const bigFaces = opts.bigFaces ?? 'always';
    if (bigFaces !== 'never') passes.push({ scale: scales[0]! / bigFaceShrink, big: true });
    for (const { scale, big } of passes) {
      if (big && bigFaces === 'fallback' && found.some((b) => b.score >= 0.8)) continue;
      const scaled = await resizeRgb(img, scale);
      const tiles = big
        ? [{ x: -Math.round((S - scaled.width) / 2), y: -Math.round((S - scaled.height) / 2), scale, cut: { left: false, top: false, right: false, bottom: false } }]
        : tilesFor(scaled.width, scaled.height, scale, this.geometry);
      for (let i = 0; i < tiles.length; i += this.batchSize) {
        const batch = tiles.slice(i, i + this.batchSize);
        const input = new Float32Array(batch.length * S * S * 3);
        batch.forEach((t, k) => copyTile(scaled, t.x, t.y, S, input.subarray(k * S * S * 3, (k + 1) * S * S * 3)));
        const { boxes, scores } = await this.runSquares(input, batch.length);
        batch.forEach((t, k) => {
          const perTile: ScoredBox[] = [];
          for (let j = 0; j < NUM_ANCHORS; j++) {
            const sc = scores[k * NUM_ANCHORS + j]!;
            if (sc <= minScore) continue;
            const o = (k * NUM_ANCHORS + j) * 4;
            // Clip to the tile like face-api does, then drop faces cut by an interior tile edge:
            // the overlap guarantees a neighbouring tile (or coarser pass) sees them whole.
            const bx1 = Math.max(0, boxes[o]!) * S, by1 = Math.max(0, boxes[o + 1]!) * S;
            const bx2 = Math.min(1, boxes[o + 2]!) * S, by2 = Math.min(1, boxes[o + 3]!) * S;
            // Boxes far below the smallest anchor (51 px at 512) are noise — 5..10 px "faces" in textures.
            if (bx2 - bx1 < MIN_BOX || by2 - by1 < MIN_BOX) continue;
            const edge = 2;
            if ((t.cut.left && bx1 < edge) || (t.cut.top && by1 < edge) || (t.cut.right && bx2 > S - edge) || (t.cut.bottom && by2 > S - edge)) {
              continue;
            }
            perTile.push({
              x1: Math.max(0, (t.x + bx1) / scale),
              y1: Math.max(0, (t.y + by1) / scale),
              x2: Math.min(img.width, (t.x + bx2) / scale),
              y2: Math.min(img.height, (t.y + by2) / scale),
              score: sc,
            });
          }
          // Within a tile: face-api's own NMS (IoU 0.5).
          found.push(...nms(perTile, 0.5));
        });
      }
    }
    // Across passes and tiles: IoU 0.4, and drop partial faces mostly inside a better box.
    return nms(found, 0.4, 0.75).filter((b) => b.x2 - b.x1 >= 2 && b.y2 - b.y1 >= 2);
  }
}

/** Resizes packed RGB by `scale` with sharp (area-averaging when shrinking). */
export async function resizeRgb(img: RgbImage, scale: number): Promise<RgbImage> {
  const width = Math.max(1, Math.round(img.width * scale));
  const height = Math.max(1, Math.round(img.height * scale));
  if (width === img.width && height === img.height) return img;
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: scale > 1 ? 'linear' : 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Copies the S×S window at (x0, y0) of the image (zero outside it) into NHWC float32. */
function copyTile(img: RgbImage, x0: number, y0: number, S: number, out: Float32Array): void {
  const u0 = Math.max(0, -x0), v0 = Math.max(0, -y0);
  const u1 = Math.min(S, img.width - x0), v1 = Math.min(S, img.height - y0);
  for (let v = v0; v < v1; v++) {
    const src = ((y0 + v) * img.width + x0 + u0) * 3;
    const dst = (v * S + u0) * 3;
    const n = (u1 - u0) * 3;
    for (let i = 0; i < n; i++) out[dst + i] = img.data[src + i]!;
  }
}
