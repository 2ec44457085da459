import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { nms, type ScoredBox } from './box-utils.js';
import type { RgbImage } from './image-decoder.js';

/** Side of face-api's SSD input square: the unit of the tile budget. */
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
  /**
   * Upper bound on detector work per image, in 512×512 tile equivalents (a 1024 tile counts 4),
   * to cap latency on huge photos. @defaultValue DEFAULT_MAX_TILES
   */
  maxTiles?: number;
  /**
   * Add a pass with the whole image shrunk into the middle of a black canvas, so faces filling
   * the frame (selfies) are found: face-api's SSD scores faces wider than ~half the input poorly.
   * 'fallback' runs it only when the other passes found no face scoring ≥ 0.8 (saves a pass on
   * ordinary selfies). @defaultValue 'always'
   */
  bigFaces?: 'always' | 'fallback' | 'never';
}

/**
 * Default tile budget: enough to find 24 px faces in a 6000×4000 photo (~270 units: 54 tiles of
 * 1024 at the finest scale plus the coarser passes); larger photos get a coarser finest scale.
 */
export const DEFAULT_MAX_TILES = 300;

// The big-face pass shrinks the image to 1/BIG_FACE_SHRINK of the input square (measured on
// dlib's 150 px face chips at 512: 2.6 lifts every chip's score above 0.9, 2.0 leaves 4/55 below 0.5).
const BIG_FACE_SHRINK = 2.6;

/**
 * The small selfie detector's big-face pass shrinks less (1.8): on johns chips blown up to fill a
 * 900×900 frame, the 256 px detector found exactly one face in 54/55 with 1.5..1.8 but only
 * 41..46/55 with 2.0..2.6 (a second, offset box survives the cross-pass NMS).
 */
export const SELFIE_BIG_FACE_SHRINK = 1.8;

// Every build of the SSD keeps face-api's anchor sizes in pixels (ssd-anchors.ts), so these pixel
// constants hold at any input size. Boxes far below the smallest anchor (51 px) are noise — 5..10 px
// "faces" in textures. Tiles overlap by more than the largest face a finer pass is responsible for
// (MAX_SCALE_STEP × 32 px).
const MIN_BOX = 20;
const OVERLAP = 128;

/**
 * Face width (dlib-style tight box), in SSD-input pixels, found reliably: on dlib's group photos
 * recall was 97 % at 30 px, 88 % at 26 px, 55 % at 22 px.
 */
export const SSD_MIN_RELIABLE_FACE = 32;

/** One build of the SSD: a session for one square input side, with the anchors made for it. */
export interface SsdNet {
  session: ort.InferenceSession;
  /** (ymin, xmin, ymax, xmax) in 0..1 of the input, in the order of the network's outputs. */
  anchors: Float32Array;
  /** Input side in pixels. */
  size: number;
  /** The int8 build, which takes uint8 pixels (`buildSsdGraph(…, int8)`); float32 otherwise. */
  uint8Input?: boolean;
}

interface Tile {
  /** Top-left of the tile in the scaled image. */
  x: number;
  y: number;
  /** Whether each tile edge is interior (cut through the image) rather than the image border. */
  cut: { left: boolean; top: boolean; right: boolean; bottom: boolean };
}

/** One pass of the pyramid: the image scaled by `scale`, cut into `size` tiles. */
export interface SsdPass {
  scale: number;
  size: number;
  /** Tiles of this pass. */
  tiles: number;
}

/** The tile side (among `sizes`) that covers the image with the least work, and that work in units. */
function cheapestTiling(w: number, h: number, sizes: number[]): { size: number; tiles: number; units: number } {
  let best = { size: sizes[0]!, tiles: 0, units: Infinity };
  for (const size of sizes) {
    const tiles = tilesFor(w, h, size).length;
    const units = tiles * (size / S512) ** 2;
    // Equal work: the larger tile wastes less on overlap and runs a little faster per pixel.
    if (units < best.units || (units === best.units && size > best.size)) best = { size, tiles, units };
  }
  return best;
}

