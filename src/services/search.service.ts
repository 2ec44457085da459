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

/** The selfie has no detectable face (422). */
export class NoFaceError extends DomainError {
  constructor() {
    super('no_face', 'No face found in the selfie: use a well-lit, front-facing photo where your face is clearly visible');
  }
}

/** The selfie could not be decoded: corrupt, truncated or not an image (422). */
export class UnreadableImageError extends DomainError {
  constructor() {
    super('unreadable_image', 'The selfie could not be read as an image: send a JPEG, PNG, WebP or HEIC photo');
  }
}

/** Several faces and none clearly dominant (422); `details.faces` lists them for `face_index`. */
export class MultipleFacesError extends DomainError {
  constructor(faces: JobFaceBox[]) {
    super('multiple_faces', `The selfie shows ${faces.length} faces: send a photo of just you, or pick one with face_index`, { faces });
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
  task_id: string;
  query_time_ms: number;
  timings: { queue_ms: number; decode_detect_embed_ms: number; db_ms: number };
  /** The selfie's embedding, only when the caller asked for it with `withEmbedding`. */
  selfie?: { vector: number[]; modelPack: string };
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
    async search(scope: SearchScope, selfie: Buffer, options: { threshold: number; limit: number; faceIndex?: number; withEmbedding?: boolean }): Promise<SearchOutcome> {
      const started = performance.now();
      const event = await resolveEvent(scope);
      const selfieKey = await selfies.stash(selfie);
      let taskId: string;
      let result: SearchJobResult;
      try {
        taskId = await jobs.enqueue(
          'search-selfie',
          {
            selfieKey,
            eventId: event.id,
            threshold: options.threshold,
            limit: options.limit,
            faceIndex: options.faceIndex,
            ...(options.withEmbedding && { withEmbedding: true }),
          },
          // Search results are only useful to the waiting request; keep no history of them.
          { attempts: 1, removeOnComplete: { age: 60 }, removeOnFail: { age: 600 } },
        );
        result = await waiter.wait<SearchJobResult>(jobs.queue('search'), taskId, deps.timeoutMs);
      } catch (error) {
        await selfies.discard(selfieKey).catch(() => undefined);
        if (error instanceof JobTimeoutError) throw new SearchTimeoutError();
        throw error;
      }
      if (result.status === 'unreadable') throw new UnreadableImageError();
      if (result.status === 'no_face' || result.status === 'selfie_expired') throw new NoFaceError();
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
        task_id: taskId,
        query_time_ms,
        timings: { queue_ms: Math.max(0, Math.round((query_time_ms - engineMs) * 10) / 10), ...result.timings },
        ...(options.withEmbedding && result.embedding && { selfie: { vector: result.embedding, modelPack: result.modelPack } }),
      };
    },
  };
}
export type SearchService = ReturnType<typeof createSearchService>;
