import os from 'node:os';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { area, intersection, iou, type ScoredBox } from './box-utils.js';
import {
  alignFaceChip,
  applySimilarity,
  DLIB_CHIP_TEMPLATE_150,
  estimateSimilarity,
  fivePointsFrom68,
  invertSimilarity,
  type Point,
} from './face-aligner.js';
import type { AnalyzeOptions, DetectedFace, FaceAnalysis, FaceEngine, FaceEngineOptions } from './face-engine.js';
import { LANDMARK_INPUT_SIZE, RECOGNITION_INPUT_SIZE, SSD_INPUT_SIZE, SSD_SELFIE_INPUT_SIZE } from './faceapi-graphs.js';
import { ensureFaceApiModels, FACEAPI_PACK_ID } from './faceapi-model-cache.js';
import { decodeImage, type DecodedImage, type RgbImage } from './image-decoder.js';
import { calibrationFor, cosine, DEFAULT_THRESHOLD, distanceToSimilarity, normalize } from './similarity-calibration.js';
import { SELFIE_BIG_FACE_SHRINK, SsdDetector } from './ssd-detector.js';

/** How the recogniser's 150×150 input is cut from the image. */
export type ChipMode = 'similarity' | 'box';

/** Photo mode looks for faces down to this width by default (pixels of the oriented image). */
export const DEFAULT_MIN_FACE = 24;
/**
 * How selfies are analysed: 'fast' (default) decodes smaller and detects with the 256 px SSD;
 * 'legacy' is the previous path (≤ 1024 px decode, 512 px SSD), kept for benchmarks.
 */
export type SelfiePath = 'fast' | 'legacy';
/** Legacy selfie path: shrink-on-load to at most this side. Also the fast path's re-decode size. */
export const LEGACY_SELFIE_MAX_SIDE = 1024;
/** Fast selfie path: shrink-on-load to at most this side (JPEG decodes at 1/2..1/8 scale). */
export const SELFIE_DECODE_SIDE = 640;
/**
 * Fast path: a face box narrower than this (decoded pixels) would give the 150 px recogniser
 * chip too few source pixels; the image is then decoded again at the legacy size.
 */
export const SELFIE_MIN_FACE_PIXELS = 160;
/** Border added on each side, as a share of the longer side, when a selfie shows no face (tight crops). */
export const SELFIE_TIGHT_CROP_PAD = 0.3;

/** Creates onnxruntime sessions with the project's defaults. */
export function sessionOptions(intraOpThreads?: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: intraOpThreads ?? Math.min(4, os.availableParallelism()),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  };
}

/** Crops `box` (clipped to the image), pads it to a centred square and resizes to `size` — face-api's crop. */
async function squareCrop(img: RgbImage, box: ScoredBox | { x1: number; y1: number; x2: number; y2: number }, size: number): Promise<{ data: Buffer; x0: number; y0: number; side: number }> {
  const x1 = Math.min(img.width - 1, Math.max(0, Math.floor(box.x1)));
  const y1 = Math.min(img.height - 1, Math.max(0, Math.floor(box.y1)));
  const x2 = Math.min(img.width, Math.ceil(box.x2));
  const y2 = Math.min(img.height, Math.ceil(box.y2));
  const w = Math.max(1, x2 - x1);
  const h = Math.max(1, y2 - y1);
  const side = Math.max(w, h);
  const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .extract({ left: x1, top: y1, width: Math.min(w, img.width - x1), height: Math.min(h, img.height - y1) })
    .resize(size, size, { fit: 'contain', background: { r: 0, g: 0, b: 0 }, kernel: 'linear' })
    .raw()
    .toBuffer();
  // Where the padded square's origin sits in the image (padding is centred).
  return { data, x0: x1 - (side - w) / 2, y0: y1 - (side - h) / 2, side };
}

/** Packs several HWC uint8 crops into one NHWC float32 batch. */
function toBatch(crops: Buffer[], size: number): Float32Array {
  const out = new Float32Array(crops.length * size * size * 3);
  crops.forEach((c, i) => {
    const off = i * size * size * 3;
    for (let j = 0; j < c.length; j++) out[off + j] = c[j]!;
  });
  return out;
}

