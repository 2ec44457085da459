import type { JobHandler } from '../queue/job-worker.js';
import type { IngestSweepService } from '../services/ingest-sweep.service.js';

/** The `sweep-ingest` job (repeated, and once at each worker start): see IngestSweepService. */
export function createSweepIngestHandler(deps: { sweep: IngestSweepService }): JobHandler<'sweep-ingest'> {
  return async ({ logger }) => {
    const result = await deps.sweep.sweep();
    if (result.requeued + result.failed + result.purgedEvents.length > 0) logger.warn(result, 'ingest sweep repaired stuck or orphaned data');
    if (result.reembedQueued > 0) logger.info({ queued: result.reembedQueued }, 'photos of another model pack queued for re-embedding');
    return { status: 'success', result };
  };
}
