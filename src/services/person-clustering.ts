import { forEachDotRow } from '../vision/similarity-matrix.js';
import { AGREEMENT_NEIGHBOURS, isMatchable, neighboursAgree, OPERATING_POINT, type MatchPolicy } from './match-decision.js';

/**
 * Groups an event's faces into persons (issue #15), on the same cohort-normalised score as every
 * search (see match-decision.ts):
 *
 *   margin(a, b) = cos(a, b) − (cohort(a) + cohort(b)) / 2
 *
 * Method: **average-linkage agglomerative clustering** with two constraints.
 * - Two groups merge only while the *mean* margin over all their face pairs stays above the
 *   link level: one look-alike pair cannot chain two people together (single linkage would), a
 *   whole group has to resemble the other on average.
 * - A person is in a photo at most once: groups that share a photo never merge (cannot-link).
 * - Quality: faces the match decision never matches (too small or too turned) are left
 *   unassigned; faces that are matchable but weak (small, turned, doubtful) need a higher
 *   margin to join anyone. Leaving a face alone is always preferred over a doubtful merge.
 *
 * The mean margin of two groups needs no pair loop: for unit vectors the sum of all pairwise
 * cosines is the dot product of the groups' vector sums, so each group keeps its vector sum and
 * cohort sum, and a candidate merge costs one dot product. Candidate merges are group pairs with
 * at least one face pair above the (lowest) link level, which is exact: a mean above the level
 * needs a pair above it.
 *
 * Incremental use: existing persons come in as *fixed* groups (never merged with each other,
 * never split), new faces as singletons, and only pairs involving a new face are computed.
 */

/** One face to cluster. `vector` is unit length (the pack's own dimensions). */
export interface ClusterFace {
  vector: Float32Array;
  /** The photo it is on: one person is in a photo once. */
  photo: number;
  /** Cohort value within the event; null reads as the pack's prior. */
  cohort: number | null;
  size: number;
  yaw: number;
  score: number;
}

/** The knobs. Fitted on johns/ and faces-dev by `npm run bench:people` (README, "People"). */
export interface ClusteringOptions {
  /**
   * Mean product similarity (0..1, the scale of every search threshold) two groups need to merge.
   * Pack-independent: converted to a margin through the pack's own calibration.
   */
  linkSimilarity: number;
  /** Weak faces (see below) join only at this higher similarity. */
  weakLinkSimilarity: number;
  /** A face smaller than this (box side, px) is weak. */
  weakSize: number;
  /** A face turned further than this (|yaw|) is weak. */
  weakYaw: number;
  /** A face with a detector score below this is weak. */
  weakScore: number;
}

export const DEFAULT_CLUSTERING: ClusteringOptions = {
  // bench:people --grid (johns, faces-dev, both + dlib crowd): precision reached 100 % from 0.7
  // (weak 0.9) and recall held 100 % up to 0.85; 0.8 sits in the middle of that plateau.
  linkSimilarity: 0.8,
  weakLinkSimilarity: 0.9,
  weakSize: 40,
  weakYaw: 0.3,
  weakScore: 0.7,
};

/** The margin whose similarity (match-decision's logistic) is `similarity`. */
export function marginAt(similarity: number, policy: MatchPolicy): number {
  const logit = (p: number): number => Math.log(p / (1 - p));
  return policy.margin0 + (logit(similarity) - logit(OPERATING_POINT)) / policy.slope;
}

export function isWeakFace(face: Pick<ClusterFace, 'size' | 'yaw' | 'score'>, options: ClusteringOptions): boolean {
  return face.size < options.weakSize || Math.abs(face.yaw) > options.weakYaw || face.score < options.weakScore;
}

/** How well a face shows its person (the representative is the best): big, frontal, sure. */
export function faceQualityScore(face: Pick<ClusterFace, 'size' | 'yaw' | 'score'>): number {
  return (Math.min(face.size, 160) / 160) * face.score * (1 - Math.min(1, Math.abs(face.yaw)));
}

interface Group {
  sum: Float64Array;
  cohortSum: number;
  n: number;
  photos: Set<number>;
  members: number[];
  fixed: boolean;
  /** A singleton weak face (needs the weak link level). */
  weak: boolean;
  version: number;
  neighbours: Set<number>;
}

/** Inserts `s` into the ascending top-`k` list `top` (with its indices) if it belongs there. */
function keepTop(top: number[], idx: number[], k: number, s: number, j: number): void {
  if (top.length === k) {
    if (s <= top[0]!) return;
    top.shift();
    idx.shift();
  }
  let p = 0;
  while (p < top.length && top[p]! < s) p++;
  top.splice(p, 0, s);
  idx.splice(p, 0, j);
}

/**
 * The cohort value of one face from its dot products with every face of the event (same photo
 * left out): what cohortFromSimilarities (face-cohort.service.ts) computes, in one pass that
 * keeps only the few values it needs (the row has as many entries as the event has faces).
 */
