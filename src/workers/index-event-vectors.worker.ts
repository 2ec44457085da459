import type { JobHandler } from '../queue/job-worker.js';
import type { EventRepository } from '../repositories/event.repository.js';
import type { VectorIndexRepository } from '../repositories/vector-index.repository.js';

/**
 * The `index-event-vectors` job: builds a large event's HNSW index; a rerun finds it built. An
 * event deleted before or during the build loses the index again: its deletion cascade drops only
 * registered indexes, and a build still running then registers its index afterwards.
 */
export function createIndexEventVectorsHandler(deps: { indexes: VectorIndexRepository; events: Pick<EventRepository, 'findById'> }): JobHandler<'index-event-vectors'> {
  const { indexes, events } = deps;
  return async ({ data, logger }) => {
    if (!(await events.findById(data.eventId))) {
      const dropped = await indexes.dropForEvent(data.eventId);
      logger.info({ ...data, dropped }, 'event deleted: no vector index built');
      return { status: 'skipped', reason: 'event deleted' };
    }
    const started = performance.now();
    const result = await indexes.build(data);
    const ms = Math.round(performance.now() - started);
    if (!(await events.findById(data.eventId))) {
      await indexes.dropForEvent(data.eventId);
      logger.info({ ...data, ms }, 'event deleted during the build: vector index dropped');
      return { status: 'skipped', reason: 'event deleted during the build' };
    }
    logger.info({ ...data, ...result, ms }, result.built ? 'event vector index built' : 'event vector index already there');
    return { status: 'success', result };
  };
}