/**
 * Plans the pyramid: a global pass on the smallest net plus finer tiled passes down to
 * `minFaceSize`, each on the tile size that costs least, within the tile budget.
 */
export function planPasses(width: number, height: number, opts: SsdDetectOptions, sizes: number[] = [S512]): SsdPass[] {
  const sorted = [...sizes].sort((a, b) => a - b);
  const S = sorted[0]!;
  const s0 = S / Math.max(width, height);
  const global: SsdPass[] = [{ scale: s0, size: S, tiles: 1 }];
  if (opts.minFaceSize === undefined) return global;
  // Never upscale beyond 2× — the faces are blurry by then and the tile count explodes.
  let target = Math.min(SSD_MIN_RELIABLE_FACE / opts.minFaceSize, 2);
  const maxTiles = opts.maxTiles ?? DEFAULT_MAX_TILES;
  if (target <= s0 * 1.15) return global;
  // Shrink the finest scale until the whole pyramid fits the tile budget.
  for (;;) {
    const passes = pyramidBetween(s0, target).map((scale, i): SsdPass & { units: number } =>
      i === 0 ? { ...global[0]!, units: 1 } : { scale, ...cheapestTiling(width * scale, height * scale, sorted) },
    );
    const total = passes.reduce((n, p) => n + p.units, 0);
    if (total <= maxTiles) return passes.map(({ scale, size, tiles }) => ({ scale, size, tiles }));
    if (target <= s0 * 1.15) return global;
    target /= 1.1;
  }
}

// Consecutive scales differ by at most this ratio: SSD covers faces of ~40..400 px per pass.
const MAX_SCALE_STEP = 3;

function pyramidBetween(s0: number, target: number): number[] {
  const steps = Math.max(1, Math.ceil(Math.log(target / s0) / Math.log(MAX_SCALE_STEP)));
  const ratio = (target / s0) ** (1 / steps);
  return Array.from({ length: steps + 1 }, (_, i) => s0 * ratio ** i);
}

function tilesFor(w: number, h: number, S: number): Tile[] {
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
      tiles.push({ x, y, cut: { left: x > 0, top: y > 0, right: x + S < w, bottom: y + S < h } });
  return tiles;
}

/**
 * SSD-MobileNetV1 face detector over onnxruntime, with face-api's anchors and decoding. `net`
 * runs the global and big-face passes; tiled passes may use larger builds (`tileNets`), which
 * cover the same pixels with less overlap. Every build's anchors keep face-api's pixel sizes.
 */
export class SsdDetector {
  private readonly nets: Map<number, SsdNet>;

  constructor(
    private readonly net: SsdNet,
    tileNets: SsdNet[] = [],
    private readonly bigFaceShrink = BIG_FACE_SHRINK,
  ) {
    this.nets = new Map([net, ...tileNets].map((n) => [n.size, n]));
  }

  /** Input side of the global pass. */
  get inputSize(): number {
    return this.net.size;
  }

  /** The passes `detect` would run on a width×height image (for benchmarks and tests). */
  plan(width: number, height: number, opts: SsdDetectOptions = {}): SsdPass[] {
    return planPasses(width, height, opts, [...this.nets.keys()]);
  }

