import { DomainError, NotFoundError } from '../errors.js';
import type { EventRepository, Event } from '../repositories/event.repository.js';
import type { PhotoRepository } from '../repositories/photo.repository.js';
import type { SelfieRepository } from '../repositories/selfie.repository.js';
import type { SearchAuditRepository } from '../repositories/search-audit.repository.js';
import type { JobProducer } from '../queue/job-producer.js';
import type { JobWaiter } from '../queue/job-waiter.js';
import { JobTimeoutError } from '../queue/job-waiter.js';
import type { JobFaceBox, SearchJobResult } from '../queue/jobs.js';
import type { SearchCaller } from '../../models/index.js';
import { PUBLIC_LIMITS } from './match-decision.js';

/** The selfie has no detectable face (422). */
export class NoFaceError extends DomainError {
  constructor() {
    super('no_face', 'No face found in the selfie: use a well-lit, front-facing photo where your face is clearly visible');
  }
}

/** Several faces and none clearly dominant (422); `details.faces` lists them for `face_index`. */
export class MultipleFacesError extends DomainError {
  constructor(faces: JobFaceBox[]) {
    super('multiple_faces', `The selfie shows ${faces.length} faces: send a photo of just you, or pick one with face_index`, { faces });
  }
}

/** The selfie could not be decoded: corrupt, truncated or not an image (422). */
export class UnreadableImageError extends DomainError {
  constructor(reason: string) {
    super('unreadable_image', `Could not read the selfie as an image (${reason}): send a JPEG, PNG, WebP or HEIC photo`);
  }
}

/** Several selfies that are not of one person (422). */
export class SelfiesDisagreeError extends DomainError {
  constructor() {
    super('selfies_disagree', 'The selfies do not show the same person: send selfies of one person only');
  }
}

/** The search did not finish in time (504). */
export class SearchTimeoutError extends DomainError {
  constructor() {
    super('search_timeout', 'The search took too long; please try again');
  }
}

/** Who searches: a photographer on their own event, or anyone (a participant) by event UUID. */
export type SearchScope =
  | { kind: 'photographer'; photographerId: number; eventId: number }
  | { kind: 'public'; eventUuid: string; clientId: string }
  | { kind: 'participant'; participantId: number; eventId: number };

export interface SearchMatch {
  face_id: number;
  event_id: number;
  similarity: number;
  s3_key: string;
  preview_key: string | null;
}

export interface SearchOutcome {
  event: Event;
  results: SearchMatch[];
  /** The threshold and limit applied (a public caller's are held to the operating point and PUBLIC_LIMITS). */
  applied: { threshold: number; limit: number };
  /** How many selfies were fused, and whether one more would help (weak selfie or borderline answer). */
  selfie: { count: number; weak: boolean; borderline: boolean };
  task_id: string;
  query_time_ms: number;
  timings: { queue_ms: number; decode_detect_embed_ms: number; db_ms: number };
  /** The (fused) selfie embedding, only when the caller asked for it with `withEmbedding`. */
  embedding?: { vector: number[]; modelPack: string };
}

