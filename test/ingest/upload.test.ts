import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import type { FaceEngine } from '../../src/vision/index.js';
import { createFaceCohortService } from '../../src/services/face-cohort.service.js';
import { createPhotoProcessingService } from '../../src/services/photo-processing.service.js';
import { devDataDir } from '../vision/fixtures.js';

type Json = Record<string, unknown>;

describe('photo ingest: upload → storage → process-photo → both databases', () => {
  let t: TestApp;
  let pipeline: TestPipeline;
  let engine: FaceEngine;
  let base: string;
  let owner: { id: number; headers: { authorization: string } };
  let stranger: { id: number; headers: { authorization: string } };
  let photoDir: string;

  before(async () => {
    photoDir = path.join(await devDataDir(), 'faces');
    t = await createTestApp({ env: { UPLOAD_MAX_MB: '3' } });
    pipeline = await startPipeline(t, { workers: true });
    engine = pipeline.engine!;
    base = pipeline.api;
    owner = await t.photographer();
    stranger = await t.photographer();
  });
  after(async () => {
    await pipeline.close();
    await t.close();
  });

  const newEvent = async (body: Json = { name: 'Ingest' }): Promise<number> =>
    (await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: owner.headers, payload: body })).json<{ id: number }>().id;

  const upload = async (headers: Json, parts: [string, string | Blob, string?][]) => {
    const form = new FormData();
    for (const [name, value, filename] of parts) {
      if (typeof value === 'string') form.append(name, value);
      else form.append(name, value, filename);
    }
    const res = await fetch(`${base}/faces/upload`, { method: 'POST', headers: headers as Record<string, string>, body: form });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const fileBlob = async (name: string) => new Blob([await fs.readFile(path.join(photoDir, name))], { type: 'image/jpeg' });
  const waitFor = (taskId: string) => pipeline.waitForJob('photos', taskId).catch((error: Error) => error);

  it('stores the photo, processes it once, and writes embeddings with the event id', async () => {
    const eventId = await newEvent();
    const res = await upload(owner.headers, [['event_id', String(eventId)], ['file', await fileBlob('2008_002470.jpg'), 'group.jpg']]);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.confidence, 0);
    assert.equal(res.body.duplicate, false);
    assert.equal(typeof res.body.face_id, 'number');
    assert.match(String(res.body.image_url), /^http/);
    const photoId = res.body.face_id as number;
    await waitFor(String(res.body.task_id));

    const photo = await t.deps.repositories.photos.findById(photoId);
    assert.ok(photo);
    assert.equal(photo.status, 'done');
    assert.match(photo.s3_key, new RegExp(`^events/${eventId}/[0-9a-f-]{36}\\.jpg$`));
    assert.ok(photo.face_count >= 2, `faces found: ${photo.face_count}`);
    assert.ok(photo.confidence > 0.5 && photo.confidence <= 1);
    assert.ok(photo.width && photo.height);
    assert.equal(await t.deps.repositories.embeddings.countByPhoto({ faceId: photoId, eventId }), photo.face_count);
    const rows = await t.deps.dbs.vector.selectFrom('face_embeddings').select(['event_id', 'model_pack', 'detection_score']).where('face_id', '=', photoId).execute();
    assert.ok(rows.every((r) => r.event_id === eventId && r.model_pack === engine.packId && r.detection_score > 0));

    const preview = await t.deps.storage.getBuffer(photo.preview_key!);
    const meta = await sharp(preview).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.ok(preview.length < 5 * 1024 * 1024 && Math.max(meta.width!, meta.height!) <= 2048);
    assert.ok(await t.deps.storage.getBuffer(photo.thumbnail_key!));

    const list = await fetch(`${base}/faces/event/${eventId}`, { headers: owner.headers });
    assert.equal(list.headers.get('x-total-count'), '1');
    const [item] = (await list.json()) as Json[];
    assert.equal(item?.status, 'done');
    assert.equal(item?.face_count, photo.face_count);
    const previewRes = await fetch(String(item?.preview_url));
    assert.equal(previewRes.status, 200);

    // Running the job again leaves exactly the same rows.
    const cohorts = createFaceCohortService({ embeddings: t.deps.repositories.embeddings, vectors: t.deps.repositories.vectorSearch });
    const processing = createPhotoProcessingService({ photos: t.deps.repositories.photos, embeddings: t.deps.repositories.embeddings, storage: t.deps.storage, engine, cohorts });
    const again = await processing.process({ faceId: photoId, s3Key: photo.s3_key, eventId });
    assert.equal(again.status, 'done');
    assert.equal(await t.deps.repositories.embeddings.countByPhoto({ faceId: photoId, eventId }), photo.face_count);
    assert.equal((await t.deps.storage.list(`events/${eventId}/`)).length, 3, 'original, preview, thumbnail');

    const progress = await (await fetch(`${base}/events/${eventId}/progress`, { headers: owner.headers })).json() as Json;
    assert.equal(progress.total, 1);
    assert.equal(progress.done, 1);
    assert.equal(progress.faces, photo.face_count);
    assert.equal(progress.complete, true);
  });

  it('detects a duplicate by content within the event, not across events', async () => {
    const eventId = await newEvent();
    const first = await upload(owner.headers, [['event_id', String(eventId)], ['file', await fileBlob('2008_001009.jpg'), 'a.jpg']]);
    const second = await upload(owner.headers, [['event_id', String(eventId)], ['file', await fileBlob('2008_001009.jpg'), 'renamed.jpg']]);
    assert.equal(first.status, 201);
    assert.equal(second.status, 200);
    assert.equal(second.body.duplicate, true);
    assert.equal(second.body.face_id, first.body.face_id);
    assert.equal(second.body.task_id, first.body.task_id);
    const other = await upload(owner.headers, [['event_id', String(await newEvent())], ['file', await fileBlob('2008_001009.jpg'), 'a.jpg']]);
    assert.equal(other.status, 201);
    await waitFor(String(first.body.task_id));
    await waitFor(String(other.body.task_id));
    const hashes = (await (await fetch(`${base}/faces/event/${eventId}/hashes`, { headers: owner.headers })).json()) as { hashes: string[] };
    assert.equal(hashes.hashes.length, 1);
    assert.match(hashes.hashes[0]!, /^[0-9a-f]{64}$/);
  });

  it('rejects bad uploads with clear 4xx and leaves nothing behind', async () => {
    const eventId = await newEvent();
    const text = new Blob(['hello, not an image at all'], { type: 'image/jpeg' });
    const cases: [string, Json, [string, string | Blob, string?][], number, string][] = [
      ['non-image bytes', owner.headers, [['event_id', String(eventId)], ['file', text, 'x.jpg']], 415, 'unsupported_media_type'],
      ['empty file', owner.headers, [['event_id', String(eventId)], ['file', new Blob([]), 'x.jpg']], 415, 'unsupported_media_type'],
      ['missing event_id', owner.headers, [['file', await fileBlob('2008_001009.jpg'), 'x.jpg']], 400, 'invalid_input'],
      ['bad event_id', owner.headers, [['event_id', 'abc'], ['file', await fileBlob('2008_001009.jpg'), 'x.jpg']], 400, 'invalid_input'],
      ['no file', owner.headers, [['event_id', String(eventId)]], 400, 'invalid_input'],
      ['unknown event', owner.headers, [['event_id', '999999'], ['file', await fileBlob('2008_001009.jpg'), 'x.jpg']], 404, 'not_found'],
      ['another photographer’s event', stranger.headers, [['event_id', String(eventId)], ['file', await fileBlob('2008_001009.jpg'), 'x.jpg']], 404, 'not_found'],
      ['no key', {}, [['event_id', String(eventId)], ['file', await fileBlob('2008_001009.jpg'), 'x.jpg']], 401, 'unauthorized'],
    ];
    // Above the 3 MB limit this app runs with: a real JPEG header followed by noise.
    const big = Buffer.concat([await fs.readFile(path.join(photoDir, '2008_001009.jpg')), Buffer.alloc(4 * 1024 * 1024, 7)]);
    cases.push(['too large', owner.headers, [['event_id', String(eventId)], ['file', new Blob([big]), 'big.jpg']], 413, 'payload_too_large']);
    for (const [name, headers, parts, status, code] of cases) {
      const res = await upload(headers, parts);
      assert.equal(res.status, status, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error, code, name);
    }
    const json = await fetch(`${base}/faces/upload`, { method: 'POST', headers: { ...owner.headers, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(json.status, 400);

    const inactive = await newEvent({ name: 'Closed' });
    await t.app.inject({ method: 'PATCH', url: `/api/v1/events/${inactive}`, headers: owner.headers, payload: { is_active: false } });
    const closed = await upload(owner.headers, [['event_id', String(inactive)], ['file', await fileBlob('2008_001009.jpg'), 'x.jpg']]);
    assert.equal(closed.status, 409);
    assert.equal(closed.body.error, 'event_inactive');

    for (const id of [eventId, inactive]) {
      assert.equal(await t.deps.repositories.photos.countByEvent(id), 0);
      assert.deepEqual(await t.deps.storage.list(`events/${id}/`), []);
    }
  });

  it('marks an undecodable image failed with its reason, without retrying', async () => {
    const eventId = await newEvent();
    const original = await fs.readFile(path.join(photoDir, '2008_001009.jpg'));
    const truncated = original.subarray(0, 2000);
    const res = await upload(owner.headers, [['event_id', String(eventId)], ['file', new Blob([truncated]), 'cut.jpg']]);
    assert.equal(res.status, 201);
    const outcome = await waitFor(String(res.body.task_id));
    assert.ok(outcome instanceof Error, 'the job fails');
    const job = await t.deps.jobs.queue('photos').getJob(String(res.body.task_id));
    assert.equal(job?.attemptsMade, 1, 'no retry for a bad image');
    const photo = await t.deps.repositories.photos.findById(res.body.face_id as number);
    assert.equal(photo?.status, 'failed');
    assert.match(photo?.error ?? '', /image/i);
    assert.equal(await t.deps.repositories.embeddings.countByPhoto({ faceId: photo!.id, eventId }), 0);
  });

  it('deletes one photo with its embeddings and objects; a stranger cannot', async () => {
    const eventId = await newEvent();
    const res = await upload(owner.headers, [['event_id', String(eventId)], ['file', await fileBlob('2008_002079.jpg'), 'x.jpg']]);
    await waitFor(String(res.body.task_id));
    const id = res.body.face_id as number;
    assert.ok((await t.deps.repositories.embeddings.countByPhoto({ faceId: id, eventId })) > 0);
    const denied = await fetch(`${base}/faces/${id}`, { method: 'DELETE', headers: stranger.headers });
    assert.equal(denied.status, 404);
    assert.ok(await t.deps.repositories.photos.findById(id));
    const ok = await fetch(`${base}/faces/${id}`, { method: 'DELETE', headers: owner.headers });
    assert.equal(ok.status, 204);
    assert.equal(await t.deps.repositories.photos.findById(id), undefined);
    assert.equal(await t.deps.repositories.embeddings.countByPhoto({ faceId: id, eventId }), 0);
    assert.deepEqual(await t.deps.storage.list(`events/${eventId}/`), []);
    assert.equal((await fetch(`${base}/faces/${id}`, { method: 'DELETE', headers: owner.headers })).status, 404);
  });

  it('lists and reports progress only for the owner', async () => {
    const eventId = await newEvent();
    for (const url of [`${base}/faces/event/${eventId}`, `${base}/events/${eventId}/progress`, `${base}/faces/event/${eventId}/hashes`]) {
      assert.equal((await fetch(url, { headers: stranger.headers })).status, 404, url);
      assert.equal((await fetch(url)).status, 401, url);
      assert.equal((await fetch(url, { headers: owner.headers })).status, 200, url);
    }
  });
});

describe('photo ingest when storage is down', () => {
  it('answers 503 and records no photo', async () => {
    const t = await createTestApp({ env: { S3_ENDPOINT: 'http://127.0.0.1:9', S3_BUCKET: 'down', S3_ACCESS_KEY_ID: 'a', S3_SECRET_ACCESS_KEY: 'b' } });
    try {
      const owner = await t.photographer();
      const eventId = (await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: owner.headers, payload: { name: 'x' } })).json<{ id: number }>().id;
      const form = new FormData();
      form.append('event_id', String(eventId));
      form.append('file', new Blob([await fs.readFile(path.join(await devDataDir(), 'faces/2008_001009.jpg'))]), 'a.jpg');
      const pipeline = await startPipeline(t);
      const res = await fetch(`${pipeline.api}/faces/upload`, { method: 'POST', headers: owner.headers, body: form });
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as Json).error, 'unavailable');
      assert.equal(await t.deps.repositories.photos.countByEvent(eventId), 0);
      await pipeline.close();
    } finally {
      await t.close();
    }
  });
});
