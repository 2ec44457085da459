import type { FaceQuality } from '../vision/face-quality.js';

/**
 * The decision rule of every search and live delivery (issue #12): is this event face the
 * person of this selfie?
 *
 * A fixed threshold on raw cosine similarity loses precision as an event grows: the more faces,
 * the more strangers who happen to resemble the selfie, and some faces (small, blurred, turned)
 * resemble nearly everyone. So a score is judged against the event itself (cohort
 * normalisation, of the AS-norm family):
 *
 *   margin = cos(q, f) − (cohort(q) + cohort(f)) / 2
 *
 * where cohort(x) is the mean of x's K highest similarities to the event's other faces. A face
 * (or a selfie) that resembles everyone has a high cohort and stops matching everyone.
 *
 * Two details make it safe for real events:
 * - **Same-person neighbours are left out of a cohort** (similarities ≥ `sameCutoff`): a bride
 *   in 300 photos would otherwise have a cohort made of herself and stop matching herself. They
 *   count as one person only when they also resemble *each other* (see {@link neighboursAgree}):
 *   the close neighbours of a face that resembles everyone are different people, and stay in.
 * - **Small events borrow a prior**: a cohort with fewer than K eligible neighbours is filled
 *   with `prior` (the typical cohort value of the pack), so a 5-photo event behaves like a fixed
 *   threshold of `prior + margin0` on raw cosine instead of matching everything; and no cohort
 *   counts as lower than `cohortFloor`, so an event of a few dozen faces is not judged more
 *   leniently than that.
 *
 * The margin is then mapped to the product's similarity (0..1, 0.7 at the operating point) by
 * a logistic, so API thresholds keep their meaning. Quality gates come first: faces too small or
 * too turned to be recognised are never matched (they still count as faces), and a raw cosine
 * floor stops the normalisation from ever accepting a plainly different face.
 *
 * Parameters per model pack were fitted by `npm run bench:precision` on its FIT half only; the
 * README quotes the figures of the held-out half.
 */
export interface MatchPolicy {
  /** K: how many of the highest similarities make a cohort. */
  cohortSize: number;
  /** Similarities at or above this (raw cosine) are treated as the same person and left out of cohorts. */
  sameCutoff: number;
  /** Cohort value assumed for the missing members of a short cohort (raw cosine). */
  prior: number;
  /**
   * Cohorts below this count as this in the decision (raw cosine). A low cohort in a small event
   * says the event is small, not that the selfie or face is distinctive: without it an event of a
   * few dozen faces, whose K highest similarities are low, was judged more leniently than one too
   * small to fill K (which takes the prior), and let a 36 px look-alike through.
   */
  cohortFloor: number;
  /**
   * How the two cohorts combine: `mean` judges the score against their average; `max` against the
   * higher one, so a face (or selfie) that resembles everyone pays its full cohort.
   */
  combine: 'mean' | 'max';
  /** Margin at the operating point (similarity 0.7). */
  margin0: number;
  /** Logistic slope of similarity over margin. */
  slope: number;
  /** Raw cosine below which nothing matches, whatever the event. */
  rawFloor: number;
  /** Faces smaller than this (box side, px) are never matched. */
  minFaceSize: number;
  /** Faces turned further than this (|yaw| in inter-eye distances) are never matched. */
  maxYaw: number;
}

/** Similarity at the operating point, for every pack and caller. */
export const OPERATING_POINT = 0.7;

/**
 * Similarity live delivery requires: a wrong live photo lands on someone's phone unasked, so it
 * takes the strictest decision (fitted to give no false photo on the FIT half at any event size).
 */
export const LIVE_THRESHOLD = 0.8;

/** Highest `limit` and lowest `threshold` a caller without a photographer key may ask for. */
export const PUBLIC_LIMITS = { maxLimit: 50, minThreshold: OPERATING_POINT } as const;

export const MATCH_POLICIES: Record<string, MatchPolicy> = {
  'faceapi-resnet128': {
    // bench:precision --fit, FIT half only, ≤ 0.02 false photos per search at every event size:
    // K 10 and cutoff 0.92 kept 93.9 % recall at the worst size, against 86.9 % for raw cosine
    // with its threshold re-fitted to the same budget (K 20: 93.8 %; cutoff 0.90: 91.4 %).
    cohortSize: 10,
    sameCutoff: 0.92,
    combine: 'mean',
    // Only short cohorts (events of a few faces) use it: raw 0.925 at the operating point there.
    prior: 0.9,
    // bench:precision, FIT half: 0.89 removed the 57-face event's false photos (0.030 → 0 per search)
    // for ≤ 1.1 points of recall at any size; 0.90 (the prior itself) cost 4.4 points at 207 faces.
    cohortFloor: 0.89,
    margin0: 0.025,
    // The lowest photographer threshold (0.3) sits 0.04 of margin below the operating point.
    slope: 42,
    // The old fixed operating point (similarity 0.7 ≈ cosine 0.912): a small event, whose cohorts
    // are short and low, is never judged more leniently than before.
    rawFloor: 0.91,
    // The detector finds faces down to 24 px; below 28 the fit saw no recall to keep.
    minFaceSize: 28,
    // A profile: the nose tip beyond ~half the inter-eye distance from their midpoint.
    maxYaw: 0.45,
  },
  // Not fitted here (no InsightFace weights on this machine): ArcFace cosines are lower and wider
  // (same person ≈ 0.4–0.8, strangers ≈ 0–0.3). Re-fit with bench:precision once installed.
  'insightface-buffalo': {
    cohortSize: 20,
    sameCutoff: 0.6,
    combine: 'mean',
    prior: 0.25,
    cohortFloor: 0.24,
    margin0: 0.12,
    slope: 25,
    rawFloor: 0.3,
    minFaceSize: 28,
    maxYaw: 0.45,
  },
};

