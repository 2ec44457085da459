import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { jobIdOf, jobOptionsOf, QUEUE_NAMES, QUEUE_OF, type JobName, type JobOf, type QueueName } from './jobs.js';

/** Retry/backoff defaults for every job; exponential from 2 s. */
export function defaultJobOptions(attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: 2000 },
    // Keep a bounded history for progress views and debugging.
    removeOnComplete: { age: 24 * 3600, count: 10000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/** Puts jobs on their queues. */
export interface JobProducer {
  /** Enqueues a job and returns its id (the seed's task_id). */
  enqueue<N extends JobName>(name: N, data: JobOf<N>, options?: JobsOptions): Promise<string>;
  /**
   * Runs a job every `everyMs`, the first one now. One schedule per job name, whichever process
   * sets it up: calling again (every worker start does) updates it, never adds a second.
   */
  repeat<N extends JobName>(name: N, data: JobOf<N>, everyMs: number): Promise<void>;
  /**
   * Queues a job with a stable id (see `jobIdOf`) again unless it is waiting or running: a finished
   * job of that id (completed or failed) is removed first, so BullMQ does not ignore the add.
   * Safe to race: BullMQ keeps one job per id. Returns the id and whether a job was added.
   */
  requeue<N extends JobName>(name: N, data: JobOf<N>): Promise<{ id: string; added: boolean }>;
  /** True while the job with this payload's stable id is waiting, delayed or running. */
  isLive<N extends JobName>(name: N, data: JobOf<N>): Promise<boolean>;
  /** The BullMQ queue behind a name (progress views, tests). */
  queue(name: QueueName): Queue;
  close(): Promise<void>;
}

/** Job states in which BullMQ will still run (or is running) the job. */
const LIVE_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

export function createJobProducer(connection: Redis, options: { prefix: string; attempts: number }): JobProducer {
  const queues = new Map<QueueName, Queue>(
    QUEUE_NAMES.map((name) => [
      name,
      new Queue(name, { connection, prefix: options.prefix, defaultJobOptions: defaultJobOptions(options.attempts) }),
    ]),
  );
  const queue = (name: QueueName): Queue => {
    const q = queues.get(name);
    if (!q) throw new Error(`Unknown queue ${name}`);
    return q;
  };
  return {
    async enqueue(name, data, jobOptions) {
      const job = await queue(QUEUE_OF[name]).add(name, data, { jobId: jobIdOf(name, data), ...jobOptionsOf(name, data), ...jobOptions });
      if (!job.id) throw new Error(`Queue returned no id for ${name}`);
      return job.id;
    },
    async repeat(name, data, everyMs) {
      await queue(QUEUE_OF[name]).upsertJobScheduler(name, { every: everyMs }, { name, data });
    },
    async requeue(name, data) {
      const id = jobIdOf(name, data);
      if (!id) throw new Error(`${name} jobs have no stable id to requeue by`);
      const q = queue(QUEUE_OF[name]);
      const state = await q.getJobState(id);
      if (LIVE_STATES.has(state)) return { id, added: false };
      // A finished job keeps its id in the history; remove it, or the add is ignored.
      if (state === 'completed' || state === 'failed') await q.remove(id);
      await q.add(name, data, { jobId: id, ...jobOptionsOf(name, data) });
      return { id, added: true };
    },
    async isLive(name, data) {
      const id = jobIdOf(name, data);
      if (!id) throw new Error(`${name} jobs have no stable id`);
      return LIVE_STATES.has(await queue(QUEUE_OF[name]).getJobState(id));
    },
    queue,
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
