import type { JobHandler } from '../queue/job-worker.js';
import type { PhotoProcessingService } from '../services/photo-processing.service.js';

/** The `process-photo` job: transient errors throw (retried with backoff); unreadable images fail for good. */
export function createProcessPhotoHandler(deps: { processing: PhotoProcessingService }): JobHandler<'process-photo'> {
  return async ({ data, logger }) => {
    const outcome = await deps.processing.process(data);
    if (outcome.status === 'done') {
      logger.info({ faceId: data.faceId, faces: outcome.faces, ...outcome.timings }, 'photo processed');
      return { status: 'success', result: { faces: outcome.faces } };
    }
    return outcome.status === 'failed' ? { status: 'failed', reason: outcome.reason } : { status: 'skipped', reason: outcome.reason };
  };
}
