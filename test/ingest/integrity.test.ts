import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { groupPhoto, johns } from '../helpers/dev-event.js';
import { createDeleteEventHandler } from '../../src/workers/delete-event.worker.js';
import { createFaceCohortService } from '../../src/services/face-cohort.service.js';
import { createPhotoProcessingService } from '../../src/services/photo-processing.service.js';
import { createPhotoService } from '../../src/services/photo.service.js';
import { HEADER_BYTES } from '../../src/services/image-format.js';
import { createJobHandlers } from '../../src/workers/index.js';
import { startJobWorkers } from '../../src/queue/job-worker.js';
import { createJobProducer } from '../../src/queue/job-producer.js';
import { createS3Storage } from '../../src/storage/s3-storage.js';
import { UnavailableError } from '../../src/errors.js';
import { createFaceEngine, type FaceEngine } from '../../src/vision/index.js';
import { testModelDir } from '../vision/fixtures.js';

type Json = Record<string, unknown>;

let engine: FaceEngine;
before(async () => {
  engine = await createFaceEngine({ modelDir: testModelDir() });
});
after(async () => {
  await engine.close();
});

/** A real group photo of two of dlib's "johns" (seeded, so each call with a new seed is a new file). */
async function photo(seed: number): Promise<Buffer> {
  const people = await johns();
  return groupPhoto([people[seed % 5]!.files[seed % 11]!, people[(seed + 1) % 5]!.files[(seed + 3) % 11]!], seed);
}

