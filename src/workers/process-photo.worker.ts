import type { JobHandler } from '../queue/job-worker.js';
import type { PhotoProcessingService } from '../services/photo-processing.service.js';

/** The `process-photo` job: transient errors throw (retried with backoff); unreadable images fail for good. */
export function createProcessPhotoHandler(deps: {
  processing: PhotoProcessingService;
  /** Called after a photo is done (live delivery hooks in here); a throw retries the job, which is idempotent. */
  onProcessed?: (photo: { faceId: number; eventId: number; faces: number }) => Promise<void>;
}): JobHandler<'process-photo'> {
  const handler: JobHandler<'process-photo'> = async ({ data, logger }) => {
    const outcome = await deps.processing.process(data);
    if (outcome.status === 'done') {
      logger.info({ faceId: data.faceId, faces: outcome.faces, ...outcome.timings }, 'photo processed');
      await deps.onProcessed?.({ faceId: data.faceId, eventId: data.eventId, faces: outcome.faces });
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
