import type { JobHandler } from '../queue/job-worker.js';
import type { PeopleService } from '../services/people.service.js';

/** The `cluster-event-persons` job: places an event's new faces into persons (or re-clusters all). */
export function createClusterEventPersonsHandler(deps: { people: PeopleService }): JobHandler<'cluster-event-persons'> {
  return async ({ data, logger }) => {
    const started = performance.now();
    const result = await deps.people.cluster(data);
    logger.info({ ...data, ...result, ms: Math.round(performance.now() - started) }, 'event persons clustered');
    return { status: 'success', result };
  };
}
