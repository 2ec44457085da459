import type { JobHandler } from '../queue/job-worker.js';
import type { LiveDeliveryService } from '../services/live-delivery.service.js';

/**
 * The `recover-live-deliveries` job (repeated): schedules the flush of every event whose live
 * deliveries a crashed flush left `sending` past their lease; that flush sends them again.
 */
export function createRecoverLiveDeliveriesHandler(deps: { delivery: LiveDeliveryService }): JobHandler<'recover-live-deliveries'> {
  return async ({ logger }) => {
    const result = await deps.delivery.recover();
    if (result.expired > 0) logger.warn(result, 'live deliveries left mid-send by a crashed flush: sending them again');
    return { status: 'success', result };
  };
}