/** The default pack: face-api's SSD + 68 landmarks + dlib ResNet, rebuilt as ONNX. */
export class FaceApiEngine implements FaceEngine {
  readonly packId = FACEAPI_PACK_ID;
  readonly dimensions = 128;
  readonly threshold = DEFAULT_THRESHOLD;
  /** Which chip the recogniser gets; 'similarity' (5-point Umeyama) measured better on johns. */
  chipMode: ChipMode = 'similarity';
  /** Selfie-mode pipeline; see {@link SelfiePath}. */
  selfiePath: SelfiePath = 'fast';
  /**
   * Embed each chip and its mirror image and average them (dlib's "jitter" in its simplest form).
   * Off: measured by `bench:precision -- --flip`, it did not lower false matches on the TEST half.
   */
  flipAverage = false;
  private readonly calibration = calibrationFor(FACEAPI_PACK_ID);

  private constructor(
    readonly detector: SsdDetector,
    /** The same SSD at a smaller input (SSD_SELFIE_INPUT_SIZE), for selfie mode. */
    readonly selfieDetector: SsdDetector,
    private readonly landmarkSession: ort.InferenceSession,
    private readonly recognizerSession: ort.InferenceSession,
    private readonly detectorSessions: ort.InferenceSession[],
    private readonly maxPixels?: number,
  ) {}

  static async create(opts: FaceEngineOptions): Promise<FaceApiEngine> {
    const files = await ensureFaceApiModels(opts.modelDir);
    const so = sessionOptions(opts.intraOpThreads);
    const session = (file: string): Promise<ort.InferenceSession> => ort.InferenceSession.create(file, so);
    const [det, tileDet, selfieDet, lm, rec] = await Promise.all([
      session(files.detector),
      session(files.tileDetector),
      session(files.selfieDetector),
      session(files.landmarks),
      session(files.recognizer),
    ]);
    return new FaceApiEngine(
      new SsdDetector({ session: det, size: SSD_INPUT_SIZE, int8: true }, { session: tileDet, int8: true }),
      new SsdDetector({ session: selfieDet, size: SSD_SELFIE_INPUT_SIZE, int8: true }, undefined, SELFIE_BIG_FACE_SHRINK),
      lm,
      rec,
      [det, tileDet, selfieDet],
      opts.maxPixels,
    );
  }

  async analyze(image: Buffer, opts: AnalyzeOptions = {}): Promise<FaceAnalysis> {
    const mode = opts.mode ?? 'photo';
    if (mode === 'selfie' && this.selfiePath === 'fast') return this.analyzeSelfie(image);
    const decoded = await decodeImage(image, {
      maxPixels: this.maxPixels,
      maxSide: mode === 'selfie' ? LEGACY_SELFIE_MAX_SIDE : undefined,
    });
    // Known boxes (original pixels) in the decoded image's pixels, where detection runs.
    const k = decoded.width / decoded.originalWidth;
    const known = (opts.knownBoxes ?? []).map((b) => ({ x1: b.x * k, y1: b.y * k, x2: (b.x + b.width) * k, y2: (b.y + b.height) * k, score: 1 }));
    const faces = await this.analyzeRgb(decoded, opts, known);
    return { width: decoded.originalWidth, height: decoded.originalHeight, faces: toOriginal(faces, decoded) };
  }

  /**
   * The fast selfie path: decode to ≤ 640 px (shrink-on-load), detect with the 256 px SSD (the
   * 512 one as a safety net when it finds nothing), decode again at 1024 px only if the face is
   * too small for a good chip, then landmarks and embedding as in photo mode.
   */
  private async analyzeSelfie(image: Buffer): Promise<FaceAnalysis> {
    let decoded = await decodeImage(image, { maxPixels: this.maxPixels, maxSide: SELFIE_DECODE_SIDE });
    let boxes = await this.selfieDetector.detect(decoded, { bigFaces: 'fallback' });
    if (boxes.length === 0) boxes = await this.detector.detect(decoded, { bigFaces: 'fallback' });
    const widest = Math.max(0, ...boxes.map((b) => b.x2 - b.x1));
    if (widest > 0 && widest < SELFIE_MIN_FACE_PIXELS && Math.max(decoded.width, decoded.height) < Math.min(LEGACY_SELFIE_MAX_SIDE, Math.max(decoded.originalWidth, decoded.originalHeight))) {
      const finer = await decodeImage(image, { maxPixels: this.maxPixels, maxSide: LEGACY_SELFIE_MAX_SIDE });
      const k = finer.width / decoded.width;
      boxes = boxes.map((b) => ({ x1: b.x1 * k, y1: b.y1 * k, x2: b.x2 * k, y2: b.y2 * k, score: b.score }));
      decoded = finer;
    }
    const faces = boxes.length ? await this.describe(decoded, boxes) : await this.describePadded(decoded);
    return { width: decoded.originalWidth, height: decoded.originalHeight, faces: toOriginal(faces, decoded) };
  }

