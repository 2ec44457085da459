import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TestApp } from './app.js';
import { startJobWorkers, type JobWorkers } from '../../src/queue/job-worker.js';
import { createJobHandlers } from '../../src/workers/index.js';
import { createSearchGate } from '../../src/queue/search-gate.js';
import type { JobHandlers } from '../../src/queue/job-worker.js';
import { QUEUE_NAMES, type QueueName } from '../../src/queue/jobs.js';
import { createFaceEngine, type FaceEngine } from '../../src/vision/index.js';
import type { LivePhotoSender } from '../../src/services/live-delivery.service.js';
import { testModelDir } from '../vision/fixtures.js';

/** The API listening on loopback plus, optionally, real workers with the real face engine. */
export interface TestPipeline {
  /** `http://127.0.0.1:<port>/api/v1` */
  api: string;
  engine: FaceEngine | undefined;
  /** Resolves with the job's result when it completes; rejects when it fails for good. */
  waitForJob(queue: QueueName, jobId: string, timeoutMs?: number): Promise<unknown>;
  /** Queue events of a queue (for 'active', 'delayed', … listeners). */
  events(queue: QueueName): Promise<QueueEvents>;
  close(): Promise<void>;
}

/** Every job handler with the real engine, one job at a time, searches first through the search gate (as in src/main.ts). */
export async function startRealWorkers(t: TestApp, options: { sender?: LivePhotoSender } = {}): Promise<{ engine: FaceEngine; close(): Promise<void> }> {
  const engine = await createFaceEngine({ modelDir: testModelDir() });
  const searchGate = createSearchGate(t.deps.redis, { prefix: t.deps.config.queue.prefix, maxWaitMs: t.deps.config.search.firstMaxWaitMs });
  const workers = startTestWorkers(t, createJobHandlers(t.deps, { engine, searchGate, ...(options.sender && { sender: options.sender }) }));
  return {
    engine,
    async close() {
      await workers.close();
      await engine.close();
    },
  };
}

function startTestWorkers(t: TestApp, handlers: JobHandlers): JobWorkers {
  return startJobWorkers({ connection: t.deps.redis, prefix: t.deps.config.queue.prefix, concurrency: 1, handlers, logger: t.deps.logger, metrics: t.deps.metrics });
}

/**
 * Starts the pipeline around a test app. `workers: true` runs every job handler with the real
 * engine (and live delivery through `sender`); `handlers` runs only the ones given; neither runs no
 * worker (API only).
 */
export async function startPipeline(
  t: TestApp,
  options: { workers?: boolean; handlers?: JobHandlers; sender?: LivePhotoSender } = {},
): Promise<TestPipeline> {
  const real = options.workers && !options.handlers ? await startRealWorkers(t, { sender: options.sender }) : undefined;
  const workers: { close(): Promise<void> } | undefined = real ?? (options.handlers ? startTestWorkers(t, options.handlers) : undefined);
  const listeners = new Map<QueueName, { queueEvents: QueueEvents; connection: Redis }>();
  const events = async (queue: QueueName): Promise<QueueEvents> => {
    let entry = listeners.get(queue);
    if (!entry) {
      const connection = t.deps.redis.duplicate();
      entry = { queueEvents: new QueueEvents(queue, { connection, prefix: t.deps.config.queue.prefix }), connection };
      listeners.set(queue, entry);
    }
    await entry.queueEvents.waitUntilReady();
    return entry.queueEvents;
  };
  // With workers here, every queue's event stream is read from now on, before any test enqueues: a
  // QueueEvents made lazily after an enqueue starts reading at "new events only" a moment later, and
  // a fast job's completion in that moment would never be heard (BullMQ's own re-check runs before
  // the first read). Such pipelines are always closed; API-only ones stay lazy (some are never closed).
  if (workers) await Promise.all(QUEUE_NAMES.map((queue) => events(queue)));
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const address = t.app.server.address();
  const api = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/v1`;
  return {
    api,
    engine: real?.engine,
    events,
    async waitForJob(queue, jobId, timeoutMs = 120_000) {
      const queueEvents = await events(queue);
      const job = await t.deps.jobs.queue(queue).getJob(jobId);
      if (!job) throw new Error(`job ${jobId} not found on ${queue}`);
      return job.waitUntilFinished(queueEvents, timeoutMs);
    },
    async close() {
      for (const { queueEvents, connection } of listeners.values()) {
        await queueEvents.close();
        await connection.quit();
      }
      await workers?.close();
    },
  };
}
