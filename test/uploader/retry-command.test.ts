import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { groupPhoto, johns } from '../helpers/dev-event.js';
import { testModelDir } from '../vision/fixtures.js';
import { keyOf, newEvent, runCommand } from './upload.helpers.js';
import { registerRetryCommand } from '../../src/uploader/retry.command.js';
import { startJobWorkers, type JobWorkers } from '../../src/queue/job-worker.js';
import { createJobHandlers } from '../../src/workers/index.js';
import { createFaceEngine, type FaceEngine } from '../../src/vision/index.js';

/**
 * `facepass retry`: the console's retry buttons for scripts. Photos failed by a cause that went away
 * (their jobs lost while no worker ran, so the ingest sweep gave up on them) are queued again, one by
 * id or all of an event's at once, and `--wait` follows them to `done` with the real engine.
 */
describe('facepass retry', () => {
  let t: TestApp;
  let pipeline: TestPipeline;
  let engine: FaceEngine | undefined;
  let workers: JobWorkers | undefined;
  let owner: Awaited<ReturnType<TestApp['photographer']>>;
  let env: Record<string, string>;
  let eventId: number;
  const failed: number[] = [];

  before(async () => {
    // SWEEP_MAX_REQUEUES=0: the first sweep that finds a photo without a job marks it failed.
    t = await createTestApp({ env: { SWEEP_MAX_REQUEUES: '0', SWEEP_LEASE_SECONDS: '600' } });
    pipeline = await startPipeline(t); // no worker yet: uploads stay queued
    owner = await t.photographer();
    env = { FACEPASS_URL: pipeline.api.replace(/\/api\/v1$/, ''), FACEPASS_API_KEY: keyOf(owner) };
    eventId = await newEvent(t, owner, { name: 'Retry CLI' });
    const people = await johns();
    for (let i = 0; i < 2; i++) {
      const form = new FormData();
      form.append('event_id', String(eventId));
      form.append('file', new Blob([await groupPhoto([people[i]!.files[0]!], i)]), `c${i}.jpg`);
      const res = await fetch(`${pipeline.api}/faces/upload`, { method: 'POST', headers: owner.headers, body: form });
      assert.equal(res.status, 201);
      const up = (await res.json()) as { face_id: number; task_id: string };
      assert.equal(await t.deps.jobs.queue('photos').remove(up.task_id), 1);
      failed.push(up.face_id);
    }
    assert.equal((await t.deps.services.ingestSweep.sweep(new Date(Date.now() + 601_000))).failed, 2);
  });
  after(async () => {
    await workers?.close();
    await engine?.close();
    await pipeline.close();
    await t.close();
  });

  const status = async (id: number) => (await t.deps.repositories.photos.findById(id))!.status;
  const retry = (args: string[], withEnv: Record<string, string> = env) => runCommand(registerRetryCommand, ['retry', ...args], withEnv);

  it('needs a key, and another photographer gets the API\u2019s 404 as one line', async () => {
    const noKey = await retry(['--event', String(eventId)], { FACEPASS_URL: env.FACEPASS_URL! });
    assert.match(noKey.error?.message ?? '', /No API key/);
    const stranger = await t.photographer();
    const foreign = await retry(['--event', String(eventId)], { ...env, FACEPASS_API_KEY: keyOf(stranger) });
    assert.match(foreign.error?.message ?? '', /\(404\)$/);
    const bad = await retry(['--event', 'x']);
    assert.match(bad.error?.message ?? '', /positive integer/);
    for (const id of failed) assert.equal(await status(id), 'failed');
  });

  it('requeues the --photo ids it can and reports the others without stopping (exit 1)', async () => {
    const run = await retry(['--event', String(eventId), '--photo', String(failed[0]), '--photo', '2000000000', '--json']);
    assert.equal(run.error, undefined, run.error?.message);
    assert.equal(run.exitCode, 1);
    const out = JSON.parse(run.stdout) as { requeued: number; refused: { photo_id: number; status: number; error: string }[] };
    assert.equal(out.requeued, 1);
    assert.deepEqual(out.refused.map((r) => [r.photo_id, r.status, r.error]), [[2000000000, 404, 'not_found']]);
    assert.equal(await status(failed[0]!), 'pending');
    assert.equal(await status(failed[1]!), 'failed');
  });

  it('requeues every failed photo of the event and --wait follows them to done', async () => {
    engine = await createFaceEngine({ modelDir: testModelDir() });
    workers = startJobWorkers({
      connection: t.deps.redis,
      prefix: t.deps.config.queue.prefix,
      concurrency: 1,
      handlers: createJobHandlers(t.deps, { engine }),
      logger: t.deps.logger,
      metrics: t.deps.metrics,
    });
    const run = await retry(['--event', String(eventId), '--wait']);
    assert.equal(run.error, undefined, run.error?.message);
    assert.equal(run.exitCode, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^Queued 1 photo\(s\) of event \d+ for processing again\./);
    assert.match(run.stdout, /Processing 2\/2 photos/);
    assert.match(run.stdout, /Every photo was processed\./);
    for (const id of failed) assert.equal(await status(id), 'done');

    // Nothing failed any more: a second run says so and queues nothing.
    const again = await retry(['--event', String(eventId)]);
    assert.equal(again.exitCode, 0);
    assert.match(again.stdout, /No failed photo to retry/);
  });
});
