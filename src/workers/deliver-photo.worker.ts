import type { JobHandler } from '../queue/job-worker.js';
import type { LiveDeliveryService } from '../services/live-delivery.service.js';

/** The `deliver-photo` job: a send failure throws (retried); deliveries already recorded are not repeated. */
export function createDeliverPhotoHandler(deps: { delivery: LiveDeliveryService }): JobHandler<'deliver-photo'> {
  return async ({ data, logger }) => {
    const { sent, unreachable } = await deps.delivery.deliver(data);
    if (sent + unreachable > 0) logger.info({ faceId: data.faceId, sent, unreachable }, 'photo delivered live');
    return { status: 'success', result: { sent } };
  };
}
