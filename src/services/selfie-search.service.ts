import { ImageDecodeError, normalize, toStorageVector, type DetectedFace, type FaceEngine } from '../vision/index.js';
import { faceQuality } from '../vision/face-quality.js';
import type { JobOf, SearchJobResult } from '../queue/jobs.js';
import type { SelfieRepository } from '../repositories/selfie.repository.js';
import type { VectorSearchRepository } from '../repositories/vector-search.repository.js';
import { chooseSelfieFace } from './selfie-face.js';
import { matchPolicyFor, rankPhotos, type MatchPolicy } from './match-decision.js';
import type { FaceCohortService } from './face-cohort.service.js';
import type { PeopleService } from './people.service.js';

const round = (ms: number): number => Math.round(ms * 10) / 10;

/**
 * Most candidate faces read per search. The decision re-scores every candidate, so this bounds the
 * work; a person in more photos than this gets the best-scoring ones (and photographers page).
 */
export const MAX_CANDIDATE_FACES = 1000;

/** A selfie face smaller than this (box side, px of the original) gives a weak template. */
const WEAK_SELFIE_SIZE = 90;
/** …and so does one turned further than this (yaw, inter-eye distances). */
const WEAK_SELFIE_YAW = 0.25;
/** Results within this much similarity above the threshold (or misses this close below) are borderline. */
const BORDERLINE_BAND = 0.1;

/** Is this selfie face good enough to search with on its own? */
function selfieIsWeak(face: DetectedFace): boolean {
  const q = faceQuality(face);
  return q.size < WEAK_SELFIE_SIZE || Math.abs(q.yaw) > WEAK_SELFIE_YAW || q.score < 0.8;
}

/** One search job's input: the `search-selfie` job's payload. */
export type SelfieSearchJob = JobOf<'search-selfie'>;

/** Mean of unit vectors, renormalised: the fused template of several selfies. */
export function fuseTemplates(vectors: Float32Array[]): Float32Array {
  const out = new Float32Array(vectors[0]!.length);
  for (const v of vectors) for (let i = 0; i < out.length; i++) out[i]! += v[i]!;
  return normalize(out);
}

/** Selfies that disagree are not one person: fusing them would search for someone in between. */
export function templatesAgree(templates: Float32Array[], policy: Pick<MatchPolicy, 'rawFloor'>): boolean {
  for (let i = 0; i < templates.length; i++) {
    for (let j = i + 1; j < templates.length; j++) if (dot(templates[i]!, templates[j]!) < policy.rawFloor) return false;
  }
  return true;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) s += a[i]! * b[i]!;
  return s;
}

/** Worker side of a search: embed the selfie's face and find the event's photos that match it. */
export function createSelfieSearchService(deps: { engine: FaceEngine; selfies: SelfieRepository; vectors: VectorSearchRepository; cohorts: Pick<FaceCohortService, 'cohortIn'>; people?: Pick<PeopleService, 'withoutHidden'> }) {
  const { engine, selfies, vectors, cohorts, people } = deps;
  const policy: MatchPolicy = matchPolicyFor(engine.packId);

  /** The face a selfie is searched with, or why there is none. */
  async function selfieFace(key: string, faceIndex: number | undefined): Promise<DetectedFace | Exclude<SearchJobResult, { status: 'ok' }>> {
    const image = await selfies.take(key);
    if (!image) return { status: 'selfie_expired' };
    let analysis;
    try {
      analysis = await engine.analyze(image, { mode: 'selfie' });
    } catch (error) {
      if (error instanceof ImageDecodeError) return { status: 'unreadable', reason: error.message };
      throw error;
    }
    const choice = chooseSelfieFace(analysis.faces.map((f) => f.box), analysis.width, analysis.height, faceIndex);
    if (choice.kind === 'none') return { status: 'no_face' };
    if (choice.kind === 'ambiguous') return { status: 'multiple_faces', faces: choice.boxes };
    return analysis.faces[choice.index]!;
  }

  return {
    async search(job: SelfieSearchJob): Promise<SearchJobResult> {
      let t = performance.now();
      const faces: DetectedFace[] = [];
      for (const [i, key] of job.selfieKeys.entries()) {
        const face = await selfieFace(key, i === 0 ? job.faceIndex : undefined);
        if (!('embedding' in face)) {
          for (const rest of job.selfieKeys.slice(i + 1)) await selfies.discard(rest);
          return face;
        }
        faces.push(face);
      }
      const earlierBytes = job.earlierKey ? await selfies.take(job.earlierKey) : null;
      const earlier = earlierBytes ? (JSON.parse(earlierBytes.toString('utf8')) as number[][]).map((v) => Float32Array.from(v.slice(0, engine.dimensions))) : [];
      const templates = [...faces.map((f) => f.embedding), ...earlier];
      if (!templatesAgree(templates, policy)) return { status: 'selfies_disagree' };
      const template = templates.length === 1 ? templates[0]! : fuseTemplates(templates);
      const decode_detect_embed_ms = round(performance.now() - t);

      t = performance.now();
      const vector = toStorageVector(template);
      const query = { eventId: job.eventId, modelPack: engine.packId, vector };
      const [nearest, queryCohort] = await Promise.all([
        vectors.nearestFaces({ ...query, minCosine: policy.rawFloor, limit: MAX_CANDIDATE_FACES }),
        cohorts.cohortIn(query, vector),
      ]);
      // Hidden persons (issue #15, "do not find me") are never found, whoever searches.
      const candidates = people ? await people.withoutHidden(job.eventId, engine.packId, nearest) : nearest;
      // One pass with the band below the threshold tells whether the answer is borderline.
      const ranked = rankPhotos(candidates, queryCohort, policy, { threshold: Math.max(0, job.threshold - BORDERLINE_BAND), limit: Number.MAX_SAFE_INTEGER });
      const matches = ranked.filter((m) => m.similarity >= job.threshold).slice(0, job.limit);
      const borderline = ranked.some((m) => m.similarity < job.threshold + BORDERLINE_BAND);
      return {
        status: 'ok',
        modelPack: engine.packId,
        matches,
        selfie: { count: templates.length, weak: templates.length === 1 && selfieIsWeak(faces[0]!), borderline },
        ...(job.withEmbedding && { embedding: vector }),
        timings: { decode_detect_embed_ms, db_ms: round(performance.now() - t) },
      };
    },
  };
}
export type SelfieSearchService = ReturnType<typeof createSelfieSearchService>;
