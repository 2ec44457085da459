import type { Dependencies } from '../dependencies.js';
import type { JobHandlers } from '../queue/job-worker.js';
import type { FaceEngine } from '../vision/index.js';
import type { JobProducer } from '../queue/job-producer.js';
import { createPhotoProcessingService } from '../services/photo-processing.service.js';
import { createDeleteEventHandler } from './delete-event.worker.js';
import { createProcessPhotoHandler, createRefinePhotoHandler, type OnFacesStored } from './process-photo.worker.js';
import type { SearchGate } from '../queue/search-gate.js';
import { createSearchSelfieHandler } from './search-selfie.worker.js';
import { createSelfieSearchService } from '../services/selfie-search.service.js';
import { createLiveDeliveryService, type LivePhotoSender } from '../services/live-delivery.service.js';
import { createDeliverPhotoHandler } from './deliver-photo.worker.js';
import { createSendLiveDeliveriesHandler } from './send-live-deliveries.worker.js';
import { createRecoverLiveDeliveriesHandler } from './recover-live-deliveries.worker.js';
import { createIndexEventVectorsHandler } from './index-event-vectors.worker.js';
import { createVectorIndexService } from '../services/vector-index.service.js';
import { createFaceCohortService } from '../services/face-cohort.service.js';
import { createRefreshFaceCohortsHandler } from './refresh-face-cohorts.worker.js';
import { LIVE_THRESHOLD } from '../services/match-decision.js';
import { createSweepIngestHandler } from './sweep-ingest.worker.js';
import { createReembedPhotoHandler } from './reembed-photo.worker.js';
import { createClusterEventPersonsHandler } from './cluster-event-persons.worker.js';

/**
 * Every job handler, wired to its dependencies. The face engine is loaded by the worker role only;
 * live delivery runs only when a Telegram sender is given (a bot token is configured).
 */
export function createJobHandlers(
  deps: Pick<Dependencies, 'services' | 'repositories' | 'storage' | 'config'> & { jobs?: Pick<JobProducer, 'enqueue'> },
  vision: {
    engine: FaceEngine;
    sender?: LivePhotoSender;
    /** Searches first: searches count in flight on it, photo analysis steps aside (src/queue/search-gate.ts). */
    searchGate?: Pick<SearchGate, 'during' | 'yieldToSearches'>;
  },
): JobHandlers {
  const { jobs } = deps;
  const cohorts = createFaceCohortService({ embeddings: deps.repositories.embeddings, vectors: deps.repositories.vectorSearch, ...(jobs && { jobs }) });
  const processing = createPhotoProcessingService({
    photos: deps.repositories.photos,
    embeddings: deps.repositories.embeddings,
    storage: deps.storage,
    engine: vision.engine,
    cohorts,
    maxTiles: deps.config.faceMaxTiles,
    ...(vision.searchGate && { yieldToSearches: vision.searchGate.yieldToSearches }),
  });
  const { sender, engine } = vision;
  const vectorIndex = jobs && createVectorIndexService({ indexes: deps.repositories.vectorIndexes, jobs, minFaces: deps.config.search.indexMinFaces });
  const afterStored = async (photo: { faceId: number; eventId: number; faces: number }): Promise<void> => {
    await vectorIndex?.afterPhotoStored({ ...photo, modelPack: engine.packId, dimensions: engine.dimensions });
    await cohorts.afterPhotoStored({ ...photo, modelPack: engine.packId, dimensions: engine.dimensions });
    await deps.services.people.afterPhotoStored(photo);
  };
  const onProcessed = jobs
    ? async (photo: Parameters<OnFacesStored>[0]): Promise<void> => {
        await afterStored(photo);
        // Only photos with faces in events someone subscribed to are worth a delivery job.
        if (sender && photo.faces > 0 && (await deps.repositories.participants.hasLiveSubscribers(photo.eventId))) {
          await jobs.enqueue('deliver-photo', { faceId: photo.faceId, eventId: photo.eventId, ...(photo.pass && { pass: photo.pass }) });
        }
      }
    : undefined;
  // Live delivery needs the sender (a bot token) and the producer (its flush jobs are enqueued by the worker).
  const delivery =
    sender && jobs
      ? createLiveDeliveryService({
          photos: deps.repositories.photos,
          events: deps.repositories.events,
          participants: deps.repositories.participants,
          participantEmbeddings: deps.repositories.participantEmbeddings,
          cohorts,
          people: deps.services.people,
          storage: deps.storage,
          sender,
          jobs,
          threshold: LIVE_THRESHOLD,
          batchMs: deps.config.bot.liveBatchSeconds * 1000,
        })
      : undefined;
  return {
    'process-photo': createProcessPhotoHandler({ processing, ...(onProcessed && { onProcessed }), ...(jobs && { jobs }) }),
    'refine-photo': createRefinePhotoHandler({ processing, ...(onProcessed && { onRefined: onProcessed }) }),
    ...(delivery && {
      'deliver-photo': createDeliverPhotoHandler({ delivery }),
      'send-live-deliveries': createSendLiveDeliveriesHandler({ delivery }),
      'recover-live-deliveries': createRecoverLiveDeliveriesHandler({ delivery }),
    }),
    'delete-event': createDeleteEventHandler({ cleanup: deps.services.eventCleanup }),
    'sweep-ingest': createSweepIngestHandler({ sweep: deps.services.ingestSweep }),
    'index-event-vectors': createIndexEventVectorsHandler({ indexes: deps.repositories.vectorIndexes, events: deps.repositories.events }),
    'refresh-face-cohorts': createRefreshFaceCohortsHandler({ cohorts }),
    'reembed-photo': createReembedPhotoHandler({ processing, ...(jobs && { onReembedded: afterStored }) }),
    'cluster-event-persons': createClusterEventPersonsHandler({ people: deps.services.people }),
    'search-selfie': createSearchSelfieHandler({
      search: createSelfieSearchService({ engine: vision.engine, selfies: deps.repositories.selfies, vectors: deps.repositories.vectorSearch, cohorts, people: deps.services.people }),
      ...(vision.searchGate && { gate: vision.searchGate }),
    }),
  };
}
