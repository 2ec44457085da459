/**
 * Ingest benchmark: N real photos re-encoded to 12 MP go through the API → queue → worker → both
 * databases on the real services (PostgreSQL + pgvector, Redis, S3 via s3rver), compared with the
 * face engine alone on the same files. Target: pipeline throughput ≥ 80 % of the engine's.
 *   npm run bench:ingest [-- --photos 20] [-- --concurrency 1] [-- --threads 0] [-- --upload-concurrency 4]
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createDependencies, type Dependencies } from '../src/dependencies.js';
import { buildApi } from '../src/api/app.js';
import { createLogger } from '../src/logger.js';
import { startJobWorkers, type JobWorkers } from '../src/queue/job-worker.js';
import { createJobHandlers } from '../src/workers/index.js';
import { createFaceEngine, decodeImage, type FaceEngine } from '../src/vision/index.js';
import { createFacePassClient } from '../src/uploader/facepass.client.js';
import { createTestDatabases, startS3, tempDir, testConfig } from '../test/helpers/services.js';
import { devDataDir, testModelDir } from '../test/vision/fixtures.js';
import { BENCH_HEIGHT, BENCH_WIDTH, prepareBenchPhotos } from './lib/ingest-photos.js';
import { percentile, printTable, StageClock, timedStorage, timeDetector } from './lib/ingest-probes.js';

const { values: args } = parseArgs({
  options: {
    photos: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '1' },
    threads: { type: 'string', default: '0' },
    'upload-concurrency': { type: 'string', default: '4' },
  },
});
const count = Number(args.photos);
const concurrency = Number(args.concurrency);
const threads = Number(args.threads);
const uploadConcurrency = Number(args['upload-concurrency']);
for (const [name, v] of [['photos', count], ['concurrency', concurrency], ['upload-concurrency', uploadConcurrency]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
}
if (!Number.isInteger(threads) || threads < 0) throw new Error('--threads must be 0 (engine default) or more');
const engineOptions = { modelDir: testModelDir(), ...(threads > 0 && { intraOpThreads: threads }) };

const fmt = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '–');
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const mean = (xs: number[]): number => (xs.length ? sum(xs) / xs.length : NaN);

/** The 1-minute load average over the CPU count: above 1.0 other processes compete for the cores. */
const loadAverage = (): string => `${fmt(os.loadavg()[0]!, 2)} on ${os.availableParallelism()} CPUs`;

/** The face engine on its own: analyze() on each file in turn, timed; decode timed apart for the split. */
async function measureEngine(files: string[]) {
  const clock = new StageClock();
  const engine = await createFaceEngine(engineOptions);
  try {
    await engine.analyze(await readFile(files[0]!)); // warm-up: first-run allocations are not throughput
    timeDetector(engine, clock);
    const analyzeMs: number[] = [];
    const decodeMs: number[] = [];
    let faces = 0;
    for (const file of files) {
      const image = await readFile(file);
      // Decode on its own, outside the timed analyze, to split analyze into decode / detect / embed.
      let t0 = performance.now();
      await decodeImage(image);
      decodeMs.push(performance.now() - t0);
      t0 = performance.now();
      faces += (await engine.analyze(image)).faces.length;
      analyzeMs.push(performance.now() - t0);
    }
    const seconds = sum(analyzeMs) / 1000;
    return { analyzeMs, decodeMs, faces, seconds, pps: files.length / seconds, detectMs: clock.ms('detect'), load: loadAverage() };
  } finally {
    await engine.close();
  }
}

