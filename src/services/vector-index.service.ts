import type { JobProducer } from '../queue/job-producer.js';
import type { VectorIndexRepository } from '../repositories/vector-index.repository.js';

/**
 * When an event deserves its own ANN index: once it holds `minFaces` faces of a pack. Below that an
 * exact scan is as fast (README, "Vector search"); above it, the exact scan grows linearly.
 */
export function createVectorIndexService(deps: { indexes: VectorIndexRepository; jobs: Pick<JobProducer, 'enqueue'>; minFaces: number }) {
  const { indexes, jobs, minFaces } = deps;
  return {
    /** Called after a photo's faces are stored; queues the build once (the job id is per event and pack). */
    async afterPhotoStored(photo: { eventId: number; modelPack: string; dimensions: number; faces: number }): Promise<boolean> {
      if (photo.faces === 0 || (await indexes.find(photo.eventId, photo.modelPack))) return false;
      if ((await indexes.countFaces(photo.eventId, photo.modelPack)) < minFaces) return false;
      await jobs.enqueue('index-event-vectors', { eventId: photo.eventId, modelPack: photo.modelPack, dimensions: photo.dimensions });
      return true;
    },
  };
}
export type VectorIndexService = ReturnType<typeof createVectorIndexService>;