/** API side of the seed's main endpoint: resolve the event, queue the search job, wait, assemble results, audit. */
export function createSearchService(deps: {
  events: EventRepository;
  photos: PhotoRepository;
  selfies: SelfieRepository;
  audit: SearchAuditRepository;
  jobs: Pick<JobProducer, 'enqueue' | 'queue'>;
  waiter: JobWaiter;
  timeoutMs: number;
}) {
  const { events, photos, selfies, audit, jobs, waiter } = deps;

  const resolveEvent = async (scope: SearchScope): Promise<Event> => {
    const event =
      scope.kind === 'photographer'
        ? await events.findOwned(scope.photographerId, scope.eventId)
        : scope.kind === 'public'
          ? await events.findActiveByUuid(scope.eventUuid.toLowerCase())
          : await events.findById(scope.eventId);
    // Unknown, foreign, inactive (for participants) and deleted events all look the same.
    if (!event || (scope.kind !== 'photographer' && !event.is_active)) throw new NotFoundError('Event');
    return event;
  };

  return {
    /**
     * Searches with 1–3 selfies of one person (fused), plus `earlier` embeddings of the same person
     * (the bot's previous selfie). Callers without a photographer key never go below the operating
     * point nor above PUBLIC_LIMITS.maxLimit, whatever they ask: a lower threshold would hand them
     * strangers' photos.
     */
    async search(
      scope: SearchScope,
      selfieImages: Buffer[],
      options: { threshold: number; limit: number; faceIndex?: number; withEmbedding?: boolean; earlier?: number[][] },
    ): Promise<SearchOutcome> {
      const started = performance.now();
      if (selfieImages.length < 1 || selfieImages.length > 3) throw new RangeError('a search takes 1 to 3 selfies');
      const event = await resolveEvent(scope);
      const applied =
        scope.kind === 'photographer'
          ? { threshold: options.threshold, limit: options.limit }
          : { threshold: Math.max(options.threshold, PUBLIC_LIMITS.minThreshold), limit: Math.min(options.limit, PUBLIC_LIMITS.maxLimit) };
      const selfieKeys: string[] = [];
      for (const image of selfieImages) selfieKeys.push(await selfies.stash(image));
      const earlierKey = options.earlier?.length ? await selfies.stash(Buffer.from(JSON.stringify(options.earlier))) : undefined;
      let taskId: string;
      let result: SearchJobResult;
      try {
        taskId = await jobs.enqueue(
          'search-selfie',
          {
            selfieKeys,
            ...(earlierKey && { earlierKey }),
            eventId: event.id,
            threshold: applied.threshold,
            limit: applied.limit,
            faceIndex: options.faceIndex,
            ...(options.withEmbedding && { withEmbedding: true }),
          },
          // Search results are only useful to the waiting request; keep no history of them.
          { attempts: 1, removeOnComplete: { age: 60 }, removeOnFail: { age: 600 } },
        );
        result = await waiter.wait<SearchJobResult>(jobs.queue('search'), taskId, deps.timeoutMs);
      } catch (error) {
        for (const key of [...selfieKeys, ...(earlierKey ? [earlierKey] : [])]) await selfies.discard(key).catch(() => undefined);
        if (error instanceof JobTimeoutError) throw new SearchTimeoutError();
        throw error;
      }
      if (result.status === 'no_face' || result.status === 'selfie_expired') throw new NoFaceError();
      if (result.status === 'unreadable') throw new UnreadableImageError(result.reason);
      if (result.status === 'selfies_disagree') throw new SelfiesDisagreeError();
      if (result.status === 'multiple_faces') throw new MultipleFacesError(result.faces);

      // Second guard on isolation: photos are re-read from db_main with the event id.
      const rows = await photos.findDoneInEvent(event.id, result.matches.map((m) => m.faceId));
      const byId = new Map(rows.map((r) => [r.id, r]));
      const results: SearchMatch[] = [];
      for (const m of result.matches) {
        const photo = byId.get(m.faceId);
        if (photo) results.push({ face_id: photo.id, event_id: event.id, similarity: Math.round(m.similarity * 10000) / 10000, s3_key: photo.s3_key, preview_key: photo.preview_key });
      }
      const query_time_ms = Math.round((performance.now() - started) * 10) / 10;
      const engineMs = result.timings.decode_detect_embed_ms + result.timings.db_ms;
      await audit.record({
        event_id: event.id,
        caller_type: scope.kind as SearchCaller,
        caller_id: scope.kind === 'photographer' ? String(scope.photographerId) : scope.kind === 'participant' ? String(scope.participantId) : scope.clientId,
        result_count: results.length,
        best_similarity: results[0]?.similarity ?? null,
        query_time_ms,
      });
      return {
        event,
        results,
        applied,
        selfie: result.selfie,
        task_id: taskId,
        query_time_ms,
        timings: { queue_ms: Math.max(0, Math.round((query_time_ms - engineMs) * 10) / 10), ...result.timings },
        ...(options.withEmbedding && result.embedding && { embedding: { vector: result.embedding, modelPack: result.modelPack } }),
      };
    },
  };
}
export type SearchService = ReturnType<typeof createSearchService>;
