import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL, uniqueName } from '../helpers/services.js';
import { createJobProducer, type JobProducer } from '../../src/queue/job-producer.js';

/**
 * The photos queue's order, on real Redis and BullMQ: live first passes newest first, then small-face
 * passes oldest first, then the backlog first in, first out — however they were queued. A camera that
 * keeps the worker busy must not bury an older shot's second pass under every later shot's.
 */
describe('photos queue order', () => {
  let redis: Redis;
  let jobs: JobProducer;
  const prefix = uniqueName('fpq-order');

  before(async () => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    jobs = createJobProducer(redis, { prefix, attempts: 1 });
  });
  after(async () => {
    await jobs.queue('photos').obliterate({ force: true });
    await jobs.close();
    redis.disconnect();
  });

  it('live first passes (newest first), then refines (oldest first), then the backlog (FIFO)', async () => {
    const photos = jobs.queue('photos');
    await photos.pause();
    const photo = (faceId: number, live: boolean) => ({ faceId, s3Key: `k/${faceId}.jpg`, eventId: 1, ...(live && { live: true }) });
    // Queued in an order that interleaves the kinds, as a live event does.
    await jobs.enqueue('process-photo', photo(1, false));
    await jobs.enqueue('process-photo', photo(2, false));
    await jobs.enqueue('refine-photo', photo(10, false));
    await jobs.enqueue('process-photo', photo(11, true));
    await jobs.enqueue('process-photo', photo(3, false));
    await jobs.enqueue('refine-photo', photo(11, false));
    await jobs.enqueue('process-photo', photo(12, true));
    // The sweep re-queues a backlog photo whose job was lost: it goes to the back of the backlog.
    assert.equal(await photos.remove('process-photo-1'), 1);
    assert.deepEqual(await jobs.requeue('process-photo', photo(1, false)), { id: 'process-photo-1', added: true });
    assert.equal(await photos.getJobState('process-photo-2'), 'prioritized');
    assert.equal(await photos.getJobState('refine-photo-10'), 'waiting');

    const order: string[] = [];
    const all = 7;
    const connection = redis.duplicate();
    const done = new Promise<void>((resolve) => {
      const worker = new Worker(
        'photos',
        async (job) => {
          order.push(String(job.id));
          if (order.length === all) setImmediate(() => void worker.close().then(resolve));
        },
        { connection, prefix, concurrency: 1 },
      );
    });
    await photos.resume();
    await done;
    connection.disconnect();
    assert.deepEqual(order, ['process-photo-12', 'process-photo-11', 'refine-photo-10', 'refine-photo-11', 'process-photo-2', 'process-photo-3', 'process-photo-1']);
  });
});
