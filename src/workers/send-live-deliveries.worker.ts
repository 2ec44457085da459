import type { JobHandler } from '../queue/job-worker.js';
import type { LiveDeliveryService } from '../services/live-delivery.service.js';

/**
 * The `send-live-deliveries` job: sends an event's pending live deliveries as albums. A send failure
 * throws (retried); what was sent stays sent, what failed was given back and goes with the retry.
 */
export function createSendLiveDeliveriesHandler(deps: { delivery: LiveDeliveryService }): JobHandler<'send-live-deliveries'> {
  return async ({ data, logger }) => {
    const result = await deps.delivery.flush(data.eventId);
    if (result.sent + result.unreachable + result.dropped > 0) logger.info({ eventId: data.eventId, ...result }, 'live deliveries sent');
    return { status: 'success', result };
  };
}