  /**
   * Runs one net on an NHWC S×S RGB square (raw 0..255) and decodes boxes to normalised
   * (x1, y1, x2, y2) with scores — the same numbers face-api computes.
   */
  async runSquare(input: Float32Array | Uint8Array, net: SsdNet = this.net): Promise<{ boxes: Float32Array; scores: Float32Array }> {
    const a = net.anchors;
    const numAnchors = a.length / 4;
    const dims = [1, net.size, net.size, 3];
    const tensor = input instanceof Uint8Array ? new ort.Tensor('uint8', input, dims) : new ort.Tensor('float32', input, dims);
    const out = await net.session.run({ input: tensor });
    const enc = out.box_encodings!.data as Float32Array;
    const scores = out.scores!.data as Float32Array;
    const boxes = new Float32Array(numAnchors * 4);
    for (let i = 0; i < numAnchors; i++) {
      const ai = i * 4;
      // Anchors are (ymin, xmin, ymax, xmax); encodings (ty, tx, th, tw) with TF-OD scales 10, 10, 5, 5.
      const ah = a[ai + 2]! - a[ai]!;
      const aw = a[ai + 3]! - a[ai + 1]!;
      const acy = a[ai]! + ah / 2;
      const acx = a[ai + 1]! + aw / 2;
      const cy = (enc[ai]! / 10) * ah + acy;
      const cx = (enc[ai + 1]! / 10) * aw + acx;
      const hh = (Math.exp(enc[ai + 2]! / 5) * ah) / 2;
      const hw = (Math.exp(enc[ai + 3]! / 5) * aw) / 2;
      boxes[ai] = cx - hw;
      boxes[ai + 1] = cy - hh;
      boxes[ai + 2] = cx + hw;
      boxes[ai + 3] = cy + hh;
    }
    return { boxes, scores };
  }

  /** Detects faces; boxes are in pixels of `img`. */
  async detect(img: RgbImage, opts: SsdDetectOptions = {}): Promise<ScoredBox[]> {
    const minScore = opts.minScore ?? 0.5;
    const found: ScoredBox[] = [];
    const passes = this.plan(img.width, img.height, opts).map((p) => ({ ...p, big: false }));
    const bigFaces = opts.bigFaces ?? 'always';
    if (bigFaces !== 'never') passes.push({ scale: passes[0]!.scale / this.bigFaceShrink, size: this.net.size, tiles: 1, big: true });
    for (const { scale, size, big } of passes) {
      if (big && bigFaces === 'fallback' && found.some((b) => b.score >= 0.8)) continue;
      const net = this.nets.get(size)!;
      const S = net.size;
      const scaled = await resizeRgb(img, scale);
      const tiles: Tile[] = big
        ? [{ x: -Math.round((S - scaled.width) / 2), y: -Math.round((S - scaled.height) / 2), cut: { left: false, top: false, right: false, bottom: false } }]
        : tilesFor(scaled.width, scaled.height, S);
      const input = net.uint8Input ? new Uint8Array(S * S * 3) : new Float32Array(S * S * 3);
      for (const t of tiles) {
        input.fill(0);
        copyTile(scaled, t.x, t.y, S, input);
        const { boxes, scores } = await this.runSquare(input, net);
        const perTile: ScoredBox[] = [];
        for (let j = 0; j < scores.length; j++) {
          const sc = scores[j]!;
          if (sc <= minScore) continue;
          const o = j * 4;
          // Clip to the tile like face-api does, then drop faces cut by an interior tile edge:
          // the overlap guarantees a neighbouring tile (or coarser pass) sees them whole.
          const bx1 = Math.max(0, boxes[o]!) * S, by1 = Math.max(0, boxes[o + 1]!) * S;
          const bx2 = Math.min(1, boxes[o + 2]!) * S, by2 = Math.min(1, boxes[o + 3]!) * S;
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

/** Copies the S×S window at (x0, y0) of the image (zero outside it) into NHWC pixels. */
function copyTile(img: RgbImage, x0: number, y0: number, S: number, out: Float32Array | Uint8Array): void {
  const u0 = Math.max(0, -x0), v0 = Math.max(0, -y0);
  const u1 = Math.min(S, img.width - x0), v1 = Math.min(S, img.height - y0);
  for (let v = v0; v < v1; v++) {
    const src = ((y0 + v) * img.width + x0 + u0) * 3;
    out.set(img.data.subarray(src, src + (u1 - u0) * 3), (v * S + u0) * 3);
  }
}
