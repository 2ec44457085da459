import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { QueueEvents } from 'bullmq';
import { startService, type Role, type RunningService } from '../../src/main.js';
import { createLogger } from '../../src/logger.js';
import { createRedis } from '../../src/queue/redis.js';
import { createTestDatabases, tempDir, testConfig, TEST_REDIS_URL } from '../helpers/services.js';
import { testModelDir } from '../vision/fixtures.js';

/** One series' value in a Prometheus text exposition, or NaN when absent. */
const valueOf = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
};

describe('metrics of separate processes: each role serves its own on METRICS_PORT', () => {
  let dbs: Awaited<ReturnType<typeof createTestDatabases>>;
  let data: Awaited<ReturnType<typeof tempDir>>;
  const prefix = `fpq_metrics_${Date.now().toString(36)}`;
  const services: RunningService[] = [];

  const start = async (roles: Role[]): Promise<RunningService> => {
    const config = testConfig({
      FACEPASS_DATA_DIR: data.dir,
      DATABASE_MAIN_URL: dbs.mainUrl,
      DATABASE_VECTOR_URL: dbs.vectorUrl,
      MODEL_DIR: testModelDir(),
      QUEUE_PREFIX: prefix,
      HOST: '127.0.0.1',
      METRICS_PORT: '0',
    });
    const service = await startService(config, roles, createLogger('silent'));
    services.push(service);
    return service;
  };
  const scrape = async (service: RunningService): Promise<string> => {
    const res = await fetch(service.metricsUrl!);
    assert.equal(res.status, 200);
    return res.text();
  };

  before(async () => {
    dbs = await createTestDatabases();
    data = await tempDir();
  });
  after(async () => {
    for (const service of services.reverse()) await service.stop();
    // The workers' own keys (meta, stalled checks) of this test's prefix.
    const redis = createRedis(TEST_REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    await dbs.drop();
    await data.remove();
  });

  it('the worker process counts its jobs; the api process reports queue depth from Redis', async () => {
    const api = await start(['api']);
    const worker = await start(['worker']);
    assert.notEqual(api.metricsUrl, worker.metricsUrl);
    try {
      // Queued by the API process, run by the worker process.
      const queue = api.deps.jobs.queue('maintenance');
      const connection = api.deps.redis.duplicate();
      const events = new QueueEvents('maintenance', { connection, prefix });
      try {
        await events.waitUntilReady();
        const id = await api.deps.jobs.enqueue('delete-event', { eventId: 999_999 });
        const job = await queue.getJob(id);
        await job!.waitUntilFinished(events, 60_000);
      } finally {
        await events.close();
        await connection.quit();
      }
      const fromWorker = await scrape(worker);
      assert.equal(valueOf(fromWorker, 'facepass_job_duration_seconds_count{queue="maintenance",job="delete-event",status="success"}'), 1);
      assert.doesNotMatch(fromWorker, /^facepass_queue_jobs\{/m, 'queue depth comes from the api process only');

      // A job nobody takes (no worker for the search queue in this test): waiting, as the API sees it.
      await api.deps.jobs.enqueue('search-selfie', { selfieKeys: ['none'], eventId: 1, threshold: 0.7, limit: 1 }, { delay: 3_600_000 });
      const fromApi = await scrape(api);
      assert.equal(valueOf(fromApi, 'facepass_queue_jobs{queue="search",state="delayed"}'), 1);
      assert.equal(valueOf(fromApi, 'facepass_queue_jobs{queue="maintenance",state="waiting"}'), 0);
      assert.equal(valueOf(fromApi, 'facepass_queue_jobs{queue="photos",state="failed"}'), 0);
      assert.doesNotMatch(fromApi, /^facepass_job_duration_seconds_count/m, 'the api process runs no jobs');
    } finally {
      for (const name of ['maintenance', 'search'] as const) await api.deps.jobs.queue(name).obliterate({ force: true });
    }
  });
});
