import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { albumsOf, createLiveDeliveryService } from '../../src/services/live-delivery.service.js';
import { jobIdOf, type JobName, type JobOf } from '../../src/queue/jobs.js';

describe('live delivery batching', () => {
  it('splits a participant’s photos into albums of 2–10, never a lone photo after a full album', () => {
    const sizes = (n: number): number[] => albumsOf(Array.from({ length: n }, (_, i) => i)).map((a) => a.length);
    assert.deepEqual(sizes(0), []);
    assert.deepEqual(sizes(1), [1]);
    assert.deepEqual(sizes(10), [10]);
    assert.deepEqual(sizes(11), [6, 5]);
    assert.deepEqual(sizes(21), [7, 7, 7]);
    assert.deepEqual(albumsOf([1, 2, 3]), [[1, 2, 3]]);
  });

  it('schedules one delayed flush per event and time bucket: a burst shares it, a later match gets the next', async () => {
    const added: { id: string | undefined; delay: number | undefined }[] = [];
    const enqueue = <N extends JobName>(name: N, data: JobOf<N>, options?: { delay?: number }): Promise<string> => {
      added.push({ id: jobIdOf(name, data), delay: options?.delay });
      return Promise.resolve('id');
    };
    // Only the scheduling is exercised here; the rest runs against real services in bot.test.ts.
    const service = createLiveDeliveryService({ jobs: { enqueue }, batchMs: 15_000, threshold: 0.7 } as unknown as Parameters<typeof createLiveDeliveryService>[0]);
    mock.timers.enable({ apis: ['Date'], now: 1_000_000 * 15_000 + 1 });
    try {
      await service.scheduleFlush(7);
      mock.timers.tick(14_000);
      await service.scheduleFlush(7);
      await service.scheduleFlush(8);
      mock.timers.tick(1_000);
      await service.scheduleFlush(7);
    } finally {
      mock.timers.reset();
    }
    assert.deepEqual(added, [
      { id: 'send-live-deliveries-7-1000000', delay: 15_000 },
      { id: 'send-live-deliveries-7-1000000', delay: 15_000 },
      { id: 'send-live-deliveries-8-1000000', delay: 15_000 },
      { id: 'send-live-deliveries-7-1000001', delay: 15_000 },
    ]);
  });
});
