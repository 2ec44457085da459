import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { tempDir } from '../helpers/services.js';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { devDataDir } from '../vision/fixtures.js';
import { keyOf, newEvent, runUpload } from './upload.helpers.js';

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
