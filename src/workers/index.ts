import type { Dependencies } from '../dependencies.js';
import type { JobHandlers } from '../queue/job-worker.js';
import type { FaceEngine } from '../vision/index.js';
import { createPhotoProcessingService } from '../services/photo-processing.service.js';
import { createDeleteEventHandler } from './delete-event.worker.js';
import { createProcessPhotoHandler } from './process-photo.worker.js';
import { createSearchSelfieHandler } from './search-selfie.worker.js';
import { createSelfieSearchService } from '../services/selfie-search.service.js';

/** Every job handler, wired to its dependencies. The face engine is loaded by the worker role only. */
export function createJobHandlers(deps: Pick<Dependencies, 'services' | 'repositories' | 'storage'>, vision: { engine: FaceEngine }): JobHandlers {
  const processing = createPhotoProcessingService({
    photos: deps.repositories.photos,
    embeddings: deps.repositories.embeddings,
    storage: deps.storage,
    engine: vision.engine,
  });
  return {
    'process-photo': createProcessPhotoHandler({ processing }),
    'delete-event': createDeleteEventHandler({ cleanup: deps.services.eventCleanup }),
    'search-selfie': createSearchSelfieHandler({
      search: createSelfieSearchService({ engine: vision.engine, selfies: deps.repositories.selfies, vectors: deps.repositories.vectorSearch }),
    }),
  };
}
