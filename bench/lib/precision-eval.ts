/**
 * Photo-level precision and recall of selfie searches on a corpus event, for any scoring rule.
 * A search returns the event photos whose best face scores at or above the threshold; a photo is
 * relevant when it holds the query's person from another source photo (faces cut from the
 * query's own photo are ignored, and so is a photo holding nothing else of that person).
 */
import type { Corpus, CorpusFace } from './precision-corpus.js';
import type { MatchPolicy } from '../../src/services/match-decision.js';
import { cohortFromSimilarities } from '../../src/services/face-cohort.service.js';

/** A search: one selfie, or several fused (`sources` then lists every selfie's photo, none of which counts as a target). */
export type Query = CorpusFace & { sources?: string[] };

/** Pairwise raw cosines of an event (the first `n` corpus faces) and of queries against it. */
export interface EventMatrix {
  n: number;
  faces: CorpusFace[];
  queries: Query[];
  /** n × n face–face cosines, row-major. */
  ff: Float32Array;
  /** queries × n query–face cosines. */
  qf: Float32Array[];
}

const dims = (f: CorpusFace): Float32Array => Float32Array.from(f.embedding.slice(0, 128));
function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** The event made of the corpus's first photos holding at least `size` faces. */
export function eventOf(corpus: Corpus, size: number, queries: Query[]): EventMatrix {
  let n = Math.min(size, corpus.faces.length);
  while (n < corpus.faces.length && corpus.faces[n]!.photo === corpus.faces[n - 1]!.photo) n++;
  const faces = corpus.faces.slice(0, n);
  const fv = faces.map(dims);
  const ff = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) ff[i * n + j] = ff[j * n + i] = dot(fv[i]!, fv[j]!);
  const qf = queries.map((q) => {
    const v = dims(q);
    return Float32Array.from(fv, (f) => dot(v, f));
  });
  return { n, faces, queries, ff, qf };
}

/** Cohorts as the service computes them (a face's exclude faces of its own photo), from the event's cosine matrix. */
export function cohorts(ev: EventMatrix, policy: MatchPolicy): { face: Float32Array; query: Float32Array } {
  const vectors = ev.faces.map((f) => f.embedding);
  const face = new Float32Array(ev.n);
  for (let i = 0; i < ev.n; i++) {
    const photo = ev.faces[i]!.photo;
    const others: number[] = [];
    for (let j = 0; j < ev.n; j++) if (ev.faces[j]!.photo !== photo) others.push(j);
    face[i] = cohortFromSimilarities(Float32Array.from(others, (j) => ev.ff[i * ev.n + j]!), (k) => vectors[others[k]!]!, policy);
  }
  const query = Float32Array.from(ev.qf, (row) => cohortFromSimilarities(row, (k) => vectors[k]!, policy));
  return { face, query };
}

/** One scored photo of one search. */
export interface Scored {
  score: number;
  relevant: boolean;
  query: number;
}

/** Every (query, photo) pair's score and relevance, best first; `relevantTotal` counts relevant pairs. */
export function scorePhotos(ev: EventMatrix, score: (q: number, f: number) => number): { pairs: Scored[]; relevantTotal: number } {
  const pairs: Scored[] = [];
  let relevantTotal = 0;
  ev.queries.forEach((q, qi) => {
    const best = new Map<number, { score: number; relevant: boolean; own: boolean }>();
    for (let fi = 0; fi < ev.n; fi++) {
      const f = ev.faces[fi]!;
      if (f.person === 'unknown') continue; // a detection matching no placed face: truth unknown
      const e = best.get(f.photo) ?? { score: -Infinity, relevant: false, own: false };
      best.set(f.photo, e);
      if (f.person === q.person && (q.sources ?? [q.source]).includes(f.source)) {
        e.own = true;
        continue;
      }
      if (f.person === q.person) e.relevant = true;
      e.score = Math.max(e.score, score(qi, fi));
    }
    for (const e of best.values()) {
      if (e.own && !e.relevant) continue;
      if (e.relevant) relevantTotal++;
      pairs.push({ score: e.score, relevant: e.relevant, query: qi });
    }
  });
  pairs.sort((a, b) => b.score - a.score);
  return { pairs, relevantTotal };
}

export interface Operating {
  precision: number;
  recall: number;
  falsePerSearch: number;
  returned: number;
}

/** Precision, recall and false photos per search at a threshold (no result limit). */
export function atThreshold(s: { pairs: Scored[]; relevantTotal: number }, threshold: number, searches: number): Operating {
  let tp = 0, fp = 0;
  for (const p of s.pairs) {
    if (!(p.score >= threshold)) break;
    if (p.relevant) tp++;
    else fp++;
  }
  return { precision: tp + fp ? tp / (tp + fp) : 1, recall: s.relevantTotal ? tp / s.relevantTotal : 1, falsePerSearch: fp / searches, returned: tp + fp };
}

/** Precision and false photos per search at the threshold that first reaches a recall. */
export function atRecall(s: { pairs: Scored[]; relevantTotal: number }, recall: number, searches: number): Operating & { threshold: number } {
  let tp = 0, fp = 0;
  for (const p of s.pairs) {
    if (p.relevant) tp++;
    else fp++;
    if (tp >= recall * s.relevantTotal) return { precision: tp / (tp + fp), recall: tp / s.relevantTotal, falsePerSearch: fp / searches, returned: tp + fp, threshold: p.score };
  }
  return { precision: 0, recall: tp / Math.max(1, s.relevantTotal), falsePerSearch: fp / searches, returned: tp + fp, threshold: -Infinity };
}
