/**
 * Every job FacePass runs: its name, payload, result and queue. Payloads carry ids, never images
 * or personal data. Add a job here first; producer and worker types follow from this map.
 */
export interface JobPayloads {
  /** The seed's process_face_embedding(face_id, s3_key, event_id). */
  'process-photo': {
    faceId: number;
    s3Key: string;
    eventId: number;
    /**
     * The photo arrived live (camera FTP, hot folder, `live=true` upload): its job goes to the head
     * of the photos queue, ahead of any backlog, and it is analysed progressively (a coarse pass,
     * then `refine-photo`). Absent/false: queued in order and analysed in one go.
     */
    live?: boolean;
  };
  /**
   * The second, small-face pass of a live photo that is already `done` after its coarse pass: adds
   * the faces only the tiled pass finds (never replaces or duplicates the first pass's rows), then
   * delivers again (new recipients only). Queued at the head of the photos queue like live photos.
   */
  'refine-photo': { faceId: number; s3Key: string; eventId: number };
  /** Removes an event's photos, embeddings and objects, then the event row. Idempotent. */
  'delete-event': { eventId: number };
  /**
   * The seed's search_similar_faces_task. The selfie travels as a short-lived Redis key
   * (taken and deleted by the worker), never inside the job, so it is not kept in job history.
   */
  'search-selfie': {
    /** 1–3 selfies of one person (fused into one template). */
    selfieKeys: string[];
    /** Earlier selfie embeddings of the same person, as JSON under a short-lived key (the bot's "one more selfie"). */
    earlierKey?: string;
    eventId: number;
    threshold: number;
    limit: number;
    faceIndex?: number;
    withEmbedding?: boolean;
  };
  /** Matches a freshly processed photo against the event's live-delivery subscribers; records each match as pending. */
  'deliver-photo': {
    faceId: number;
    eventId: number;
    /** 'fine': the delivery after a live photo's refine pass (its own job id; the claims table keeps it to new recipients). */
    pass?: 'fine';
  };
  /**
   * Sends an event's pending live deliveries, as one album per participant. Enqueued delayed, one
   * job per event and time bucket (`bucket` = enqueue time / batch length), so a burst is one send.
   */
  'send-live-deliveries': { eventId: number; bucket: number };
  /**
   * Repeated every JOB_LOCK_SECONDS: finds live deliveries a crashed flush left `sending` past their
   * lease and schedules their events' flushes, which send them again.
   */
  'recover-live-deliveries': Record<string, never>;
  /**
   * Repeated every SWEEP_INTERVAL_SECONDS and run at each worker start: re-queues photos stuck
   * without a live job, fails those re-queued too often, purges data of events that are gone.
   */
  'sweep-ingest': Record<string, never>;
  /** Builds the partial HNSW index of an event that grew past VECTOR_INDEX_MIN_FACES. Idempotent. */
  'index-event-vectors': { eventId: number; modelPack: string; dimensions: number };
  /** Recomputes the cohort value of every face of a grown event (match decision, issue #12). Idempotent. */
  'refresh-face-cohorts': { eventId: number; modelPack: string; dimensions: number };
  /** Embeds a done photo again with `modelPack` (FACE_MODEL_PACK was switched); queued by the ingest sweep. */
  'reembed-photo': { faceId: number; eventId: number; modelPack: string };
  /**
   * Groups the event's faces into persons (issue #15): places new faces (one job per event and
   * time bucket, delayed: a burst of uploads is one run), or re-clusters every face (`full`).
   */
  'cluster-event-persons': { eventId: number; bucket?: number; full?: boolean };
}

/** A face box in pixels. */
export interface JobFaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What a selfie search found: matches, or why the selfie cannot be used. */
export type SearchJobResult =
  | {
      status: 'ok';
      matches: { faceId: number; similarity: number }[];
      modelPack: string;
      /**
       * How far to trust the answer: `count` selfies were fused; `weak` when a single selfie's face
       * is small, turned or doubtful; `borderline` when results (or near misses) sit close to the
       * threshold. The bot asks for one more selfie in either case.
       */
      selfie: { count: number; weak: boolean; borderline: boolean };
      /** The chosen selfie face's storage vector, only when the job asked for it (live-delivery opt-in). */
      embedding?: number[];
      timings: { decode_detect_embed_ms: number; db_ms: number };
    }
  | { status: 'no_face' }
  /** The selfie could not be decoded as an image (corrupt, truncated or not an image at all). */
  | { status: 'unreadable'; reason: string }
  | { status: 'selfies_disagree' }
  | { status: 'multiple_faces'; faces: JobFaceBox[] }
  | { status: 'selfie_expired' };

/** What a handler reports: done, nothing to do, or failed for good (no retry). */
export type JobOutcome<R = undefined> =
  | { status: 'success'; result: R }
  | { status: 'skipped'; reason: string }
  | { status: 'failed'; reason: string };