/** Polls an observable condition (not a timer standing in for one) until it holds. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check()); ) {
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function uploadVia(api: string, headers: Json, eventId: number, body: Buffer, name = 'p.jpg') {
  const form = new FormData();
  form.append('event_id', String(eventId));
  form.append('file', new Blob([body], { type: 'image/jpeg' }), name);
  const res = await fetch(`${api}/faces/upload`, { method: 'POST', headers: headers as Record<string, string>, body: form });
  return { status: res.status, body: (await res.json()) as Json };
}

describe('an event deleted while a photo of it is uploaded or processed', () => {
  let t: TestApp;
  let pipeline: TestPipeline;
  let owner: { id: number; headers: { authorization: string } };

  before(async () => {
    // Local storage: the half-written upload is visible on disk, which tells the test where the server is.
    t = await createTestApp({ storage: 'local' });
    pipeline = await startPipeline(t, { handlers: { 'delete-event': createDeleteEventHandler({ cleanup: t.deps.services.eventCleanup }) } });
    owner = await t.photographer();
  });
  after(async () => {
    await pipeline.close();
    await t.close();
  });

  const newEvent = async (): Promise<number> =>
    (await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: owner.headers, payload: { name: 'Race' } })).json<{ id: number }>().id;

  const leftovers = async (eventId: number) => ({
    photos: await t.deps.repositories.photos.countByEvent(eventId),
    embeddings: await t.deps.repositories.embeddings.countByEvent(eventId),
    // Every file under the event's folder, temporary ones included.
    files: await fs.readdir(path.join(t.deps.config.dataDir, 'photos', 'events', String(eventId)), { recursive: true }).then(
      (names) => names.length,
      () => 0,
    ),
  });

  it('refuses an upload whose event is deleted mid-body (404) and keeps nothing of it', async () => {
    const eventId = await newEvent();
    // Larger than the server's read-ahead (the header it checks before storing anything), so that
    // after the first part is sent the upload is streaming to storage and still mid-body.
    const file = await sharp(await photo(1)).resize(3000).jpeg({ quality: 98 }).toBuffer();
    const sent = HEADER_BYTES + 4096;
    assert.ok(file.length > sent + 4096, `the photo (${file.length} bytes) is still mid-body after ${sent}`);
    const url = new URL(`${pipeline.api}/faces/upload`);
    const boundary = '----facepass-race';
    const preamble = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="event_id"\r\n\r\n${eventId}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="race.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    );
    const epilogue = Buffer.from(`\r\n--${boundary}--\r\n`);
    const req = http.request(url, {
      method: 'POST',
      headers: {
        ...owner.headers,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': preamble.length + file.length + epilogue.length,
      },
    });
    const response = new Promise<{ status: number; body: Json }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Json }));
      });
      req.on('error', reject);
    });
    req.write(Buffer.concat([preamble, file.subarray(0, sent)]));
    // The server has checked the event and is streaming the file once its temporary file exists.
    const folder = path.join(t.deps.config.dataDir, 'photos', 'events', String(eventId));
    await until('the upload streams to disk', async () => (await fs.readdir(folder).catch(() => [])).some((f) => f.startsWith('.tmp-')));

    const deletion = await t.app.inject({ method: 'DELETE', url: `/api/v1/events/${eventId}`, headers: owner.headers });
    assert.equal(deletion.statusCode, 202);
    const purged = await pipeline.waitForJob('maintenance', deletion.json<{ task_id: string }>().task_id);
    assert.deepEqual(purged, { photos: 0, embeddings: 0, objects: 0 });

    req.end(Buffer.concat([file.subarray(sent), epilogue]));
    const res = await response;
    assert.equal(res.status, 404, JSON.stringify(res.body));
    assert.deepEqual(await leftovers(eventId), { photos: 0, embeddings: 0, files: 0 });
  });

  it('an upload that commits first is seen and removed by the deletion cascade', async () => {
    const eventId = await newEvent();
    const up = await uploadVia(pipeline.api, owner.headers, eventId, await photo(2));
    assert.equal(up.status, 201);
    const deletion = await t.app.inject({ method: 'DELETE', url: `/api/v1/events/${eventId}`, headers: owner.headers });
    const purged = await pipeline.waitForJob('maintenance', deletion.json<{ task_id: string }>().task_id);
    assert.deepEqual(purged, { photos: 1, embeddings: 0, objects: 1 });
    assert.deepEqual(await leftovers(eventId), { photos: 0, embeddings: 0, files: 0 });
  });

  it('processing writes no embeddings or previews for a photo whose event was deleted', async () => {
    const eventId = await newEvent();
    const up = await uploadVia(pipeline.api, owner.headers, eventId, await photo(3));
    assert.equal(up.status, 201);
    const faceId = up.body.face_id as number;
    const stored = await t.deps.repositories.photos.findById(faceId);
    // Deleted, its cascade not run yet (as when the cascade job waits behind others).
    assert.ok(await t.deps.repositories.events.markDeleted(owner.id, eventId));
    const cohorts = createFaceCohortService({ embeddings: t.deps.repositories.embeddings, vectors: t.deps.repositories.vectorSearch });
    const processing = createPhotoProcessingService({ photos: t.deps.repositories.photos, embeddings: t.deps.repositories.embeddings, storage: t.deps.storage, engine, cohorts });
    const outcome = await processing.process({ faceId, s3Key: stored!.s3_key, eventId });
    assert.equal(outcome.status, 'skipped');
    assert.equal(await t.deps.repositories.embeddings.countByEvent(eventId), 0);
    assert.deepEqual(await t.deps.storage.list(`events/${eventId}/`), [stored!.s3_key], 'no previews');
    // And a job that got past the check records nothing once the event is deleted.
    assert.equal(
      await t.deps.repositories.photos.markDone(faceId, { face_count: 1, confidence: 0.9, width: 10, height: 10, preview_key: 'x', thumbnail_key: 'y', model_pack: 'faceapi-resnet128' }),
      false,
    );
    assert.equal((await t.deps.repositories.photos.findById(faceId))?.status, 'pending');
    await t.deps.services.eventCleanup.purgeEvent(eventId);
    assert.deepEqual(await leftovers(eventId), { photos: 0, embeddings: 0, files: 0 });
  });
});

describe('no photo stays pending or processing forever', () => {
  let t: TestApp;
  let pipeline: TestPipeline;
  let owner: { id: number; headers: { authorization: string } };

  before(async () => {
    t = await createTestApp({ env: { JOB_ATTEMPTS: '2' } });
    // The API only: each test starts the workers it needs.
    pipeline = await startPipeline(t);
    owner = await t.photographer();
  });
  after(async () => {
    await pipeline.close();
    await t.close();
  });

  const newEvent = async (): Promise<number> =>
    (await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: owner.headers, payload: { name: 'Stuck' } })).json<{ id: number }>().id;
  const startWorkers = (storage = t.deps.storage) =>
    startJobWorkers({
      connection: t.deps.redis,
      prefix: t.deps.config.queue.prefix,
      concurrency: 1,
      handlers: createJobHandlers({ ...t.deps, storage }, { engine }),
      logger: t.deps.logger,
      queues: ['photos'],
    });
  const statusOf = async (faceId: number) => (await t.deps.repositories.photos.findById(faceId))?.status;

  it('processes a JPEG with extraneous bytes before its scan (libjpeg warns, the engine reads it)', async () => {
    const jpeg = await photo(4);
    const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
    assert.ok(sos > 0);
    const odd = Buffer.concat([jpeg.subarray(0, sos), Buffer.from([0, 0, 0, 0]), jpeg.subarray(sos)]);
    await assert.rejects(sharp(odd).jpeg().toBuffer(), /extraneous bytes/, 'the file really is one libjpeg warns about');

    const workers = startWorkers();
    try {
      const eventId = await newEvent();
      const up = await uploadVia(pipeline.api, owner.headers, eventId, odd);
      assert.equal(up.status, 201);
      await pipeline.waitForJob('photos', String(up.body.task_id));
      const done = await t.deps.repositories.photos.findById(up.body.face_id as number);
      assert.equal(done?.status, 'done', done?.error ?? '');
      assert.ok(done.face_count >= 2);
      assert.equal((await sharp(await t.deps.storage.getBuffer(done.preview_key!)).metadata()).format, 'jpeg');
      const progress = await t.app.inject({ method: 'GET', url: `/api/v1/events/${eventId}/progress`, headers: owner.headers });
      assert.equal(progress.json<{ complete: boolean }>().complete, true, progress.body);
    } finally {
      await workers.close();
    }
  });

  it('marks a photo failed, with the reason, once its retries are used up', async () => {
    // A storage that cannot be reached: every attempt fails with a transient error.
    const unreachable = createS3Storage({ bucket: 'gone', endpoint: 'http://127.0.0.1:9', region: 'us-east-1', accessKeyId: 'x', secretAccessKey: 'y', forcePathStyle: true });
    const workers = startWorkers(unreachable);
    try {
      const eventId = await newEvent();
      const up = await uploadVia(pipeline.api, owner.headers, eventId, await photo(5));
      const faceId = up.body.face_id as number;
      await assert.rejects(pipeline.waitForJob('photos', String(up.body.task_id)));
      const job = await t.deps.jobs.queue('photos').getJob(String(up.body.task_id));
      assert.equal(job?.attemptsMade, 2, 'both attempts ran');
      await until('the final-failure hook records the failure', async () => (await statusOf(faceId)) === 'failed');
      const failed = await t.deps.repositories.photos.findById(faceId);
      assert.match(failed?.error ?? '', /^Processing failed after every retry: .*ECONNREFUSED/);
      const progress = await t.app.inject({ method: 'GET', url: `/api/v1/events/${eventId}/progress`, headers: owner.headers });
      assert.equal(progress.json<{ complete: boolean }>().complete, true, progress.body);
    } finally {
      await workers.close();
      await unreachable.close();
    }
  });

  it('a re-upload of a pending photo whose job was lost queues it again (not just "duplicate")', async () => {
    const eventId = await newEvent();
    const file = await photo(6);
    const first = await uploadVia(pipeline.api, owner.headers, eventId, file);
    assert.equal(first.status, 201);
    // The queue loses the job (Redis flushed or evicted it); the photo row stays pending.
    assert.equal(await t.deps.jobs.queue('photos').remove(String(first.body.task_id)), 1);

    const again = await uploadVia(pipeline.api, owner.headers, eventId, file);
    assert.equal(again.status, 200);
    assert.equal(again.body.duplicate, true);
    assert.equal(again.body.task_id, first.body.task_id);
    assert.equal(await t.deps.jobs.queue('photos').getJobState(String(again.body.task_id)), 'prioritized', 'queued again (behind anything live: the backlog waits prioritised)');
    // A second re-upload while the job waits adds nothing.
    await uploadVia(pipeline.api, owner.headers, eventId, file);
    assert.equal(await t.deps.jobs.queue('photos').count(), 1);

    const workers = startWorkers();
    try {
      await pipeline.waitForJob('photos', String(again.body.task_id));
      assert.equal(await statusOf(first.body.face_id as number), 'done');
    } finally {
      await workers.close();
    }
  });

  it('a queue failure after the row is written answers 503, and the retry queues the photo', async () => {
    const eventId = await newEvent();
    const file = await photo(7);
    // A producer on a Redis that is not there: the add fails for real, after the row is written.
    const deadRedis = new Redis('redis://127.0.0.1:9', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    deadRedis.on('error', () => undefined);
    const deadJobs = createJobProducer(deadRedis, { prefix: t.deps.config.queue.prefix, attempts: 2 });
    for (const name of ['photos', 'maintenance', 'search', 'delivery'] as const) deadJobs.queue(name).on('error', () => undefined);
    const photos = createPhotoService({ ...t.deps.repositories, storage: t.deps.storage, jobs: deadJobs, imageUrlTtlSeconds: 60 });
    try {
      await assert.rejects(
        photos.upload(owner.id, eventId, { stream: Readable.from([file]), filename: 'q.jpg', limitBytes: 1e8, truncated: () => false }),
        UnavailableError,
      );
    } finally {
      await deadJobs.close().catch(() => undefined);
      deadRedis.disconnect();
    }
    const [pending] = (await t.deps.repositories.photos.listByEvent(eventId, { offset: 0, limit: 10 })).items;
    assert.equal(pending?.status, 'pending');

    const retry = await uploadVia(pipeline.api, owner.headers, eventId, file);
    assert.equal(retry.status, 200);
    assert.equal(retry.body.face_id, pending.id);
    const workers = startWorkers();
    try {
      await pipeline.waitForJob('photos', String(retry.body.task_id));
      assert.equal(await statusOf(pending.id), 'done');
    } finally {
      await workers.close();
    }
  });
});