  /**
   * A selfie whose face fills the frame (chin and forehead cut) has no face for the SSD, which
   * was trained on faces with some surroundings. Put a neutral border around it and look again;
   * boxes and landmarks come back in the unpadded image's pixels (they may reach past its edges).
   */
  private async describePadded(img: RgbImage): Promise<DetectedFace[]> {
    const pad = Math.round(Math.max(img.width, img.height) * SELFIE_TIGHT_CROP_PAD);
    const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
      .extend({ top: pad, bottom: pad, left: pad, right: pad, background: { r: 128, g: 128, b: 128 } })
      .raw()
      .toBuffer();
    const padded: RgbImage = { data, width: img.width + 2 * pad, height: img.height + 2 * pad };
    let boxes = await this.selfieDetector.detect(padded, { bigFaces: 'fallback' });
    if (boxes.length === 0) boxes = await this.detector.detect(padded, { bigFaces: 'fallback' });
    if (boxes.length === 0) return [];
    const faces = await this.describe(padded, boxes);
    for (const face of faces) {
      face.box = { ...face.box, x: face.box.x - pad, y: face.box.y - pad };
      face.landmarks = face.landmarks.map(([x, y]) => [x - pad, y - pad]);
    }
    return faces;
  }

  /** Detect → landmarks → align → embed on an already decoded image. */
  async analyzeRgb(img: RgbImage, opts: AnalyzeOptions = {}, known: ScoredBox[] = []): Promise<DetectedFace[]> {
    const mode = opts.mode ?? 'photo';
    let boxes = await this.detector.detect(img, {
      minFaceSize: mode === 'photo' ? (opts.minFaceSize ?? DEFAULT_MIN_FACE) : undefined,
      maxTiles: opts.maxTiles,
      bigFaces: mode === 'photo' ? 'always' : 'fallback',
      ...(mode === 'photo' && opts.pass && { passes: opts.pass }),
      ...(opts.yieldPoint && { yieldPoint: opts.yieldPoint }),
    });
    // The fine pass adds faces, never a second box of a face the coarse pass found.
    if (known.length > 0) boxes = boxes.filter((b) => !overlapsAny(b, known));
    if (boxes.length === 0) return [];
    await opts.yieldPoint?.();
    return this.describe(img, boxes);
  }

  /** Landmarks, alignment and embedding of detected boxes. */
  private async describe(img: RgbImage, boxes: ScoredBox[]): Promise<DetectedFace[]> {
    const landmarks = await this.landmarks68(img, boxes);
    const embeddings = await this.embed(img, landmarks);
    return boxes.map((b, i) => ({
      box: { x: b.x1, y: b.y1, width: b.x2 - b.x1, height: b.y2 - b.y1 },
      score: b.score,
      landmarks: fivePointsFrom68(landmarks[i]!),
      embedding: embeddings[i]!,
    }));
  }

  /** 68 landmarks per box, in image pixels (face-api's crop and decoding). */
  async landmarks68(img: RgbImage, boxes: ScoredBox[]): Promise<Point[][]> {
    const size = LANDMARK_INPUT_SIZE;
    const crops = await Promise.all(boxes.map((b) => squareCrop(img, b, size)));
    const out = await this.landmarkSession.run({
      input: new ort.Tensor('float32', toBatch(crops.map((c) => c.data), size), [crops.length, size, size, 3]),
    });
    const raw = out.landmarks!.data as Float32Array;
    return crops.map((c, i) =>
      Array.from({ length: 68 }, (_, p): Point => [c.x0 + raw[i * 136 + 2 * p]! * c.side, c.y0 + raw[i * 136 + 2 * p + 1]! * c.side]),
    );
  }

  /** Unit embeddings from 68-point landmarks. */
  async embed(img: RgbImage, landmarks: Point[][]): Promise<Float32Array[]> {
    const chips = await Promise.all(landmarks.map((lm) => this.chip(img, lm)));
    return this.embedChips(chips);
  }

  /** Runs the recogniser on 150×150 RGB chips. */
  async embedChips(chips: Buffer[]): Promise<Float32Array[]> {
    const size = RECOGNITION_INPUT_SIZE;
    // Flip averaging: one batch of the chips and their mirrors, each face's two embeddings summed.
    const batch = this.flipAverage ? [...chips, ...chips.map((c) => mirrorChip(c, size))] : chips;
    const out = await this.recognizerSession.run({
      input: new ort.Tensor('float32', toBatch(batch, size), [batch.length, size, size, 3]),
    });
    const raw = out.descriptor!.data as Float32Array;
    return chips.map((_, i) => {
      const v = raw.slice(i * 128, (i + 1) * 128);
      if (this.flipAverage) for (let d = 0; d < 128; d++) v[d]! += raw[(i + chips.length) * 128 + d]!;
      return normalize(v);
    });
  }

