import type { EmbeddingRepository } from '../repositories/embedding.repository.js';
import type { VectorSearchRepository } from '../repositories/vector-search.repository.js';
import type { JobProducer } from '../queue/job-producer.js';
import { AGREEMENT_NEIGHBOURS, cohortMean, cohortOf, matchPolicyFor, neighboursAgree, type MatchPolicy } from './match-decision.js';

/**
 * Cohorts are recomputed over at most this many of the event's faces (a deterministic sample
 * beyond it): the exact all-pairs pass grows with the square of the event, and the mean of the K
 * highest similarities is stable long before every face is seen.
 */
export const COHORT_POOL_MAX = 40_000;

/** An event's cohorts are recomputed as a whole once it has grown by this share since the last time. */
export const COHORT_REFRESH_GROWTH = 0.1;
/** …and by at least this many faces. */
export const COHORT_REFRESH_MIN_NEW = 25;
/** Delay of the refresh job: a burst of photos is one refresh. */
export const COHORT_REFRESH_DELAY_MS = 30_000;

/**
 * The cohort value from a vector's similarities to an event's faces (any order): what
 * {@link cohortOf} computes from the database, here from an in-memory row. `vectorAt(i)` gives the
 * face behind `sims[i]`, read only for the closest ones above the cutoff (the agreement check).
 */
export function cohortFromSimilarities(sims: ArrayLike<number>, vectorAt: (i: number) => ArrayLike<number>, policy: MatchPolicy): number {
  // The closest neighbours above the cutoff, ascending by similarity.
  const same: { s: number; i: number }[] = [];
  for (let i = 0; i < sims.length; i++) {
    const s = sims[i]!;
    if (s < policy.sameCutoff || (same.length === AGREEMENT_NEIGHBOURS && s <= same[0]!.s)) continue;
    if (same.length === AGREEMENT_NEIGHBOURS) same.shift();
    let k = same.findIndex((x) => x.s > s);
    if (k < 0) k = same.length;
    same.splice(k, 0, { s, i });
  }
  const values = Array.from(sims);
  return neighboursAgree(same.reverse().map((x) => vectorAt(x.i)), policy) ? cohortMean(values, policy) : cohortMean(values, policy, true);
}

/**
 * Every face's cohort value within its event: the mean of its K highest similarities to faces
 * on *other* photos, same-person neighbours left out (see match-decision.ts). Pure: the refresh job
 * and bench:precision call the same code.
 */
export function computeFaceCohorts(vectors: Float32Array[], photoIds: number[], policy: MatchPolicy, poolMax = COHORT_POOL_MAX): Float32Array {
  const n = vectors.length;
  // The pool every face is compared against: all faces, or an even stride through them.
  const stride = Math.max(1, Math.ceil(n / poolMax));
  const pool: number[] = [];
  for (let j = 0; j < n; j += stride) pool.push(j);
  const out = new Float32Array(n);
  const sims = new Float32Array(pool.length);
  const which = new Int32Array(pool.length);
  const dims = vectors[0]?.length ?? 0;
  for (let i = 0; i < n; i++) {
    const a = vectors[i]!;
    const photo = photoIds[i];
    let m = 0;
    for (const j of pool) {
      if (photoIds[j] === photo) continue;
      const b = vectors[j]!;
      let s = 0;
      for (let d = 0; d < dims; d++) s += a[d]! * b[d]!;
      which[m] = j;
      sims[m++] = s;
    }
    out[i] = cohortFromSimilarities(sims.subarray(0, m), (k) => vectors[which[k]!]!, policy);
  }
  return out;
}

/**
 * Keeps the stored cohort values of an event's faces current: a new photo's faces get theirs at
 * insertion (one neighbour query each, against the event as it is then), and the whole event is
 * recomputed in the background (`refresh-face-cohorts`) each time it grows by a tenth, because
 * every new face may raise the older faces' cohorts. Between refreshes an older value reflects the
 * event as it was (or the prior, for faces stored into a nearly empty event).
 */
export function createFaceCohortService(deps: {
  embeddings: Pick<EmbeddingRepository, 'eventVectors' | 'setCohorts' | 'countByEvent' | 'cohortsRefreshedAt' | 'markCohortsRefreshed'>;
  vectors: Pick<VectorSearchRepository, 'cohortCosines' | 'nearestVectors'>;
  jobs?: Pick<JobProducer, 'enqueue'>;
}) {
  const { embeddings, vectors, jobs } = deps;
  return {
    /** Cohort value of any vector within the event (a selfie, a participant's template, a new face). */
    async cohortIn(target: { eventId: number; modelPack: string; excludePhoto?: number }, vector: number[]): Promise<number> {
      const policy = matchPolicyFor(target.modelPack);
      const query = { ...target, vector, k: policy.cohortSize };
      const [below, near] = await Promise.all([vectors.cohortCosines({ ...query, below: policy.sameCutoff }), vectors.nearestVectors({ ...query, k: Math.max(policy.cohortSize, AGREEMENT_NEIGHBOURS) })]);
      return cohortOf(below, near, policy);
    },

    /** Cohort values of a photo's faces before they are stored (the photo's own faces are not its cohort). */
    async forNewFaces(photo: { faceId: number; eventId: number; modelPack: string }, faceVectors: number[][]): Promise<number[]> {
      return Promise.all(faceVectors.map((vector) => this.cohortIn({ eventId: photo.eventId, modelPack: photo.modelPack, excludePhoto: photo.faceId }, vector)));
    },

    /** After a photo's faces are stored: queues the event's refresh once it has grown enough (deduplicated per event). */
    async afterPhotoStored(photo: { eventId: number; modelPack: string; dimensions: number; faces: number }): Promise<boolean> {
      if (!jobs || photo.faces === 0) return false;
      const [now, last] = await Promise.all([embeddings.countByEvent(photo.eventId, photo.modelPack), embeddings.cohortsRefreshedAt(photo.eventId, photo.modelPack)]);
      if (now < Math.max(last * (1 + COHORT_REFRESH_GROWTH), last + COHORT_REFRESH_MIN_NEW)) return false;
      await jobs.enqueue('refresh-face-cohorts', { eventId: photo.eventId, modelPack: photo.modelPack, dimensions: photo.dimensions }, { delay: COHORT_REFRESH_DELAY_MS, removeOnComplete: true, removeOnFail: true });
      return true;
    },

    /** The `refresh-face-cohorts` job: recomputes every face's cohort value in the event. */
    async refresh(job: { eventId: number; modelPack: string; dimensions: number }): Promise<{ faces: number }> {
      const policy = matchPolicyFor(job.modelPack);
      const { rowIds, photoIds, vectors: all } = await embeddings.eventVectors(job.eventId, job.modelPack, job.dimensions);
      if (rowIds.length === 0) return { faces: 0 }; // deleted (or emptied) meanwhile: nothing to record
      const cohorts = computeFaceCohorts(all, photoIds, policy);
      await embeddings.setCohorts(rowIds, cohorts, job.eventId);
      await embeddings.markCohortsRefreshed(job.eventId, job.modelPack, rowIds.length);
      return { faces: rowIds.length };
    },
  };
}
export type FaceCohortService = ReturnType<typeof createFaceCohortService>;
