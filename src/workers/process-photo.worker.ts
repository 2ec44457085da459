import type { JobHandler } from '../queue/job-worker.js';
import type { JobProducer } from '../queue/job-producer.js';
import type { PhotoProcessingService } from '../services/photo-processing.service.js';

/** What happens after a photo's faces are stored: index and cohort upkeep, live delivery. */
export type OnFacesStored = (photo: { faceId: number; eventId: number; faces: number; pass?: 'fine' }) => Promise<void>;

/**
 * The `process-photo` job: transient errors throw (retried with backoff); unreadable images fail
 * for good. A live photo is `done` after its coarse pass: it is delivered right away and its
 * small-face pass is queued as `refine-photo`.
 */
export function createProcessPhotoHandler(deps: {
  processing: PhotoProcessingService;
  /** Called after a photo is done (live delivery hooks in here); a throw retries the job, which is idempotent. */
  onProcessed?: OnFacesStored;
  /** Queues a live photo's refine pass (absent: live photos stay coarse; tests without a producer). */
  jobs?: Pick<JobProducer, 'enqueue'>;
}): JobHandler<'process-photo'> {
  const handler: JobHandler<'process-photo'> = async ({ data, logger }) => {
    const outcome = await deps.processing.process(data);
    if (outcome.status === 'done') {
      logger.info({ faceId: data.faceId, faces: outcome.faces, live: data.live === true, ...outcome.timings }, 'photo processed');
      await deps.onProcessed?.({ faceId: data.faceId, eventId: data.eventId, faces: outcome.faces });
      // After the delivery job: the coarse faces go out without waiting for the small ones.
      if (data.live) await deps.jobs?.enqueue('refine-photo', { faceId: data.faceId, s3Key: data.s3Key, eventId: data.eventId });
      return { status: 'success', result: { faces: outcome.faces } };
    }
    return outcome.status === 'failed' ? { status: 'failed', reason: outcome.reason } : { status: 'skipped', reason: outcome.reason };
  };
  // Retries used up (or stalled too often): the photo must say so, or it stays `processing` forever.
  handler.onFinalFailure = async (data, reason, logger) => {
    if (await deps.processing.giveUp(data.faceId, reason)) logger.warn({ faceId: data.faceId, reason }, 'photo processing failed for good');
  };
  return handler;
}

/**
 * The `refine-photo` job: a live photo's small-face pass. Faces it adds are delivered by a second
 * `deliver-photo` job (pass 'fine'), which records only participants not matched before.
 */
export function createRefinePhotoHandler(deps: { processing: PhotoProcessingService; onRefined?: OnFacesStored }): JobHandler<'refine-photo'> {
  const handler: JobHandler<'refine-photo'> = async ({ data, logger }) => {
    const outcome = await deps.processing.refine(data);
    if (outcome.status === 'skipped') return outcome;
    logger.info({ faceId: data.faceId, faces: outcome.faces, added: outcome.added }, 'photo refined');
    if (outcome.added > 0) await deps.onRefined?.({ faceId: data.faceId, eventId: data.eventId, faces: outcome.faces, pass: 'fine' });
    return { status: 'success', result: { faces: outcome.faces, added: outcome.added } };
  };
  // The photo stays `done` with its coarse faces; the sweep must not queue the pass again forever.
  handler.onFinalFailure = async (data, reason, logger) => {
    if (await deps.processing.dropRefine(data.faceId)) logger.warn({ faceId: data.faceId, reason }, 'small-face pass given up: the photo keeps its coarse faces');
  };
  return handler;
}