const work = await tempDir('facepass-bench-ingest-');
const cleanup: (() => Promise<unknown>)[] = [() => work.remove()];
try {
  // ------------------------------------------------------------------ photos
  const t0 = performance.now();
  const files = await prepareBenchPhotos(path.join(await devDataDir(), 'faces'), path.join(work.dir, 'photos'), count);
  console.log(`Prepared ${count} photos at ${BENCH_WIDTH}×${BENCH_HEIGHT} (JPEG q88–90) in ${fmt((performance.now() - t0) / 1000)} s`);

  // ------------------------------------------------------------------ engine alone (before the pipeline)
  const engineBefore = await measureEngine(files);
  console.log(`Engine alone: ${count} photos in ${fmt(engineBefore.seconds)} s → ${fmt(engineBefore.pps, 2)} photos/s (load average ${engineBefore.load})`);

  // ------------------------------------------------------------------ full pipeline
  const dbs = await createTestDatabases();
  cleanup.push(() => dbs.drop());
  const s3 = await startS3();
  cleanup.push(() => s3.stop());
  const config = testConfig({
    FACEPASS_DATA_DIR: path.join(work.dir, 'data'),
    DATABASE_MAIN_URL: dbs.mainUrl,
    DATABASE_VECTOR_URL: dbs.vectorUrl,
    S3_BUCKET: s3.bucket,
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
  });
  const deps: Dependencies = await createDependencies(config, createLogger('silent'));
  cleanup.push(async () => {
    for (const name of ['photos', 'maintenance'] as const) await deps.jobs.queue(name).obliterate({ force: true });
    await deps.close();
  });
  const app = await buildApi(deps);
  cleanup.push(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const pipelineEngine: FaceEngine = await createFaceEngine(engineOptions);
  await pipelineEngine.analyze(await readFile(files[0]!));
  const clock = new StageClock();
  timeDetector(pipelineEngine, clock);

  // The worker logs each job's stage timings; a logger of our own collects them.
  const processed: { faceId: number; faces: number; fetch_ms: number; analyze_ms: number; previews_ms: number; db_ms: number }[] = [];
  const workerLogger = pino({ level: 'info' }, {
    write(line: string) {
      const entry = JSON.parse(line) as { msg?: string } & (typeof processed)[number];
      if (entry.msg === 'photo processed') processed.push(entry);
    },
  });
  const workers: JobWorkers = startJobWorkers({
    connection: deps.redis,
    prefix: config.queue.prefix,
    concurrency,
    handlers: createJobHandlers({ config: deps.config, services: deps.services, repositories: deps.repositories, storage: timedStorage(deps.storage, clock) }, { engine: pipelineEngine }),
    logger: workerLogger,
  });
  // Workers first: they finish their jobs with the engine, which closes after them.
  let stopped = false;
  const stopProcessing = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await workers.close();
    await pipelineEngine.close();
  };
  cleanup.push(stopProcessing);

  const { apiKey, photographer } = await deps.services.photographers.create({ email: `bench-${Date.now()}@example.com` });
  const event = await deps.services.events.create(photographer.id, { name: 'Ingest benchmark' });
  const client = createFacePassClient({ url, apiKey });

  // Upload like the CLI does: a few concurrent streams from disk.
  const uploadStart = new Map<number, number>();
  const uploadMs: number[] = [];
  let nextFile = 0;
  const startedAt = Date.now();
  await Promise.all(
    Array.from({ length: uploadConcurrency }, async () => {
      while (nextFile < files.length) {
        const file = files[nextFile++]!;
        const start = Date.now();
        const answer = await client.upload(event.id, file);
        uploadMs.push(Date.now() - start);
        uploadStart.set(answer.face_id, start);
      }
    }),
  );
  const uploadedAt = Date.now();

  // Polling the database is fine here: the figures come from the jobs' own timestamps.
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    const p = await deps.repositories.photos.progress(event.id);
    if (p.counts.pending + p.counts.processing === 0) break;
    if (Date.now() > deadline) throw new Error('photos still pending after 30 minutes');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const jobs = await deps.jobs.queue('photos').getJobs(['completed', 'failed']);
  const failedJobs = jobs.filter((j) => j.failedReason);
  const latency: number[] = [];
  const queueWait: number[] = [];
  const jobMs: number[] = [];
  let lastFinished = 0;
  for (const job of jobs) {
    const faceId = (job.data as { faceId: number }).faceId;
    const started = uploadStart.get(faceId);
    if (started === undefined || !job.finishedOn || !job.processedOn) continue;
    latency.push(job.finishedOn - started);
    queueWait.push(job.processedOn - job.timestamp);
    jobMs.push(job.finishedOn - job.processedOn);
    lastFinished = Math.max(lastFinished, job.finishedOn);
  }
  const pipelineSeconds = (lastFinished - startedAt) / 1000;
  const pipelinePps = processed.length / pipelineSeconds;
  const pipelineFaces = sum(processed.map((p) => p.faces));

  const pipelineLoad = loadAverage();
  // Stop the pipeline's engine and workers before measuring the engine again on a quiet process.
  await stopProcessing();

  // ------------------------------------------------------------------ engine alone (after), reference
  // Measured before and after: on a shared machine the load changes, and the mean is the fairer reference.
  const engineAfter = await measureEngine(files);
  console.log(`Engine alone, again: ${fmt(engineAfter.pps, 2)} photos/s (load average ${engineAfter.load})`);
  const analyzeMs = [...engineBefore.analyzeMs, ...engineAfter.analyzeMs];
  const decodeMs = [...engineBefore.decodeMs, ...engineAfter.decodeMs];
  const engineSeconds = (engineBefore.seconds + engineAfter.seconds) / 2;
  const enginePps = count / engineSeconds;
  const engineFaces = engineBefore.faces;
  const engineDetectMs = engineBefore.detectMs + engineAfter.detectMs;
  const decodeShare = sum(decodeMs) / sum(analyzeMs);
  const detectShare = engineDetectMs / sum(analyzeMs);

  // ------------------------------------------------------------------ report
  const n = processed.length;
  const avg = (key: 'fetch_ms' | 'analyze_ms' | 'previews_ms' | 'db_ms'): number => mean(processed.map((p) => p[key]));
  const analyze = avg('analyze_ms');
  const detect = clock.ms('detect') / n;
  const decode = analyze * decodeShare;
  const put = clock.ms('storage_put') / n;
  const job = mean(jobMs);
  const stages: [string, number][] = [
    ['storage: fetch original', avg('fetch_ms')],
    ['decode (est. from engine run)', decode],
    ['detect', detect],
    ['landmarks + align + embed', analyze - detect - decode],
    ['previews: resize + encode', avg('previews_ms') - put],
    ['storage: put previews', put],
    ['DB: embeddings + photo row', avg('db_ms')],
    ['other (row reads, BullMQ)', job - avg('fetch_ms') - analyze - avg('previews_ms') - avg('db_ms')],
  ];

  console.log(`\nPipeline: ${n}/${count} photos processed (${failedJobs.length} failed), worker concurrency ${concurrency}, ` +
    `ORT threads ${threads || 'default'}, ${uploadConcurrency} concurrent uploads (all uploaded in ${fmt((uploadedAt - startedAt) / 1000)} s), ` +
    `load average ${pipelineLoad}\n`);
  printTable([
    ['throughput', 'photos/s', 'faces/s', 'seconds'],
    ['face engine alone, before', fmt(engineBefore.pps, 2), fmt(engineBefore.faces / engineBefore.seconds, 2), fmt(engineBefore.seconds)],
    ['face engine alone, after', fmt(engineAfter.pps, 2), fmt(engineAfter.faces / engineAfter.seconds, 2), fmt(engineAfter.seconds)],
    ['face engine alone (mean)', fmt(enginePps, 2), fmt(engineFaces / engineSeconds, 2), fmt(engineSeconds)],
    ['pipeline: upload → done', fmt(pipelinePps, 2), fmt(pipelineFaces / pipelineSeconds, 2), fmt(pipelineSeconds)],
  ]);
  console.log('');
  printTable([
    ['latency per photo (ms)', 'p50', 'p99', 'mean'],
    ['upload → done', fmt(percentile(latency, 50), 0), fmt(percentile(latency, 99), 0), fmt(mean(latency), 0)],
    ['HTTP upload (API → S3 → row → queue)', fmt(percentile(uploadMs, 50), 0), fmt(percentile(uploadMs, 99), 0), fmt(mean(uploadMs), 0)],
    ['queue wait (backlog)', fmt(percentile(queueWait, 50), 0), fmt(percentile(queueWait, 99), 0), fmt(mean(queueWait), 0)],
    ['worker job', fmt(percentile(jobMs, 50), 0), fmt(percentile(jobMs, 99), 0), fmt(mean(jobMs), 0)],
  ]);
  console.log('');
  printTable([
    ['worker job split (mean per photo)', 'ms', 'share'],
    ...stages.map(([name, ms]) => [name, fmt(ms, 0), `${fmt((ms / job) * 100)} %`]),
    ['total', fmt(job, 0), '100.0 %'],
  ]);
  console.log(`\n(engine alone, per photo: decode ${fmt(mean(decodeMs), 0)} ms, detect ${fmt(engineDetectMs / (2 * count), 0)} ms, ` +
    `analyze ${fmt(mean(analyzeMs), 0)} ms; decode ${fmt(decodeShare * 100)} %, detect ${fmt(detectShare * 100)} % of analyze)`);
  const ratio = pipelinePps / enginePps;
  console.log(`\nPipeline / engine throughput: ${fmt(ratio * 100)} % — target ≥ 80 %: ${ratio >= 0.8 ? 'MET' : 'NOT MET'}`);
  // Measured inside the same jobs at the same moment, this share does not move with other processes' load
  // the way two wall-clock runs minutes apart do; with one job at a time it bounds pipeline/engine from above.
  console.log(`Engine share of the worker's job time: ${fmt((analyze / job) * 100)} % (pipeline overhead per photo: ${fmt(job - analyze, 0)} ms)`);
  if (failedJobs.length) console.log(`Failed jobs: ${failedJobs.map((j) => `${j.id}: ${j.failedReason}`).join('; ')}`);
} finally {
  for (const step of cleanup.reverse()) await step().catch((error: unknown) => console.error('cleanup:', error));
}
