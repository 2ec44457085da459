import type { JobHandler } from '../queue/job-worker.js';
import type { PhotoProcessingService } from '../services/photo-processing.service.js';

/**
 * The `reembed-photo` job: a done photo embedded again with the worker's pack. Afterwards the
 * event's index and cohorts of the new pack grow as with a new photo; live delivery is not run
 * (the photo is not new to anyone).
 */
export function createReembedPhotoHandler(deps: {
  processing: PhotoProcessingService;
  onReembedded?: (photo: { faceId: number; eventId: number; faces: number }) => Promise<void>;
}): JobHandler<'reembed-photo'> {
  return async ({ data, logger }) => {
    const outcome = await deps.processing.reembed(data);
    if (outcome.status !== 'done') return outcome;
    logger.debug({ faceId: data.faceId, faces: outcome.faces, pack: data.modelPack }, 'photo re-embedded');
    await deps.onReembedded?.({ faceId: data.faceId, eventId: data.eventId, faces: outcome.faces });
    return { status: 'success', result: { faces: outcome.faces } };
  };
}
