import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { keyOf, listen, newEvent, runUpload, writeImage } from './upload.helpers.js';
import { createFacePassClient, type FacePassClient } from '../../src/uploader/facepass.client.js';
import { watchFolder, type WatchStatus } from '../../src/uploader/folder.watcher.js';

describe('facepass upload --watch: the hot folder', () => {
  let t: TestApp;
  let url: string;
  let owner: { id: number; headers: { authorization: string } };
  let root: string;

  before(async () => {
    t = await createTestApp({ storage: 'local' });
    url = await listen(t);
    owner = await t.photographer();
    root = await fs.mkdtemp(path.join(t.deps.config.dataDir, 'hot-'));
  });
  after(async () => {
    await t.close();
  });

  const photoCount = async (event: number) => (await t.deps.repositories.photos.listByEvent(event, { offset: 0, limit: 1000 })).total;

  /** A client that records every upload it makes, with its live flag. */
  const recordingClient = (uploads: { file: string; live: boolean }[]): FacePassClient => {
    const real = createFacePassClient({ url, apiKey: keyOf(owner) });
    return {
      ...real,
      upload: async (eventId, file, options) => {
        uploads.push({ file: path.basename(file), live: options?.live ?? false });
        return real.upload(eventId, file, options);
      },
    };
  };

  /** Runs the watcher until stopped; `until` resolves once the status matches. */
  const startWatching = (folder: string, eventId: number, client: FacePassClient, stableMs = 300) => {
    const controller = new AbortController();
    const waiters: { match: (s: WatchStatus) => boolean; resolve: (s: WatchStatus) => void }[] = [];
    let latest: WatchStatus | undefined;
    const notes: string[] = [];
    const done = watchFolder(
      { url, apiKey: keyOf(owner), eventId, folder, signal: controller.signal, stableMs, client, retryDelayMs: 50 },
      {
        status: (s) => {
          latest = s;
          for (const w of [...waiters]) {
            if (!w.match(s)) continue;
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(s);
          }
        },
        note: (m) => notes.push(m),
      },
    );
    return {
      notes,
      until: (match: (s: WatchStatus) => boolean, timeoutMs = 20_000): Promise<WatchStatus> =>
        latest && match(latest)
          ? Promise.resolve(latest)
          : new Promise((resolve, reject) => {
              const timer = setTimeout(() => reject(new Error(`watch status not reached: ${JSON.stringify(latest)} notes=${notes.join('; ')}`)), timeoutMs);
              waiters.push({ match, resolve: (s) => (clearTimeout(timer), resolve(s)) });
            }),
      stop: async () => {
        controller.abort();
        return done;
      },
    };
  };

  it('sends a file written slowly once, after it stops growing, marked live', async () => {
    const eventId = await newEvent(t, owner, { name: 'Slow' });
    const folder = path.join(root, 'slow');
    await fs.mkdir(folder);
    const uploads: { file: string; live: boolean }[] = [];
    const watching = startWatching(folder, eventId, recordingClient(uploads), 400);
    await watching.until((s) => s.ready);

    const source = path.join(root, 'slow-source.jpg');
    await writeImage(source, 3, 'jpeg');
    const bytes = await fs.readFile(source);
    // Written in 6 chunks 100 ms apart, well under the 400 ms stability window.
    const target = path.join(folder, 'DSC_0001.JPG');
    const handle = await fs.open(target, 'w');
    const step = Math.ceil(bytes.length / 6);
    for (let i = 0; i < bytes.length; i += step) {
      await handle.write(bytes.subarray(i, i + step));
      await handle.sync();
      await new Promise((r) => setTimeout(r, 100));
    }
    await handle.close();

    const status = await watching.until((s) => s.sent === 1 && s.pending === 0);
    assert.equal(status.failed, 0, watching.notes.join('\n'));
    assert.deepEqual(uploads, [{ file: 'DSC_0001.JPG', live: true }]);
    const [photo] = (await t.deps.repositories.photos.listByEvent(eventId, { offset: 0, limit: 10 })).items;
    assert.equal(photo?.size_bytes, bytes.length, 'the whole file was sent, not a prefix');
    const final = await watching.stop();
    assert.equal(final.sent, 1);
    assert.equal(uploads.length, 1);
  });

  it('sends nothing again after a restart, and sends what appeared meanwhile', async () => {
    const eventId = await newEvent(t, owner, { name: 'Restart' });
    const folder = path.join(root, 'restart');
    await writeImage(path.join(folder, 'a.jpg'), 21, 'jpeg');
    await writeImage(path.join(folder, 'nested', 'b.png'), 22, 'png');
    await fs.writeFile(path.join(folder, 'notes.txt'), 'not a photo');

    const firstUploads: { file: string; live: boolean }[] = [];
    const first = startWatching(folder, eventId, recordingClient(firstUploads));
    await first.until((s) => s.ready && s.sent === 2 && s.pending === 0);
    await first.stop();
    assert.equal(await photoCount(eventId), 2);

    // While the watcher is down the photographer keeps shooting.
    await writeImage(path.join(folder, 'c.jpg'), 23, 'jpeg');
    const secondUploads: { file: string; live: boolean }[] = [];
    const second = startWatching(folder, eventId, recordingClient(secondUploads));
    await second.until((s) => s.ready && s.sent === 1 && s.pending === 0);
    // And after the restart.
    await writeImage(path.join(folder, 'd.jpg'), 24, 'jpeg');
    await second.until((s) => s.sent === 2 && s.pending === 0);
    const final = await second.stop();
    assert.deepEqual(secondUploads.map((u) => u.file).sort(), ['c.jpg', 'd.jpg']);
    assert.equal(final.duplicates, 0);
    assert.equal(await photoCount(eventId), 4);
    const state = await fs.readFile(path.join(folder, `.facepass-sent-${eventId}.jsonl`), 'utf8');
    assert.equal(state.trim().split('\n').length, 4);
  });

  it('skips files the server already has (sent from elsewhere) without uploading them', async () => {
    const eventId = await newEvent(t, owner, { name: 'Known' });
    const folder = path.join(root, 'known');
    await writeImage(path.join(folder, 'x.jpg'), 31, 'jpeg');
    const bulk = await runUpload(['--event', String(eventId), '--url', url, '--key', keyOf(owner), folder], {});
    assert.equal(bulk.exitCode, 0, bulk.stdout + bulk.stderr);
    const uploads: { file: string; live: boolean }[] = [];
    const watching = startWatching(folder, eventId, recordingClient(uploads));
    await watching.until((s) => s.ready && s.skipped === 1 && s.pending === 0);
    await watching.stop();
    assert.deepEqual(uploads, []);
  });

  it('runs from the CLI and stops cleanly on Ctrl-C with a summary', async () => {
    const eventId = await newEvent(t, owner, { name: 'CLI' });
    const folder = path.join(root, 'cli');
    await writeImage(path.join(folder, 'one.jpg'), 41, 'jpeg');
    const interrupt = new AbortController();
    const run = runUpload(['--event', String(eventId), '--url', url, '--key', keyOf(owner), '--watch', folder, '--stable-ms', '200'], {}, interrupt.signal);
    // Wait for the photo on the server, then press Ctrl-C.
    const deadline = Date.now() + 20_000;
    while ((await photoCount(eventId)) < 1) {
      assert.ok(Date.now() < deadline, 'the hot folder never sent the photo');
      await new Promise((r) => setTimeout(r, 50));
    }
    interrupt.abort();
    const result = await run;
    assert.equal(result.exitCode, 0, result.stderr + String(result.error));
    assert.match(result.stdout, /Stopped watching: 1 sent/);

    const bad = await runUpload(['--event', String(eventId), '--url', url, '--key', keyOf(owner), '--watch', folder, folder], {});
    assert.match(String(bad.error), /--watch takes one folder/);
    const foreign = await newEvent(t, await t.photographer(), { name: 'Not mine' });
    const refused = await runUpload(['--event', String(foreign), '--url', url, '--key', keyOf(owner), '--watch', folder], {});
    assert.match(String(refused.error), /404/);
  });

  it('accepts live=true on the upload form and refuses a malformed live field', async () => {
    const eventId = await newEvent(t, owner, { name: 'Field' });
    const file = path.join(root, 'field.jpg');
    await writeImage(file, 51, 'jpeg');
    const send = async (live: string) => {
      const form = new FormData();
      form.append('event_id', String(eventId));
      form.append('live', live);
      form.append('file', new Blob([await fs.readFile(file)], { type: 'image/jpeg' }), 'field.jpg');
      return fetch(`${url}/api/v1/faces/upload`, { method: 'POST', headers: owner.headers, body: form });
    };
    const bad = await send('maybe');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { details: { field: string } }).details.field, 'live');
    assert.equal((await send('true')).status, 201);
  });
});
