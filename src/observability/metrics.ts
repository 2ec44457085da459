import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Queue } from 'bullmq';
import { QUEUE_NAMES, type QueueName } from '../queue/jobs.js';

/** Job states whose counts are exported per queue. */
export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;

/** How a selfie search in the bot ended. */
export type BotSearchOutcome = 'results' | 'nothing_found' | 'no_face' | 'unreadable' | 'multiple_faces' | 'rate_limited' | 'timeout' | 'error';

/**
 * The metrics operators watch, in one registry per process: process defaults, HTTP requests (API),
 * queue depth (collected from Redis on scrape), job durations and failures (workers), bot updates
 * and searches (bot), live deliveries and Telegram uploads (worker and bot). Each role fills the
 * ones it runs; the process serves them all on its metrics listener (`METRICS_PORT`), so the api,
 * worker and bot processes of a deployment are scraped as three targets.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'facepass_' });
  const registers = [registry];
  let queues: ((name: QueueName) => Queue) | undefined;

  return {
    registry,

    /** Request durations, observed by the API. */
    httpDuration: new Histogram({
      name: 'facepass_http_request_duration_seconds',
      help: 'HTTP request duration by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),

    /** Jobs per queue and state, read from Redis when scraped (only where `watchQueues` was called). */
    queueJobs: new Gauge({
      name: 'facepass_queue_jobs',
      help: 'Jobs per queue and state (waiting, active, delayed, failed), read from Redis at scrape time',
      labelNames: ['queue', 'state'] as const,
      registers,
      async collect() {
        if (!queues) return;
        const lookup = queues;
        try {
          const counts = await Promise.all(QUEUE_NAMES.map((name) => lookup(name).getJobCounts(...QUEUE_STATES)));
          QUEUE_NAMES.forEach((queue, i) => {
            for (const state of QUEUE_STATES) this.set({ queue, state }, counts[i]![state] ?? 0);
          });
        } catch {
          // Redis unreachable: no queue series in this scrape (an absent series alerts), rather than
          // stale numbers or a failed scrape that hides every other metric too.
          this.reset();
        }
      },
    }),

    /** Handler run time per queue, job name and status (success, skipped, failed for good, error = retried). */
    jobDuration: new Histogram({
      name: 'facepass_job_duration_seconds',
      help: 'Job handler duration by queue, job name and status (success, skipped, failed, error)',
      labelNames: ['queue', 'job', 'status'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),

    /** Failed job attempts; `final` is true when no retry follows. */
    jobFailures: new Counter({
      name: 'facepass_job_failures_total',
      help: 'Failed job attempts by queue and job name; final="true" when the job will not be retried',
      labelNames: ['queue', 'job', 'final'] as const,
      registers,
    }),

    /** Updates the bot received, by kind. */
    botUpdates: new Counter({
      name: 'facepass_bot_updates_total',
      help: 'Telegram updates handled by the bot, by update type',
      labelNames: ['type'] as const,
      registers,
    }),

    /** Selfie searches in the bot, by outcome. */
    botSearches: new Counter({
      name: 'facepass_bot_searches_total',
      help: 'Selfie searches in the bot by outcome (results, nothing_found, no_face, unreadable, multiple_faces, rate_limited, timeout, error)',
      labelNames: ['outcome'] as const,
      registers,
    }),

    /** Live-delivered photos: sent, failed (given back for a retry) or unreachable (blocked the bot). */
    liveDeliveries: new Counter({
      name: 'facepass_live_deliveries_total',
      help: 'Live-delivered photos by outcome: sent, failed (retried later), unreachable (participant blocked the bot)',
      labelNames: ['outcome'] as const,
      registers,
    }),

    /** Files sent to Telegram, by kind and whether their bytes were uploaded or a cached file_id was used. */
    telegramFiles: new Counter({
      name: 'facepass_telegram_files_total',
      help: 'Photos and originals sent to Telegram by kind (preview, original) and how (upload, file_id)',
      labelNames: ['kind', 'via'] as const,
      registers,
    }),

    /** Collects queue depth from these queues on every scrape (one process of a deployment is enough: the API). */
    watchQueues(lookup: (name: QueueName) => Queue): void {
      queues = lookup;
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
