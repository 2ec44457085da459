import type { EventCleanupService } from '../services/event-cleanup.service.js';
import type { JobHandler } from '../queue/job-worker.js';

/** The `delete-event` job: idempotent, so a retry or a rerun after a crash finishes the cascade. */
export function createDeleteEventHandler(deps: { cleanup: EventCleanupService }): JobHandler<'delete-event'> {
  return async ({ data, logger }) => {
    const result = await deps.cleanup.purgeEvent(data.eventId);
    logger.info({ eventId: data.eventId, ...result }, 'event purged');
    return { status: 'success', result };
  };
}
