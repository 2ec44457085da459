import { QueueEvents, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** The job did not finish within the wait. */
export class JobTimeoutError extends Error {
  constructor(readonly jobId: string, readonly timeoutMs: number) {
    super(`Job ${jobId} did not finish within ${timeoutMs} ms`);
    this.name = 'JobTimeoutError';
  }
}

/** Waits for results of jobs on one queue (the API waits for search jobs this way). */
export interface JobWaiter {
  wait<R>(queue: Queue, jobId: string, timeoutMs: number): Promise<R>;
  close(): Promise<void>;
}

export function createJobWaiter(connection: Redis, options: { queueName: string; prefix: string }): JobWaiter {
  // QueueEvents holds a blocking connection of its own; it is created on first use and closed with the waiter.
  let events: { queueEvents: QueueEvents; connection: Redis } | undefined;
  const ready = async (): Promise<QueueEvents> => {
    if (!events) {
      const own = connection.duplicate();
      events = { queueEvents: new QueueEvents(options.queueName, { connection: own, prefix: options.prefix }), connection: own };
    }
    await events.queueEvents.waitUntilReady();
    return events.queueEvents;
  };
  return {
    async wait<R>(queue: Queue, jobId: string, timeoutMs: number): Promise<R> {
      const queueEvents = await ready();
      const job = await queue.getJob(jobId);
      if (!job) throw new Error(`Job ${jobId} not found`);
      try {
        return (await job.waitUntilFinished(queueEvents, timeoutMs)) as R;
      } catch (error) {
        if (error instanceof Error && /timed out/i.test(error.message)) throw new JobTimeoutError(jobId, timeoutMs);
        throw error;
      }
    },
    async close() {
      if (!events) return;
      await events.queueEvents.close();
      await events.connection.quit().catch(() => events?.connection.disconnect());
    },
  };
}