export function cohortOfRow(dots: Float32Array, photoOf: Int32Array, photo: number, vectorAt: (j: number) => ArrayLike<number>, policy: MatchPolicy): number {
  const k = policy.cohortSize;
  const below: number[] = [], belowIdx: number[] = [];
  const all: number[] = [], allIdx: number[] = [];
  const same: number[] = [], sameIdx: number[] = [];
  for (let j = 0; j < dots.length; j++) {
    const s = dots[j]!;
    if (all.length === k && s <= all[0]! && (s >= policy.sameCutoff ? same.length === AGREEMENT_NEIGHBOURS && s <= same[0]! : below.length === k && s <= below[0]!)) continue;
    if (photoOf[j] === photo) continue;
    keepTop(all, allIdx, k, s, j);
    if (s >= policy.sameCutoff) keepTop(same, sameIdx, AGREEMENT_NEIGHBOURS, s, j);
    else keepTop(below, belowIdx, k, s, j);
  }
  const mean = (values: number[]): number => (values.reduce((a, b) => a + b, 0) + (k - values.length) * policy.prior) / k;
  return neighboursAgree(sameIdx.reverse().map(vectorAt), policy) ? mean(below) : mean(all);
}

/** Max-heap of candidate merges. */
class MergeHeap {
  private items: { score: number; a: number; b: number; va: number; vb: number }[] = [];
  get size(): number {
    return this.items.length;
  }
  push(item: { score: number; a: number; b: number; va: number; vb: number }): void {
    const h = this.items;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.score >= h[i]!.score) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }
  pop(): { score: number; a: number; b: number; va: number; vb: number } | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.score > h[m]!.score) m = l;
        if (r < h.length && h[r]!.score > h[m]!.score) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}

export interface ClusteringResult {
  /** Group index of each face (indices into `groups`), or -1: left unassigned. */
  labels: Int32Array;
  /** Face indices of each resulting person; fixed groups keep their index (0..fixed.length-1). */
  groups: number[][];
}

/**
 * Clusters `faces`. `fixed` lists existing persons (face indices; faces in no fixed group are new);
 * faces the match decision cannot match, and faces already in a fixed group, are never moved.
 */