export function matchPolicyFor(packId: string): MatchPolicy {
  const policy = MATCH_POLICIES[packId];
  if (!policy) throw new Error(`no match policy for model pack ${packId}`);
  return policy;
}

/**
 * Mean of the K highest similarities below the same-person cutoff (or of all, with
 * `keepSame`), the missing ones counted as the prior. `similarities` may be in any order.
 */
export function cohortMean(similarities: Iterable<number>, policy: MatchPolicy, keepSame = false): number {
  const top: number[] = [];
  for (const s of similarities) {
    if (!keepSame && !(s < policy.sameCutoff)) continue;
    if (top.length < policy.cohortSize) {
      top.push(s);
      if (top.length === policy.cohortSize) top.sort((a, b) => a - b);
    } else if (s > top[0]!) {
      top[0] = s;
      // Keep ascending order with one insertion step: K is small.
      for (let i = 0; i + 1 < top.length && top[i]! > top[i + 1]!; i++) [top[i], top[i + 1]] = [top[i + 1]!, top[i]!];
    }
  }
  let sum = 0;
  for (const s of top) sum += s;
  return (sum + (policy.cohortSize - top.length) * policy.prior) / policy.cohortSize;
}

/** How many of a face's closest above-cutoff neighbours are checked for agreement. */
export const AGREEMENT_NEIGHBOURS = 8;

/**
 * Do a face's neighbours above the same-person cutoff look like one person? Their mutual
 * similarities must average at least the raw floor (a person's photos do; the look-alikes of a
 * face that resembles everyone are strangers to each other). Fewer than two always agree.
 */
export function neighboursAgree(neighbours: ArrayLike<number>[], policy: MatchPolicy): boolean {
  const n = Math.min(neighbours.length, AGREEMENT_NEIGHBOURS);
  if (n < 2) return true;
  let sum = 0, pairs = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = neighbours[i]!, b = neighbours[j]!;
      let dot = 0;
      for (let d = 0; d < Math.min(a.length, b.length); d++) dot += a[d]! * b[d]!;
      sum += dot;
      pairs++;
    }
  }
  return sum / pairs >= policy.rawFloor;
}

/**
 * The cohort value of a face or selfie from its event neighbourhood: `below` holds its highest
 * similarities under the cutoff, `near` its closest neighbours (cosine and vector, best first).
 */
export function cohortOf(below: number[], near: { cosine: number; vector: ArrayLike<number> }[], policy: MatchPolicy): number {
  const same = near.filter((n) => n.cosine >= policy.sameCutoff);
  if (neighboursAgree(same.map((n) => n.vector), policy)) return cohortMean(below, policy);
  return cohortMean([...below, ...same.map((n) => n.cosine)], policy, true);
}

/** Whether a face can be matched at all (quality gate); faces that fail still count as faces. */
export function isMatchable(quality: Pick<FaceQuality, 'size' | 'yaw'>, policy: MatchPolicy): boolean {
  return quality.size >= policy.minFaceSize && Math.abs(quality.yaw) <= policy.maxYaw;
}

/** One query–face comparison. */
export interface MatchInput {
  /** Raw cosine similarity of query and face. */
  cosine: number;
  /** cohortMean of the query within the event. */
  queryCohort: number;
  /** cohortMean of the face within the event; null when not computed yet (the prior is used). */
  faceCohort: number | null;
  quality: Pick<FaceQuality, 'size' | 'yaw'>;
}

/** The product's similarity (0..1, OPERATING_POINT at the operating point) of one comparison; 0 when gated out. */
export function matchSimilarity(input: MatchInput, policy: MatchPolicy): number {
  if (input.cosine < policy.rawFloor || !isMatchable(input.quality, policy)) return 0;
  const faceCohort = Math.max(input.faceCohort ?? policy.prior, policy.cohortFloor);
  const queryCohort = Math.max(input.queryCohort, policy.cohortFloor);
  const margin = input.cosine - (policy.combine === 'max' ? Math.max(queryCohort, faceCohort) : (queryCohort + faceCohort) / 2);
  const logit = policy.slope * (margin - policy.margin0) + Math.log(OPERATING_POINT / (1 - OPERATING_POINT));
  return 1 / (1 + Math.exp(-logit));
}

/** A candidate face as the vector search returns it. */
export interface ScoredFace {
  /** The photo the face is on. */
  faceId: number;
  cosine: number;
  cohort: number | null;
  size: number;
  yaw: number;
}

/**
 * The search's answer from its candidate faces: each photo scored by its best face, those at or
 * above `threshold`, best first, at most `limit`.
 */
export function rankPhotos(candidates: ScoredFace[], queryCohort: number, policy: MatchPolicy, options: { threshold: number; limit: number }): { faceId: number; similarity: number }[] {
  const best = new Map<number, number>();
  for (const c of candidates) {
    const similarity = matchSimilarity({ cosine: c.cosine, queryCohort, faceCohort: c.cohort, quality: c }, policy);
    if (similarity >= options.threshold && similarity > (best.get(c.faceId) ?? -1)) best.set(c.faceId, similarity);
  }
  return [...best]
    .map(([faceId, similarity]) => ({ faceId, similarity }))
    .sort((a, b) => b.similarity - a.similarity || a.faceId - b.faceId)
    .slice(0, options.limit);
}
