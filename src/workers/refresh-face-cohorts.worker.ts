import type { JobHandler } from '../queue/job-worker.js';
import type { FaceCohortService } from '../services/face-cohort.service.js';

/** The `refresh-face-cohorts` job: recomputes a grown event's face cohorts; a deleted event has none left to compute. */
export function createRefreshFaceCohortsHandler(deps: { cohorts: FaceCohortService }): JobHandler<'refresh-face-cohorts'> {
  return async ({ data, logger }) => {
    const started = performance.now();
    const result = await deps.cohorts.refresh(data);
    logger.info({ ...data, ...result, ms: Math.round(performance.now() - started) }, 'face cohorts refreshed');
    return { status: 'success', result };
  };
}