export async function clusterFaces(
  faces: ClusterFace[],
  policy: MatchPolicy,
  options: ClusteringOptions = DEFAULT_CLUSTERING,
  fixed: number[][] = [],
  /**
   * Compute the new faces' cohorts against the whole event here instead of reading `cohort`: a
   * stored cohort reflects the event when the face was stored (the prior, for the first faces of
   * an event), and judging early faces by it merges look-alikes the current event tells apart.
   */
  computeCohorts = false,
): Promise<ClusteringResult> {
  const n = faces.length;
  const dims = faces[0]?.vector.length ?? 0;
  const link = marginAt(options.linkSimilarity, policy);
  const weakLink = marginAt(options.weakLinkSimilarity, policy);
  const edgeMin = Math.min(link, weakLink);
  const cohort = faces.map((f) => f.cohort ?? policy.prior);

  const groups: Group[] = [];
  const groupOf = new Int32Array(n).fill(-1);
  const newGroup = (members: number[], isFixed: boolean): number => {
    const sum = new Float64Array(dims);
    let cohortSum = 0;
    const photos = new Set<number>();
    for (const i of members) {
      const v = faces[i]!.vector;
      for (let d = 0; d < dims; d++) sum[d]! += v[d]!;
      cohortSum += cohort[i]!;
      photos.add(faces[i]!.photo);
    }
    const weak = members.length === 1 && isWeakFace(faces[members[0]!]!, options);
    groups.push({ sum, cohortSum, n: members.length, photos, members: [...members], fixed: isFixed, weak, version: 0, neighbours: new Set() });
    const g = groups.length - 1;
    for (const i of members) groupOf[i] = g;
    return g;
  };
  for (const members of fixed) newGroup(members, true);
  const fresh: number[] = [];
  for (let i = 0; i < n; i++) {
    if (groupOf[i] !== -1) continue;
    if (!isMatchable(faces[i]!, policy)) continue;
    newGroup([i], false);
    fresh.push(i);
  }

  const meanMargin = (a: Group, b: Group): number => {
    let dot = 0;
    for (let d = 0; d < dims; d++) dot += a.sum[d]! * b.sum[d]!;
    return (dot - (b.n * a.cohortSum + a.n * b.cohortSum) / 2) / (a.n * b.n);
  };
  const levelOf = (a: Group, b: Group): number => (a.weak || b.weak ? weakLink : link);

  // Candidate merges: group pairs with one face pair at or above the lowest link level. Only pairs
  // involving a new face: fixed persons are never merged with each other here.
  const flat = (idx: number[]): Float32Array => {
    const out = new Float32Array(idx.length * dims);
    idx.forEach((i, k) => out.set(faces[i]!.vector.subarray(0, dims), k * dims));
    return out;
  };
  if (computeCohorts && fresh.length > 0) {
    const everyone = faces.map((_, i) => i);
    const photoOf = Int32Array.from(faces, (f) => f.photo);
    await forEachDotRow(flat(fresh), flat(everyone), dims, (r, dots) => {
      cohort[fresh[r]!] = cohortOfRow(dots, photoOf, faces[fresh[r]!]!.photo, (j) => faces[j]!.vector, policy);
    });
    for (const g of groups) if (!g.fixed) g.cohortSum = cohort[g.members[0]!]!;
  }
  const isFresh = new Uint8Array(n);
  for (const i of fresh) isFresh[i] = 1;
  const assigned: number[] = [];
  for (let i = 0; i < n; i++) if (groupOf[i] !== -1) assigned.push(i);
  const halfCohort = Float32Array.from(assigned, (j) => cohort[j]! / 2);
  await forEachDotRow(flat(fresh), flat(assigned), dims, (r, dots) => {
    const i = fresh[r]!;
    const gi = groupOf[i]!, pi = faces[i]!.photo;
    const need = edgeMin + cohort[i]! / 2;
    for (let k = 0; k < dots.length; k++) {
      if (dots[k]! - halfCohort[k]! < need) continue;
      const j = assigned[k]!;
      if (isFresh[j] && j <= i) continue; // each fresh pair once
      const gj = groupOf[j]!;
      if (gi === gj || faces[j]!.photo === pi) continue;
      groups[gi]!.neighbours.add(gj);
      groups[gj]!.neighbours.add(gi);
    }
  });

  const heap = new MergeHeap();
  const offer = (a: number, b: number): void => {
    const ga = groups[a]!, gb = groups[b]!;
    if (ga.fixed && gb.fixed) return;
    const score = meanMargin(ga, gb) - levelOf(ga, gb);
    if (score >= 0) heap.push({ score, a, b, va: ga.version, vb: gb.version });
  };
  for (let g = 0; g < groups.length; g++) for (const h of groups[g]!.neighbours) if (g < h) offer(g, h);

  const alive = new Uint8Array(groups.length).fill(1);
  while (heap.size > 0) {
    const top = heap.pop()!;
    const ga = groups[top.a]!, gb = groups[top.b]!;
    if (!alive[top.a] || !alive[top.b] || ga.version !== top.va || gb.version !== top.vb) continue;
    // Same photo: never one person. The pair stays apart for good (their photos only grow).
    let shared = false;
    const [small, large] = ga.photos.size < gb.photos.size ? [ga, gb] : [gb, ga];
    for (const p of small.photos) if (large.photos.has(p)) { shared = true; break; }
    if (shared) continue;
    // Merge into the fixed one (it keeps its identity), else into the larger.
    const [into, from, intoId, fromId] = gb.fixed || (!ga.fixed && gb.n > ga.n) ? [gb, ga, top.b, top.a] : [ga, gb, top.a, top.b];
    for (let d = 0; d < dims; d++) into.sum[d]! += from.sum[d]!;
    into.cohortSum += from.cohortSum;
    into.n += from.n;
    for (const p of from.photos) into.photos.add(p);
    for (const m of from.members) { into.members.push(m); groupOf[m] = intoId; }
    into.weak = false;
    into.version++;
    alive[fromId] = 0;
    for (const h of from.neighbours) if (h !== intoId) { into.neighbours.add(h); groups[h]!.neighbours.delete(fromId); groups[h]!.neighbours.add(intoId); }
    into.neighbours.delete(fromId);
    for (const h of into.neighbours) if (alive[h]) offer(intoId, h);
  }

  // Renumber: fixed groups keep their index, new persons follow.
  const out: number[][] = [];
  const labels = new Int32Array(n).fill(-1);
  const index = new Int32Array(groups.length).fill(-1);
  for (let g = 0; g < groups.length; g++) {
    if (!alive[g] && !groups[g]!.fixed) continue;
    if (!groups[g]!.fixed && groups[g]!.n === 0) continue;
    index[g] = out.length;
    out.push(alive[g] ? groups[g]!.members : []);
  }
  for (let i = 0; i < n; i++) if (groupOf[i]! >= 0 && index[groupOf[i]!]! >= 0) labels[i] = index[groupOf[i]!]!;
  return { labels, groups: out };
}

/** Pairwise precision and recall of `labels` against true identities (null: unknown, left out). */
export function pairwiseScores(labels: ArrayLike<number>, truth: (string | null)[]): { precision: number; recall: number; truePairs: number; predictedPairs: number } {
  let tp = 0, predicted = 0, actual = 0;
  for (let i = 0; i < truth.length; i++) {
    if (truth[i] === null) continue;
    for (let j = i + 1; j < truth.length; j++) {
      if (truth[j] === null) continue;
      const same = truth[i] === truth[j];
      const together = labels[i]! >= 0 && labels[i] === labels[j];
      if (same) actual++;
      if (together) predicted++;
      if (same && together) tp++;
    }
  }
  return { precision: predicted ? tp / predicted : 1, recall: actual ? tp / actual : 1, truePairs: actual, predictedPairs: predicted };
}
