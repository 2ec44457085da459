import { ModelPackError } from './errors.js';

/**
 * Per-pack mapping between embedding distance and the product's similarity score.
 *
 * similarity = 1 / (1 + exp(k · (d − d0))) with d the euclidean distance of unit vectors
 * (d = sqrt(2 · cosineDistance)); d0 is placed so that similarity(dThreshold) = 0.7 exactly.
 * The mapping is monotonic, so thresholds and rankings on similarity equal those on pgvector's
 * cosine distance (`<=>`), and SQL can filter with {@link similarityToCosineDistance}.
 */
export interface Calibration {
  /** Unit-vector euclidean distance at the recommended operating point (similarity 0.7). */
  dThreshold: number;
  /** Logistic slope; larger is steeper around the threshold. */
  k: number;
}

/** The similarity at the recommended operating point, for every pack. */
export const DEFAULT_THRESHOLD = 0.7;

/**
 * Fitted on dlib's "johns" set (5 people × 11 photos → 275 genuine and 1210 impostor pairs; see
 * bench/faces.ts). faceapi-resnet128 descriptors, unit-normalised: same-person distances were
 * ≤ 0.38 and different-person ≥ 0.45 (also on ±20° rotated copies), so the operating point sits
 * in the gap, at d = 0.42 (≈ cosine distance 0.088).
 */
export const CALIBRATIONS: Record<string, Calibration> = {
  'faceapi-resnet128': { dThreshold: 0.42, k: 12 },
  // Not fitted here (no InsightFace weights in the repo): ArcFace w600k's usual operating point
  // is cosine similarity ≈ 0.35, i.e. d ≈ 1.14. Re-fit with bench data once the pack is installed.
  'insightface-buffalo': { dThreshold: 1.14, k: 8 },
};

export function calibrationFor(packId: string): Calibration {
  const c = CALIBRATIONS[packId];
  if (!c) throw new ModelPackError('unknown_pack', `no similarity calibration for pack ${packId}`);
  return c;
}

const LOGIT_07 = Math.log(DEFAULT_THRESHOLD / (1 - DEFAULT_THRESHOLD));

/** Similarity in [0,1] from the euclidean distance of unit vectors. */
export function distanceToSimilarity(d: number, c: Calibration): number {
  return 1 / (1 + Math.exp(c.k * (d - c.dThreshold) - LOGIT_07));
}

/** Inverse of {@link distanceToSimilarity}. */
export function similarityToDistance(sim: number, c: Calibration): number {
  const s = Math.min(Math.max(sim, 1e-12), 1 - 1e-12);
  return c.dThreshold + (Math.log((1 - s) / s) + LOGIT_07) / c.k;
}

/** Similarity from a pgvector cosine distance (`embedding <=> query`, 0..2) of unit vectors. */
export function cosineToSimilarity(cosineDistance: number, packId: string): number {
  return distanceToSimilarity(Math.sqrt(Math.max(0, 2 * cosineDistance)), calibrationFor(packId));
}

/** The pgvector cosine distance that corresponds to `similarity` (use as `<=> ... < x` in SQL). */
export function similarityToCosine(similarity: number, packId: string): number {
  const d = Math.max(0, similarityToDistance(similarity, calibrationFor(packId)));
  return Math.min(2, (d * d) / 2);
}

/** Cosine similarity of two vectors of possibly different length (zero-padding is implicit). */
export function cosine(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length);
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < n; i++) dot += a[i]! * b[i]!;
  for (let i = 0; i < a.length; i++) na += a[i]! * a[i]!;
  for (let i = 0; i < b.length; i++) nb += b[i]! * b[i]!;
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Unit-normalises in place and returns the vector. */
export function normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

/** Zero-pads an embedding to the storage width; cosine similarity is unchanged. */
export function toStorageVector(embedding: Float32Array, dims = 512): number[] {
  if (embedding.length > dims) throw new RangeError(`embedding has ${embedding.length} dims, storage has ${dims}`);
  const out = new Array<number>(dims).fill(0);
  for (let i = 0; i < embedding.length; i++) out[i] = embedding[i]!;
  return out;
}
