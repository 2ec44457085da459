import type { JobHandler } from '../queue/job-worker.js';
import type { LiveDeliveryService } from '../services/live-delivery.service.js';

/**
 * The `deliver-photo` job: records the photo's matches among the event's subscribers as pending
 * deliveries and schedules the event's `send-live-deliveries` flush. Idempotent: a match is one row.
 */
export function createDeliverPhotoHandler(deps: { delivery: LiveDeliveryService }): JobHandler<'deliver-photo'> {
  return async ({ data, logger }) => {
    const result = await deps.delivery.deliver(data);
    if (result.recorded > 0) logger.info({ faceId: data.faceId, ...result }, 'live matches recorded');
    return { status: 'success', result };
  };
}
