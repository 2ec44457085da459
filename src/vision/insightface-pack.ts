import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { arcfaceChip, arcfaceInput } from './arcface-preprocess.js';
import { ModelPackError } from './errors.js';
import type { AnalyzeOptions, DetectedFace, FaceAnalysis, FaceEngine, FaceEngineOptions } from './face-engine.js';
import { sessionOptions } from './faceapi-pack.js';
import { decodeImage, type RgbImage } from './image-decoder.js';
import { INSIGHTFACE_PACK_ID, readInstalledPack } from './model-packs.js';
import { decodeScrfd, SCRFD_STRIDES, type ScrfdFace, type ScrfdLevel } from './scrfd-decoder.js';
import { calibrationFor, cosine, DEFAULT_THRESHOLD, distanceToSimilarity, normalize } from './similarity-calibration.js';
import { resizeRgb } from './ssd-detector.js';

/** SCRFD input side when the model has dynamic spatial dims (insightface's default det_size). */
const DEFAULT_DET_SIZE = 640;
const SELFIE_MAX_SIDE = 1280;

/**
 * Splits SCRFD outputs by role (last dim 1 / 4 / 10) and stride (anchor count), so the order of
 * the model's outputs does not matter.
 */
export function groupScrfdOutputs(outputs: Record<string, { dims: readonly number[]; data: Float32Array }>, inputW: number, inputH: number): ScrfdLevel[] {
  const levels = new Map<number, Partial<ScrfdLevel>>();
  for (const t of Object.values(outputs)) {
    const last = t.dims[t.dims.length - 1]!;
    const n = t.data.length / last;
    const stride = SCRFD_STRIDES.find((s) => Math.ceil(inputW / s) * Math.ceil(inputH / s) * 2 === n);
    if (stride === undefined) throw new ModelPackError('invalid', `SCRFD output of ${n} anchors matches no stride`);
    const level = levels.get(stride) ?? { stride };
    if (last === 1) level.scores = t.data;
    else if (last === 4) level.bbox = t.data;
    else if (last === 10) level.kps = t.data;
    levels.set(stride, level);
  }
  return [...levels.values()].map((l) => {
    if (!l.scores || !l.bbox || l.stride === undefined) throw new ModelPackError('invalid', 'SCRFD outputs incomplete');
    return { stride: l.stride, scores: l.scores, bbox: l.bbox, kps: l.kps };
  });
}

/** Optional pack: SCRFD detection + ArcFace 512-d embeddings from user-installed files. */
export class InsightFaceEngine implements FaceEngine {
  readonly packId = INSIGHTFACE_PACK_ID;
  readonly dimensions = 512;
  readonly threshold = DEFAULT_THRESHOLD;
  private readonly calibration = calibrationFor(INSIGHTFACE_PACK_ID);

  private constructor(
    private readonly det: ort.InferenceSession,
    private readonly rec: ort.InferenceSession,
    private readonly detW: number,
    private readonly detH: number,
    private readonly maxPixels?: number,
  ) {}

  static async create(opts: FaceEngineOptions): Promise<InsightFaceEngine> {
    const manifest = await readInstalledPack(opts.modelDir);
    if (!manifest) {
      throw new ModelPackError('not_found', `pack ${INSIGHTFACE_PACK_ID} is not installed in ${opts.modelDir}; run "facepass models install <dir-or-zip>"`);
    }
    const dir = path.join(opts.modelDir, INSIGHTFACE_PACK_ID);
    const so = sessionOptions(opts.intraOpThreads);
    const det = await ort.InferenceSession.create(path.join(dir, manifest.detector), so);
    const rec = await ort.InferenceSession.create(path.join(dir, manifest.recognizer), so);
    const meta = det.inputMetadata[0];
    const dims = meta?.isTensor ? meta.shape : [];
    const w = typeof dims[3] === 'number' ? dims[3] : DEFAULT_DET_SIZE;
    const h = typeof dims[2] === 'number' ? dims[2] : DEFAULT_DET_SIZE;
    return new InsightFaceEngine(det, rec, w, h, opts.maxPixels);
  }

  async analyze(image: Buffer, opts: AnalyzeOptions = {}): Promise<FaceAnalysis> {
    // One pass finds all it can: the coarse pass is the whole analysis, a fine pass adds nothing.
    if (opts.mode !== 'selfie' && opts.pass === 'fine') {
      const meta = await decodeImage(image, { maxPixels: this.maxPixels, maxSide: 64 });
      return { width: meta.originalWidth, height: meta.originalHeight, faces: [] };
    }
    const decoded = await decodeImage(image, {
      maxPixels: this.maxPixels,
      maxSide: opts.mode === 'selfie' ? SELFIE_MAX_SIDE : undefined,
    });
    const faces = await this.detect(decoded);
    const embeddings = faces.length ? await this.embed(decoded, faces) : [];
    const f = decoded.originalWidth / decoded.width;
    const result: DetectedFace[] = faces.map((d, i) => ({
      box: { x: d.x1 * f, y: d.y1 * f, width: (d.x2 - d.x1) * f, height: (d.y2 - d.y1) * f },
      score: d.score,
      landmarks: d.kps.map(([x, y]) => [x * f, y * f]),
      embedding: embeddings[i]!,
    }));
    return { width: decoded.originalWidth, height: decoded.originalHeight, faces: result };
  }

  /** One letterboxed pass at the detector's input size (insightface's own approach). */
  async detect(img: RgbImage): Promise<ScrfdFace[]> {
    const scale = Math.min(this.detW / img.width, this.detH / img.height);
    const scaled = await resizeRgb(img, scale);
    const plane = this.detW * this.detH;
    const input = new Float32Array(3 * plane).fill(-127.5 / 128);
    for (let y = 0; y < Math.min(scaled.height, this.detH); y++) {
      for (let x = 0; x < Math.min(scaled.width, this.detW); x++) {
        const s = (y * scaled.width + x) * 3;
        const d = y * this.detW + x;
        for (let c = 0; c < 3; c++) input[c * plane + d] = (scaled.data[s + c]! - 127.5) / 128;
      }
    }
    const out = await this.det.run({ [this.det.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, this.detH, this.detW]) });
    const tensors: Record<string, { dims: readonly number[]; data: Float32Array }> = {};
    for (const [k, v] of Object.entries(out)) tensors[k] = { dims: v.dims, data: v.data as Float32Array };
    const faces = decodeScrfd(groupScrfdOutputs(tensors, this.detW, this.detH), this.detW, this.detH);
    return faces.map((f) => ({
      x1: f.x1 / scale, y1: f.y1 / scale, x2: f.x2 / scale, y2: f.y2 / scale, score: f.score,
      kps: f.kps.map(([x, y]) => [x / scale, y / scale]),
    }));
  }

  async embed(img: RgbImage, faces: ScrfdFace[]): Promise<Float32Array[]> {
    const chips = faces.map((f) => arcfaceChip(img, f.kps));
    const out = await this.rec.run({ [this.rec.inputNames[0]!]: new ort.Tensor('float32', arcfaceInput(chips), [chips.length, 3, 112, 112]) });
    const data = out[this.rec.outputNames[0]!]!.data as Float32Array;
    return chips.map((_, i) => normalize(data.slice(i * 512, (i + 1) * 512)));
  }

  similarity(a: Float32Array, b: Float32Array): number {
    return distanceToSimilarity(Math.sqrt(Math.max(0, 2 - 2 * cosine(a, b))), this.calibration);
  }

  async close(): Promise<void> {
    await Promise.all([this.det.release(), this.rec.release()]);
  }
}
