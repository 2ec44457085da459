import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { tempDir } from '../helpers/services.js';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { devDataDir } from '../vision/fixtures.js';
import { keyOf, listen, newEvent, runUpload, writeImage } from './upload.helpers.js';
import { defaultWaitTimeoutMs } from '../../src/uploader/processing.waiter.js';

describe('facepass upload --wait with real workers', () => {
  let t: TestApp;
  let pipeline: TestPipeline;
  let url: string;
  let folder: { dir: string; remove(): Promise<void> };

  before(async () => {
    t = await createTestApp();
    pipeline = await startPipeline(t, { workers: true });
    url = pipeline.api.replace(/\/api\/v1$/, '');
    folder = await tempDir('facepass-upload-');
    const faces = path.join(await devDataDir(), 'faces');
    await fs.copyFile(path.join(faces, '2008_001009.jpg'), path.join(folder.dir, 'first.jpg'));
    await fs.copyFile(path.join(faces, '2008_002470.jpg'), path.join(folder.dir, 'second.jpg'));
    // A JPEG cut short: accepted on upload (the header is right), fails in processing.
    await fs.writeFile(path.join(folder.dir, 'cut.jpg'), (await fs.readFile(path.join(faces, '2008_001009.jpg'))).subarray(0, 2000));
  });
  after(async () => {
    await pipeline.close();
    await folder.remove();
    await t.close();
  });

  it('uploads, waits until every photo is processed, and lists processing failures', async () => {
    const owner = await t.photographer();
    const eventId = await newEvent(t, owner);
    const env = { FACEPASS_URL: url, FACEPASS_API_KEY: keyOf(owner) };

    const run = await runUpload(['--event', String(eventId), '--wait', folder.dir], env);
    assert.equal(run.error, undefined, run.error?.message);
    assert.equal(run.exitCode, 1, 'cut.jpg failed in processing');
    assert.match(run.stdout, /^Uploaded 3 new photos/);
    assert.match(run.stdout, /Processing 3\/3 photos {2}\d+ faces/);
    assert.match(run.stdout, /Processing failed for 1 photo\(s\):\n {2}cut\.jpg: Not a readable image/);
    assert.match(run.stderr, /Processing 3\/3 photos/);

    const photos = await t.deps.services.photos.list(owner.id, eventId, { offset: 0, limit: 10 });
    assert.deepEqual(photos.items.map((p) => [p.original_name, p.status]).sort(), [['cut.jpg', 'failed'], ['first.jpg', 'done'], ['second.jpg', 'done']]);

    // Again, as JSON: nothing to upload, processing already complete.
    const again = await runUpload(['--event', String(eventId), '--wait', '--json', folder.dir], env);
    const json = JSON.parse(again.stdout) as {
      upload: { uploaded: number; skipped: number };
      processing: { progress: { total: number; done: number; failed: number; faces: number; complete: boolean }; failures: { original_name: string; error: string }[] };
    };
    assert.equal(json.upload.uploaded, 0);
    assert.equal(json.upload.skipped, 3);
    assert.equal(json.processing.progress.complete, true);
    assert.equal(json.processing.progress.done, 2);
    assert.ok(json.processing.progress.faces >= 3, `faces: ${json.processing.progress.faces}`);
    assert.deepEqual(json.processing.failures.map((f) => f.original_name), ['cut.jpg']);
    assert.equal(again.exitCode, 1);
  });
});

describe('facepass upload --wait-timeout', () => {
  let t: TestApp;
  let url: string;
  let folder: { dir: string; remove(): Promise<void> };

  before(async () => {
    t = await createTestApp();
    // The API only: no worker ever processes these photos, as when every worker is down.
    url = await listen(t);
    folder = await tempDir('facepass-upload-');
    for (let i = 0; i < 2; i++) await writeImage(path.join(folder.dir, `still-${i}.jpg`), i, 'jpeg');
  });
  after(async () => {
    await folder.remove();
    await t.close();
  });

  it('gives up at the deadline, lists the photos still pending, and exits with code 2', async () => {
    const owner = await t.photographer();
    const eventId = await newEvent(t, owner);
    const env = { FACEPASS_URL: url, FACEPASS_API_KEY: keyOf(owner) };
    const started = performance.now();
    const run = await runUpload(['--event', String(eventId), '--wait', '--wait-timeout', '1', folder.dir], env);
    assert.equal(run.error, undefined, run.error?.message);
    assert.ok(performance.now() - started < 30_000, 'it did not wait for processing that never comes');
    assert.equal(run.exitCode, 2);
    assert.match(run.stderr, /Gave up waiting after \d+ s \(--wait-timeout\): 2 photo\(s\) not processed yet:\n {2}still-0\.jpg: pending\n {2}still-1\.jpg: pending/);
    assert.doesNotMatch(run.stdout, /Every photo was processed/);

    const json = await runUpload(['--event', String(eventId), '--wait', '--wait-timeout', '1', '--json', folder.dir], env);
    assert.equal(json.exitCode, 2);
    const out = JSON.parse(json.stdout) as { processing: { timedOut: boolean; unfinished: { original_name: string; status: string }[] } };
    assert.equal(out.processing.timedOut, true);
    assert.deepEqual(out.processing.unfinished.map((p) => [p.original_name, p.status]), [['still-0.jpg', 'pending'], ['still-1.jpg', 'pending']]);
  });

  it('refuses a timeout that is not a positive number of seconds', async () => {
    const run = await runUpload(['--event', '1', '--wait', '--wait-timeout', '0', folder.dir], { FACEPASS_URL: url, FACEPASS_API_KEY: 'x' });
    assert.ok(run.error);
    assert.match(run.stderr, /--wait-timeout.*expected an integer/);
  });
});

describe('default --wait deadline', () => {
  it('is 2 hours, or 10 s per photo left when that is longer', () => {
    assert.equal(defaultWaitTimeoutMs({ pending: 10, processing: 1 }), 2 * 3600_000);
    assert.equal(defaultWaitTimeoutMs({ pending: 9_000, processing: 4 }), 9_004 * 10_000);
  });
});
