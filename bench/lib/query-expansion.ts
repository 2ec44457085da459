/**
 * Query expansion for selfie search (issue #5): after the first pass, the event's own
 * high-confidence faces of the person become extra queries, so that photos which resemble the
 * person's other photos more than the selfie (distant, tilted, blurred shots) are found too.
 *
 * Pure and storage-agnostic: the caller supplies `search`, one nearest-photos query (in the
 * service that is one `VectorSearchRepository.nearestPhotos` call that also returns the matched
 * face's embedding), so the number of `search` calls is the number of database queries.
 * Measured by bench/query-expansion.ts and not adopted: on the dev photos it added other people’s
 * photos faster than it found missed ones (README, "Query expansion").
 */

/** The best-matching face of one photo for a query vector. */
export interface FaceHit<P> {
  photoId: P;
  /** Calibrated similarity (0..1) of the photo's closest face to the query vector. */
  similarity: number;
  /** That face's unit embedding (possibly zero-padded); used as an expansion query. */
  embedding: Float32Array;
}

/**
 * Photos whose closest face has similarity ≥ `minSimilarity` to `vector`, best first, at most
 * `limit` (Infinity = all). One call = one database query in the service.
 */
export type PhotoSearch<P> = (vector: Float32Array, minSimilarity: number, limit: number) => FaceHit<P>[] | Promise<FaceHit<P>[]>;

/**
 * - `none`: the plain search (one query).
 * - `multi`: every expansion face is searched on its own (one query each); a photo's score is the
 *   best of its direct similarity and, per expansion e, the path score (see `fusion`).
 * - `average`: "average query expansion" (Chum et al. 2007): one more query with the
 *   renormalised sum of the selfie and the expansion faces; a photo's score is the best of its
 *   direct and its similarity to that mean vector.
 */
export type ExpansionStrategy = 'none' | 'multi' | 'average';

export interface ExpansionOptions {
  strategy: ExpansionStrategy;
  /** Final similarity threshold every returned photo's score must reach (default product value 0.7). */
  threshold: number;
  /** Most photos returned (Infinity = all). Every search is also capped at it. */
  limit: number;
  /** First-pass photos at or above this similarity (and the threshold) become expansion queries. */
  expandMin: number;
  /** At most this many expansion queries (the best first-pass photos). */
  expandTop: number;
  /**
   * How `multi` scores a photo p reached through expansion face e:
   * - `path` (default): min(sim(selfie, e), sim(e, p)), the weakest link, so an expansion never
   *   scores a photo higher than the selfie scored the expansion itself;
   * - `max`: sim(e, p) as is (e's own photo then scores 1).
   */
  fusion?: 'path' | 'max';
}

/** One result photo. */
export interface RankedPhoto<P> {
  photoId: P;
  /** Fused score, ≥ the threshold. */
  similarity: number;
  /** Similarity to the selfie itself, if the first pass found the photo. */
  direct?: number;
  /** Whether the photo is in the result only thanks to the expansion. */
  viaExpansion: boolean;
}

export interface ExpansionResult<P> {
  photos: RankedPhoto<P>[];
  /** `search` calls made (= database queries in the service). */
  searches: number;
  /** Expansion faces used (0 when the first pass found nothing confident). */
  expansions: number;
}

/** Unit-length sum of vectors of possibly different lengths (shorter ones are zero-padded). */
export function meanDirection(vectors: Float32Array[], weights?: number[]): Float32Array {
  const out = new Float32Array(Math.max(0, ...vectors.map((v) => v.length)));
  vectors.forEach((v, i) => {
    const w = weights?.[i] ?? 1;
    for (let d = 0; d < v.length; d++) out[d]! += w * v[d]!;
  });
  let s = 0;
  for (const x of out) s += x * x;
  const n = Math.sqrt(s) || 1;
  for (let d = 0; d < out.length; d++) out[d]! /= n;
  return out;
}

/** Selfie search with optional query expansion; see {@link ExpansionStrategy}. */
export async function searchWithExpansion<P>(query: Float32Array, search: PhotoSearch<P>, options: ExpansionOptions): Promise<ExpansionResult<P>> {
  const { threshold, limit } = options;
  const first = await search(query, threshold, limit);
  const scores = new Map<P, RankedPhoto<P>>();
  for (const h of first) scores.set(h.photoId, { photoId: h.photoId, similarity: h.similarity, direct: h.similarity, viaExpansion: false });
  let searches = 1;

  const seeds = options.strategy === 'none'
    ? []
    : [...first]
      .sort((a, b) => b.similarity - a.similarity)
      .filter((h) => h.similarity >= Math.max(threshold, options.expandMin))
      .slice(0, Math.max(0, options.expandTop));

  const offer = (photoId: P, score: number): void => {
    if (score < threshold) return;
    const cur = scores.get(photoId);
    if (!cur) scores.set(photoId, { photoId, similarity: score, viaExpansion: true });
    else if (score > cur.similarity) cur.similarity = score;
  };

  if (seeds.length && options.strategy === 'multi') {
    const path = (options.fusion ?? 'path') === 'path';
    for (const seed of seeds) {
      const hits = await search(seed.embedding, threshold, limit);
      searches++;
      for (const h of hits) offer(h.photoId, path ? Math.min(seed.similarity, h.similarity) : h.similarity);
    }
  } else if (seeds.length && options.strategy === 'average') {
    const hits = await search(meanDirection([query, ...seeds.map((s) => s.embedding)]), threshold, limit);
    searches++;
    for (const h of hits) offer(h.photoId, h.similarity);
  }

  // Stable sort: ties keep first-pass order, then discovery order.
  const photos = [...scores.values()].sort((a, b) => b.similarity - a.similarity).slice(0, limit);
  return { photos, searches, expansions: seeds.length };
}

/**
 * An in-memory {@link PhotoSearch} over a list of faces (bench and tests): per photo its closest
 * face, thresholded, best first, capped at `limit`.
 */
export function bruteForceSearch<P>(faces: { photoId: P; embedding: Float32Array }[], similarity: (a: Float32Array, b: Float32Array) => number): PhotoSearch<P> {
  return (vector, minSimilarity, limit) => {
    const best = new Map<P, FaceHit<P>>();
    for (const f of faces) {
      const s = similarity(vector, f.embedding);
      if (s < minSimilarity) continue;
      const cur = best.get(f.photoId);
      if (!cur || s > cur.similarity) best.set(f.photoId, { photoId: f.photoId, similarity: s, embedding: f.embedding });
    }
    return [...best.values()].sort((a, b) => b.similarity - a.similarity).slice(0, limit);
  };
}
