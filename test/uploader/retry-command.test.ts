import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startPipeline, startRealWorkers, type TestPipeline } from '../helpers/pipeline.js';
import { FAIL_ON_FIRST_SWEEP, failedUploads } from '../helpers/failed-photos.js';
import { keyOf, newEvent, runCommand } from './upload.helpers.js';
import { registerRetryCommand } from '../../src/uploader/retry.command.js';

/**
 * `facepass retry`: the console's retry buttons for scripts. Photos failed by a cause that went away
 * (their jobs lost while no worker ran, so the ingest sweep gave up on them) are queued again, one by
 * id or all of an event's at once, and `--wait` follows them to `done` with the real engine.
 */
describe('facepass retry', () => {
  let t: TestApp;
  let pipeline: TestPipeline;
  let workers: { close(): Promise<void> } | undefined;
  let owner: Awaited<ReturnType<TestApp['photographer']>>;
  let env: Record<string, string>;
  let eventId: number;
  let failed: number[] = [];

  before(async () => {
    t = await createTestApp({ env: FAIL_ON_FIRST_SWEEP });
    pipeline = await startPipeline(t); // no worker yet: uploads stay queued
    owner = await t.photographer();
    env = { FACEPASS_URL: pipeline.api.replace(/\/api\/v1$/, ''), FACEPASS_API_KEY: keyOf(owner) };
    eventId = await newEvent(t, owner, { name: 'Retry CLI' });
    failed = await failedUploads(t, pipeline.api, owner, eventId, 2);
  });
  after(async () => {
    await workers?.close();
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
    workers = await startRealWorkers(t);
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
