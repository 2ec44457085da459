import type { JobHandler } from '../queue/job-worker.js';
import type { VectorIndexRepository } from '../repositories/vector-index.repository.js';

/** The `index-event-vectors` job: builds a large event's HNSW index; a rerun finds it built. */
export function createIndexEventVectorsHandler(deps: { indexes: VectorIndexRepository }): JobHandler<'index-event-vectors'> {
  return async ({ data, logger }) => {
    const started = performance.now();
    const result = await deps.indexes.build(data);
    const ms = Math.round(performance.now() - started);
    logger.info({ ...data, ...result, ms }, result.built ? 'event vector index built' : 'event vector index already there');
    return { status: 'success', result };
  };
}
