import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { tempDir } from '../helpers/services.js';
import { uploadFolder, UploadError } from '../../src/uploader/folder.uploader.js';
import { hashFile, scanImageFiles } from '../../src/uploader/image-files.scanner.js';
import { keyOf, listen, newEvent, recordingReporter, runUpload, writeImage } from './upload.helpers.js';

describe('facepass upload against the real API (no worker: photos stay pending)', () => {
  let t: TestApp;
  let url: string;
  let owner: { id: number; headers: { authorization: string } };
  let key: string;
  let folder: { dir: string; remove(): Promise<void> };

  before(async () => {
    t = await createTestApp();
    url = await listen(t);
    owner = await t.photographer();
    key = keyOf(owner);
    folder = await tempDir('facepass-upload-');
    const d = folder.dir;
    // Three distinct images (one in a subfolder, one with an upper-case extension), a byte copy of one,
    // a text file named .jpg, a hidden image and a non-image file.
    await writeImage(path.join(d, 'a.jpg'), 1, 'jpeg');
    await writeImage(path.join(d, 'sub/deeper/b.PNG'), 2, 'png');
    await writeImage(path.join(d, 'sub/c.jpeg'), 3, 'jpeg');
    await fs.copyFile(path.join(d, 'a.jpg'), path.join(d, 'sub/a-copy.jpg'));
    await fs.writeFile(path.join(d, 'fake.jpg'), 'this is a text file, not a photo');
    await writeImage(path.join(d, '.hidden.jpg'), 4, 'jpeg');
    await fs.mkdir(path.join(d, '.thumbnails'));
    await writeImage(path.join(d, '.thumbnails/t.jpg'), 5, 'jpeg');
    await fs.writeFile(path.join(d, 'notes.txt'), 'shot list');
  });
  after(async () => {
    await folder.remove();
    await t.close();
  });

  const countPhotos = async (): Promise<number> =>
    Number((await t.deps.dbs.main.selectFrom('faces').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it('finds image files by extension, skipping hidden files and other extensions', async () => {
    const scan = await scanImageFiles([folder.dir, path.join(folder.dir, 'a.jpg')]);
    assert.deepEqual(
      scan.files.map((f) => path.relative(folder.dir, f.path)),
      ['a.jpg', 'fake.jpg', 'sub/a-copy.jpg', 'sub/c.jpeg', 'sub/deeper/b.PNG'],
    );
    assert.equal(scan.ignored, 1, 'notes.txt');
    await assert.rejects(scanImageFiles([path.join(folder.dir, 'missing')]), /No such file or folder/);
  });

  it('uploads every valid image once, lists failures with reasons, then resumes by hash with zero uploads', async () => {
    const eventId = await newEvent(t, owner);
    const reporter = recordingReporter();
    const first = await uploadFolder({ url, apiKey: key, eventId, paths: [folder.dir], concurrency: 3 }, reporter);
    assert.equal(first.uploaded, 3);
    assert.equal(first.duplicates, 1, 'the byte copy of a.jpg');
    assert.equal(first.skipped, 0);
    assert.equal(first.ignored, 1);
    assert.equal(first.notAttempted, 0);
    assert.equal(first.aborted, undefined);
    assert.deepEqual(first.failed.map((f) => [path.basename(f.file), f.status]), [['fake.jpg', 415]]);
    assert.match(first.failed[0]!.reason, /not a supported image/);
    assert.ok(first.bytes > 0 && first.seconds >= 0);
    assert.equal(await t.deps.repositories.photos.countByEvent(eventId), 3);

    const last = reporter.updates.at(-1)!;
    assert.equal(reporter.updates[0]!.filesDone, 0);
    assert.equal(last.filesDone, 5);
    assert.equal(last.filesTotal, 5);
    assert.equal(last.bytesDone, last.bytesTotal);
    assert.deepEqual(reporter.finished, [first]);

    // The server keeps the same SHA-256 the uploader computes.
    const server = await t.deps.services.photos.hashes(owner.id, eventId);
    assert.ok(server.includes(await hashFile(path.join(folder.dir, 'a.jpg'))));

    const second = await uploadFolder({ url, apiKey: key, eventId, paths: [folder.dir] }, recordingReporter());
    assert.equal(second.uploaded, 0);
    assert.equal(second.skipped, 4, 'the three images and the copy are already there');
    assert.equal(second.bytes, 0);
    assert.deepEqual(second.failed.map((f) => path.basename(f.file)), ['fake.jpg']);
    assert.equal(await t.deps.repositories.photos.countByEvent(eventId), 3);
  });

  it('stops with a clear error on a wrong key, uploading nothing', async () => {
    const eventId = await newEvent(t, owner);
    const before = await countPhotos();
    await assert.rejects(
      uploadFolder({ url, apiKey: 'fp_wrong', eventId, paths: [folder.dir] }, recordingReporter()),
      (error: Error) => error instanceof UploadError && error.status === 401 && /API key was rejected/.test(error.message),
    );
    assert.equal(await countPhotos(), before);
  });

  it('stops with a clear error on an unknown or foreign event, uploading nothing', async () => {
    const stranger = await t.photographer();
    const foreign = await newEvent(t, stranger);
    const before = await countPhotos();
    for (const eventId of [999999, foreign]) {
      const reporter = recordingReporter();
      await assert.rejects(
        uploadFolder({ url, apiKey: key, eventId, paths: [folder.dir] }, reporter),
        (error: Error) => error instanceof UploadError && error.status === 404 && new RegExp(`Event ${eventId} was not found`).test(error.message),
      );
      assert.equal(reporter.updates.length, 0);
    }
    assert.equal(await countPhotos(), before);
  });

  it('aborts on an inactive event after the first refusal', async () => {
    const eventId = await newEvent(t, owner);
    await t.app.inject({ method: 'PATCH', url: `/api/v1/events/${eventId}`, headers: owner.headers, payload: { is_active: false } });
    const summary = await uploadFolder({ url, apiKey: key, eventId, paths: [folder.dir], concurrency: 1 }, recordingReporter());
    assert.match(summary.aborted ?? '', /does not take uploads \(409\)/);
    assert.equal(summary.uploaded, 0);
    assert.equal(summary.failed.length, 1);
    assert.equal(summary.failed[0]!.status, 409);
    assert.equal(summary.notAttempted, 4);
    assert.equal(await t.deps.repositories.photos.countByEvent(eventId), 0);
  });

  it('runs as a command: human summary, --json summary, exit codes, missing key', async () => {
    const eventId = await newEvent(t, owner);
    const good = path.join(folder.dir, 'sub');
    const human = await runUpload(['--event', String(eventId), '--url', url, good], { FACEPASS_API_KEY: key });
    assert.equal(human.error, undefined);
    assert.equal(human.exitCode, 0, human.stdout + human.stderr);
    assert.match(human.stdout, /^Uploaded 3 new photos \([\d.]+ MB in [\d.]+ s, [\d.]+ MB\/s\)\.\n$/);
    assert.match(human.stderr, /Uploading 3\/3 files/);

    const json = await runUpload(['--event', String(eventId), '--json', '--concurrency', '2', folder.dir], { FACEPASS_URL: url, FACEPASS_API_KEY: key });
    assert.equal(json.exitCode, 1, 'fake.jpg failed');
    assert.equal(json.stderr, '', 'no progress lines on a pipe with --json');
    const parsed = JSON.parse(json.stdout) as { event_id: number; upload: { uploaded: number; skipped: number; failed: { file: string; status: number; reason: string }[] } };
    assert.equal(parsed.event_id, eventId);
    assert.equal(parsed.upload.uploaded, 0);
    assert.equal(parsed.upload.skipped, 4, 'a.jpg has the bytes of sub/a-copy.jpg, uploaded before');
    assert.deepEqual(parsed.upload.failed.map((f) => [path.basename(f.file), f.status]), [['fake.jpg', 415]]);

    const withFailure = await runUpload(['--event', String(eventId), '--url', url, '--key', key, folder.dir], {});
    assert.equal(withFailure.exitCode, 1);
    assert.match(withFailure.stdout, /Failed \(1\):\n {2}.*fake\.jpg: 415 The file is not a supported image/);

    const noKey = await runUpload(['--event', String(eventId), '--url', url, folder.dir], {});
    assert.match(noKey.error?.message ?? '', /No API key: pass --key <apiKey> or set FACEPASS_API_KEY/);
    const wrongKey = await runUpload(['--event', String(eventId), '--url', url, '--key', 'fp_nope', folder.dir], {});
    assert.match(wrongKey.error?.message ?? '', /API key was rejected \(401\)/);
    const badEvent = await runUpload(['--event', 'abc', '--key', key, folder.dir], {});
    assert.match(badEvent.stderr, /--event <id>.*expected an integer/);
  });
});

describe('facepass upload when the server cannot store photos', () => {
  it('retries 503 with backoff, then lists the files as failed', async () => {
    const t = await createTestApp({ env: { S3_ENDPOINT: 'http://127.0.0.1:9', S3_BUCKET: 'down', S3_ACCESS_KEY_ID: 'a', S3_SECRET_ACCESS_KEY: 'b' } });
    const folder = await tempDir('facepass-upload-');
    try {
      const url = await listen(t);
      const owner = await t.photographer();
      const eventId = await newEvent(t, owner);
      await writeImage(path.join(folder.dir, 'one.jpg'), 7, 'jpeg');
      const reporter = recordingReporter();
      const summary = await uploadFolder({ url, apiKey: keyOf(owner), eventId, paths: [folder.dir], attempts: 3, retryDelayMs: 1 }, reporter);
      assert.equal(summary.uploaded, 0);
      assert.deepEqual(summary.failed.map((f) => [path.basename(f.file), f.status]), [['one.jpg', 503]]);
      assert.match(summary.failed[0]!.reason, /unavailable/);
      assert.equal(reporter.retries.length, 2, reporter.retries.join('\n'));
      assert.match(reporter.retries[0]!, /^one\.jpg#1: /);
    } finally {
      await folder.remove();
      await t.close();
    }
  });

  it('reports an unreachable server clearly', async () => {
    const folder = await tempDir('facepass-upload-');
    try {
      await writeImage(path.join(folder.dir, 'one.jpg'), 8, 'jpeg');
      // A port that was just free: connection refused, retried, then a clear error.
      const probe = net.createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const port = (probe.address() as net.AddressInfo).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      await assert.rejects(
        uploadFolder({ url: `http://127.0.0.1:${port}`, apiKey: 'fp_x', eventId: 1, paths: [folder.dir], retryDelayMs: 1 }, recordingReporter()),
        (error: Error) => error instanceof UploadError && error.message === `Cannot reach http://127.0.0.1:${port}/api/v1: ECONNREFUSED`,
      );
    } finally {
      await folder.remove();
    }
  });
});