export interface JobResults {
  'process-photo': { faces: number };
  'refine-photo': { faces: number; added: number };
  'delete-event': { photos: number; embeddings: number; objects: number };
  'search-selfie': SearchJobResult;
  'deliver-photo': { matched: number; recorded: number };
  'send-live-deliveries': { sent: number; albums: number; unreachable: number; dropped: number };
  'recover-live-deliveries': { expired: number; events: number };
  'index-event-vectors': { built: boolean; faces: number };
  'refresh-face-cohorts': { faces: number };
  'cluster-event-persons': { faces: number; persons: number; newFaces: number; attempts: number };
  'sweep-ingest': { queued: number; requeued: number; failed: number; refinesRequeued: number; purgedEvents: number[]; reembedQueued: number };
  'reembed-photo': { faces: number };
}

export type JobName = keyof JobPayloads;
export type JobOf<N extends JobName> = JobPayloads[N];

/** Queues separate work of different urgency: a search must never wait behind a 10,000-photo ingest. */
export const QUEUE_OF = {
  'process-photo': 'photos',
  'refine-photo': 'photos',
  'delete-event': 'maintenance',
  'search-selfie': 'search',
  'deliver-photo': 'delivery',
  'send-live-deliveries': 'delivery',
  'recover-live-deliveries': 'delivery',
  'index-event-vectors': 'maintenance',
  'refresh-face-cohorts': 'maintenance',
  'cluster-event-persons': 'maintenance',
  'sweep-ingest': 'maintenance',
  // Re-embedding an archive is background work: it must not hold back fresh uploads on `photos`.
  'reembed-photo': 'maintenance',
} as const satisfies Record<JobName, string>;

export type QueueName = (typeof QUEUE_OF)[JobName];
export const QUEUE_NAMES = [...new Set(Object.values(QUEUE_OF))] as QueueName[];


/**
 * A stable id where one job per subject is right: a photo is processed once however often its
 * upload is retried (BullMQ ignores an add whose id exists). Others get BullMQ's own ids.
 */
export function jobIdOf<N extends JobName>(name: N, data: JobOf<N>): string | undefined {
  if (name === 'process-photo') return `process-photo-${(data as JobOf<'process-photo'>).faceId}`;
  if (name === 'refine-photo') return `refine-photo-${(data as JobOf<'refine-photo'>).faceId}`;
  if (name === 'deliver-photo') {
    const { faceId, pass } = data as JobOf<'deliver-photo'>;
    return pass === 'fine' ? `deliver-photo-${faceId}-fine` : `deliver-photo-${faceId}`;
  }
  if (name === 'send-live-deliveries') {
    const { eventId, bucket } = data as JobOf<'send-live-deliveries'>;
    return `send-live-deliveries-${eventId}-${bucket}`;
  }
  if (name === 'index-event-vectors') {
    const { eventId, modelPack } = data as JobOf<'index-event-vectors'>;
    return `index-event-vectors-${eventId}-${modelPack}`;
  }
  if (name === 'refresh-face-cohorts') {
    // One waiting refresh per event and pack: the job is removed when done, so a later growth queues the next.
    const { eventId, modelPack } = data as JobOf<'refresh-face-cohorts'>;
    return `refresh-face-cohorts-${eventId}-${modelPack}`;
  }
  if (name === 'reembed-photo') {
    const { faceId, modelPack } = data as JobOf<'reembed-photo'>;
    return `reembed-photo-${faceId}-${modelPack}`;
  }
  if (name === 'cluster-event-persons') {
    const { eventId, bucket, full } = data as JobOf<'cluster-event-persons'>;
    return full ? `cluster-event-persons-${eventId}-full` : `cluster-event-persons-${eventId}-${bucket ?? 0}`;
  }
  return undefined;
}

/** BullMQ priority of backlog photos (non-live uploads): below every job without one. */
export const BACKLOG_PRIORITY = 10;

/**
 * Options that follow from a job's payload, applied however it is queued (upload, re-queue, sweep).
 * The photos queue serves three kinds of work, in this order:
 *
 * 1. live photos' first pass, newest first (`lifo`: the head of the wait list): at a live event the
 *    newest shot is the one people wait for;
 * 2. small-face passes (`refine-photo`), oldest first (the tail of the wait list): while a camera
 *    keeps the worker busy, each shot's second pass waits its turn instead of being buried under
 *    every later shot's, as it was when refines went to the head too (bench:live saw deliveries
 *    from a second pass held up to the camera's pause);
 * 3. the backlog (non-live uploads) with a BullMQ `priority`: BullMQ takes prioritised jobs only
 *    when the wait list is empty, in the order they were added, so the backlog drains first-in
 *    first-out behind everything live. Its jobs are in the `prioritized` state while they wait.
 */
export function jobOptionsOf<N extends JobName>(name: N, data: JobOf<N>): { lifo?: boolean; priority?: number } {
  if (name === 'process-photo') return (data as JobOf<'process-photo'>).live ? { lifo: true } : { priority: BACKLOG_PRIORITY };
  return {};
}
