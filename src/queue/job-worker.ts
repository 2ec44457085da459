import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { QUEUE_OF, type JobName, type JobOf, type JobOutcome, type JobResults, type QueueName } from './jobs.js';

/** What a handler gets: the payload, its job id, the attempt number and a child logger. */
export interface JobContext<N extends JobName> {
  id: string;
  name: N;
  data: JobOf<N>;
  attempt: number;
  logger: Logger;
}

/**
 * A job handler: returns an explicit outcome; throws for a transient error (the job is retried).
 * `onFinalFailure`, when set, runs once BullMQ gives the job up (attempts used up, an
 * UnrecoverableError, or stalled too often): the place to record the failure on the job's subject.
 */
export type JobHandler<N extends JobName> = ((ctx: JobContext<N>) => Promise<JobOutcome<JobResults[N]>>) & {
  onFinalFailure?: (data: JobOf<N>, reason: string, logger: Logger) => Promise<void>;
};
export type JobHandlers = { [N in JobName]?: JobHandler<N> };

/** Running workers, one per queue that has handlers. */
export interface JobWorkers {
  /** Stops taking jobs and waits for the ones in flight. */
  close(): Promise<void>;
  workers: Worker[];
}

/**
 * The two job metrics the dispatcher records, as it uses them (prom-client's Histogram and
 * Counter fit): declared here so the queue layer depends on no metrics module.
 */
export interface JobMetrics {
  jobDuration: { observe(labels: { queue: string; job: string; status: string }, seconds: number): void };
  jobFailures: { inc(labels: { queue: string; job: string; final: string }): void };
}

/** Starts one BullMQ worker per queue and dispatches each job to its handler by name. */
export function startJobWorkers(options: {
  connection: Redis;
  prefix: string;
  concurrency: number;
  /** A crashed worker's job is taken up again after this long. @defaultValue 60 */
  lockSeconds?: number;
  handlers: JobHandlers;
  logger: Logger;
  /** Restrict to these queues (default: every queue that has a handler). */
  queues?: QueueName[];
  /** Where job durations and failures are counted (per queue and job name); observability/metrics.ts provides them. */
  metrics?: JobMetrics;
}): JobWorkers {
  const { handlers, logger } = options;
  const names = Object.keys(handlers) as JobName[];
  const queues = options.queues ?? [...new Set(names.map((n) => QUEUE_OF[n]))];

  const { metrics } = options;
  const process = async (job: Job): Promise<unknown> => {
    const name = job.name as JobName;
    const handler = handlers[name] as JobHandler<JobName> | undefined;
    const log = logger.child({ job: job.id, jobName: name, attempt: job.attemptsMade + 1 });
    if (!handler) throw new UnrecoverableError(`No handler for job ${job.name}`);
    const labels = { queue: job.queueName, job: name };
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    let outcome;
    try {
      outcome = await handler({ id: job.id ?? '', name, data: job.data as JobOf<JobName>, attempt: job.attemptsMade + 1, logger: log });
    } catch (error) {
      // Retried unless it says otherwise or this was the last attempt.
      const final = error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      metrics?.jobDuration.observe({ ...labels, status: 'error' }, seconds());
      metrics?.jobFailures.inc({ ...labels, final: String(final) });
      throw error;
    }
    const ms = Math.round(seconds() * 1000);
    metrics?.jobDuration.observe({ ...labels, status: outcome.status }, ms / 1000);
    if (outcome.status === 'failed') {
      metrics?.jobFailures.inc({ ...labels, final: 'true' });
      log.warn({ ms, reason: outcome.reason }, 'job failed permanently');
      throw new UnrecoverableError(outcome.reason);
    }
    log.info({ ms, status: outcome.status }, 'job finished');
    return outcome.status === 'success' ? outcome.result : { skipped: outcome.reason };
  };

  const hooks = new Set<Promise<void>>();
  // Each worker gets a connection of its own, closed with it (BullMQ leaves passed-in connections open).
  const connections = queues.map(() => options.connection.duplicate());
  const workers = queues.map((queue, i) => {
    const worker = new Worker(queue, process, {
      connection: connections[i]!,
      prefix: options.prefix,
      concurrency: options.concurrency,
      // The lock is renewed while a job runs; when its worker dies, the job counts as stalled once
      // the lock expires and another worker runs it again (handlers are idempotent).
      lockDuration: (options.lockSeconds ?? 60) * 1000,
      stalledInterval: (options.lockSeconds ?? 60) * 1000,
    });
    worker.on('failed', (job, error) => {
      logger.warn({ job: job?.id, jobName: job?.name, attempts: job?.attemptsMade, err: error.message }, 'job attempt failed');
      const hook = job && (handlers[job.name as JobName] as JobHandler<JobName> | undefined)?.onFinalFailure;
      if (!job || !hook) return;
      const log = logger.child({ job: job.id, jobName: job.name });
      // 'failed' fires for every failed attempt; only a job left in the failed set is given up (a
      // retried one is delayed or waiting). If this process dies first, the ingest sweep finds the
      // photo without a live job.
      const running = job
        .isFailed()
        .then(async (final) => {
          if (final) await hook(job.data as JobOf<JobName>, error.message, log);
        })
        .catch((err: unknown) => log.error({ err }, 'final-failure hook failed'))
        .finally(() => hooks.delete(running));
      hooks.add(running);
    });
    worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
    return worker;
  });
  return {
    workers,
    async close() {
      // Worker.close() waits for active jobs to finish before resolving.
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([...hooks]);
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
