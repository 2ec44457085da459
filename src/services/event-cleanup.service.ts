import type { EventRepository } from '../repositories/event.repository.js';
import type { PhotoRepository } from '../repositories/photo.repository.js';
import type { EmbeddingRepository } from '../repositories/embedding.repository.js';
import type { VectorIndexRepository } from '../repositories/vector-index.repository.js';
import type { PersonRepository } from '../repositories/person.repository.js';
import type { PhotoStorage } from '../storage/index.js';

const BATCH = 200;

/** Counts of what one cascade run removed. */
export interface CleanupReport {
  photos: number;
  embeddings: number;
  objects: number;
}

/**
 * Removes a deleted event across db_vector, storage and db_main. Order matters for crash safety:
 * embeddings and objects of a batch go first, then the photo rows that point at them, and the
 * event row last — so a rerun after any interruption finds what is left and finishes it.
 */
export function createEventCleanupService(deps: {
  events: EventRepository;
  photos: PhotoRepository;
  embeddings: EmbeddingRepository;
  vectorIndexes: VectorIndexRepository;
  persons: Pick<PersonRepository, 'deleteByEvent'>;
  storage: PhotoStorage;
}) {
  const { events, photos, embeddings, vectorIndexes, persons, storage } = deps;
  return {
    async purgeEvent(eventId: number): Promise<CleanupReport> {
      const report: CleanupReport = { photos: 0, embeddings: 0, objects: 0 };
      // The event's ANN index first: deleting its rows would otherwise also update the index.
      await vectorIndexes.dropForEvent(eventId);
      for (;;) {
        const batch = await photos.listKeysBatch(eventId, BATCH);
        if (batch.length === 0) break;
        const ids = batch.map((p) => p.id);
        report.embeddings += await embeddings.deleteByPhotos(eventId, ids);
        for (const key of batch.flatMap((p) => p.keys)) {
          await storage.delete(key);
          report.objects += 1;
        }
        report.photos += await photos.deleteByIds(ids);
      }
      // Stragglers: embeddings written by a job that raced the deletion, objects without a row.
      report.embeddings += await embeddings.deleteByEvent(eventId);
      // The event's persons (issue #15): groups of the faces just removed.
      await persons.deleteByEvent(eventId);
      report.objects += await storage.deletePrefix(`events/${eventId}/`);
      await events.purge(eventId);
      return report;
    },
  };
}
export type EventCleanupService = ReturnType<typeof createEventCleanupService>;