  /** The recogniser's input chip for one face. */
  async chip(img: RgbImage, lm: Point[]): Promise<Buffer> {
    if (this.chipMode === 'box') {
      // face-api: landmarks' bounding box padded by 20 %, centred square, resized.
      let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
      for (const [x, y] of lm) {
        x1 = Math.min(x1, x); y1 = Math.min(y1, y); x2 = Math.max(x2, x); y2 = Math.max(y2, y);
      }
      const pw = (x2 - x1) * 0.1, ph = (y2 - y1) * 0.1;
      return (await squareCrop(img, { x1: x1 - pw, y1: y1 - ph, x2: x2 + pw, y2: y2 + ph }, RECOGNITION_INPUT_SIZE)).data;
    }
    const { image, points } = await prefilter(img, fivePointsFrom68(lm));
    return alignFaceChip(image, points);
  }

  similarity(a: Float32Array, b: Float32Array): number {
    const d = Math.sqrt(Math.max(0, 2 - 2 * cosine(a, b)));
    return distanceToSimilarity(d, this.calibration);
  }

  async close(): Promise<void> {
    await Promise.all([...this.detectorSessions.map((s) => s.release()), this.landmarkSession.release(), this.recognizerSession.release()]);
  }
}

/**
 * A box is the same face as a known one when they overlap by IoU > 0.3 or it lies mostly (≥ 60 %)
 * inside it or around it: the cross-pass NMS's criteria, a little looser, since boxes of one face
 * from different scales differ more than boxes of two neighbours.
 */
function overlapsAny(b: ScoredBox, known: ScoredBox[]): boolean {
  return known.some((k) => {
    const i = intersection(b, k);
    return i > 0 && (iou(b, k) > 0.3 || i / Math.min(area(b), area(k)) >= 0.6);
  });
}

/** Maps faces found on a shrunk decode back to the full-resolution oriented image. */
function toOriginal(faces: DetectedFace[], decoded: DecodedImage): DetectedFace[] {
  const f = decoded.originalWidth / decoded.width;
  if (f === 1) return faces;
  for (const face of faces) {
    face.box = { x: face.box.x * f, y: face.box.y * f, width: face.box.width * f, height: face.box.height * f };
    face.landmarks = face.landmarks.map(([x, y]) => [x * f, y * f]);
  }
  return faces;
}

/**
 * Bilinear warping aliases when a face is much larger than the 150 px chip; shrink the face's
 * neighbourhood with sharp first (area filter) and return it with the points in its coordinates.
 */
async function prefilter(img: RgbImage, points: Point[]): Promise<{ image: RgbImage; points: Point[] }> {
  const t = estimateSimilarity(points, DLIB_CHIP_TEMPLATE_150);
  const chipPerImagePx = Math.hypot(t.a, t.b);
  if (chipPerImagePx > 0.67) return { image: img, points };
  const inv = invertSimilarity(t);
  const corners = ([[0, 0], [150, 0], [0, 150], [150, 150]] as Point[]).map((p) => applySimilarity(inv, p));
  const x1 = Math.max(0, Math.floor(Math.min(...corners.map((c) => c[0])) - 2));
  const y1 = Math.max(0, Math.floor(Math.min(...corners.map((c) => c[1])) - 2));
  const x2 = Math.min(img.width, Math.ceil(Math.max(...corners.map((c) => c[0])) + 2));
  const y2 = Math.min(img.height, Math.ceil(Math.max(...corners.map((c) => c[1])) + 2));
  if (x2 - x1 < 2 || y2 - y1 < 2) return { image: img, points };
  const w = Math.max(1, Math.round((x2 - x1) * chipPerImagePx));
  const h = Math.max(1, Math.round((y2 - y1) * chipPerImagePx));
  const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .extract({ left: x1, top: y1, width: x2 - x1, height: y2 - y1 })
    .resize(w, h, { fit: 'fill' })
    .raw()
    .toBuffer();
  const fx = w / (x2 - x1), fy = h / (y2 - y1);
  return { image: { data, width: w, height: h }, points: points.map(([x, y]) => [(x - x1) * fx, (y - y1) * fy]) };
}

/** A square RGB chip mirrored left to right. */
function mirrorChip(chip: Buffer, size: number): Buffer {
  const out = Buffer.alloc(chip.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) chip.copy(out, (y * size + x) * 3, (y * size + size - 1 - x) * 3, (y * size + size - x) * 3);
  }
  return out;
}
