import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import sharp from 'sharp';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { groupPhoto, johns, selfie } from '../helpers/dev-event.js';
import { FakeTelegram, chatOf } from '../bot/fake-telegram.js';
import { createTelegramLiveSender } from '../../src/bot/live-delivery.sender.js';
import { botIdOf, createTelegramFileRepository } from '../../src/repositories/telegram-file.repository.js';
import { createPhotoProcessingService } from '../../src/services/photo-processing.service.js';
import { createFaceCohortService } from '../../src/services/face-cohort.service.js';
import { createLiveDeliveryService } from '../../src/services/live-delivery.service.js';
import { LIVE_THRESHOLD } from '../../src/services/match-decision.js';
import { toStorageVector, type FaceEngine } from '../../src/vision/index.js';

const TOKEN = '424242:TEST-live_flow_token';
// faces-dev's identities, read at run time from the shared data folder (as test/vision does).
const FACES_DEV = path.resolve('../shared/data/faces-dev/identities');

/**
 * A live shot with one large face (found by the coarse pass: Obama, from faces-dev) and one small
 * 80 px face (a johns man, found only by the tiled small-face pass). Measured: coarse finds 1, fine 1 more.
 */
async function twoScalePhoto(smallFaceFile: string): Promise<Buffer> {
  const big = await sharp(path.join(FACES_DEV, 'obama', '1.jpg')).resize(900, 900, { fit: 'inside' }).toBuffer();
  const small = await sharp(smallFaceFile).resize(80, 80).toBuffer();
  return sharp({ create: { width: 2400, height: 1800, channels: 3, background: { r: 120, g: 130, b: 140 } } })
    .composite([
      { input: big, left: 200, top: 300 },
      { input: small, left: 1900, top: 900 },
    ])
    .jpeg({ quality: 90 })
    .toBuffer();
}

describe('live photos: fresh first, progressive analysis, delivered once', () => {
  const fake = new FakeTelegram(TOKEN);
  let t: TestApp;
  let pipeline: TestPipeline;
  let engine: FaceEngine;
  let owner: { id: number; headers: { authorization: string } };
  let people: Awaited<ReturnType<typeof johns>>;
  let obamaSelfie: Buffer;
  let telegramSeq = 7_100_000;

  before(async () => {
    await fake.start();
    t = await createTestApp({ storage: 'local', env: { LIVE_DELIVERY_BATCH_SECONDS: '1' } });
    const sender = createTelegramLiveSender({
      token: TOKEN,
      apiRoot: fake.url,
      fileIds: createTelegramFileRepository(t.deps.redis, { prefix: t.deps.config.queue.prefix, botId: botIdOf(TOKEN) }),
    });
    pipeline = await startPipeline(t, { workers: true, sender });
    engine = pipeline.engine!;
    owner = await t.photographer();
    people = await johns();
    obamaSelfie = await sharp(path.join(FACES_DEV, 'obama', '2.jpg')).jpeg().toBuffer();
  });
  after(async () => {
    await pipeline?.close();
    if (t) {
      for (const q of ['photos', 'delivery'] as const) await t.deps.jobs.queue(q).obliterate({ force: true });
      await t.close();
    }
    await fake.stop();
  });

  const newEvent = async (name: string): Promise<number> => (await t.deps.services.events.create(owner.id, { name })).id;
  const upload = async (eventId: number, bytes: Buffer, name: string, live: boolean): Promise<number> => {
    const form = new FormData();
    form.append('event_id', String(eventId));
    if (live) form.append('live', 'true');
    form.append('file', new Blob([bytes]), name);
    const res = await fetch(`${pipeline.api}/faces/upload`, { method: 'POST', headers: owner.headers, body: form });
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as { face_id: number }).face_id;
  };
  /** A participant of the event who consented and subscribed with this selfie's embedding. */
  const subscriber = async (eventId: number, selfieBytes: Buffer): Promise<{ id: number; chat: number }> => {
    const { participants, participantEmbeddings } = t.deps.repositories;
    const chat = ++telegramSeq;
    const p = await participants.upsert(chat, 'en');
    await participants.update(p.id, { consent_at: new Date() });
    await participants.join(p.id, eventId);
    const face = (await engine.analyze(selfieBytes, { mode: 'selfie' })).faces[0]!;
    await participantEmbeddings.upsert({ participantId: p.id, eventId, vector: toStorageVector(face.embedding), modelPack: engine.packId });
    await participants.setLiveDelivery(p.id, eventId, true);
    return { id: p.id, chat };
  };
  const found = async (eventId: number, selfieBytes: Buffer): Promise<number[]> => {
    const out = await t.deps.services.search.search({ kind: 'photographer', photographerId: owner.id, eventId }, [selfieBytes], { threshold: 0.7, limit: 50 });
    return out.results.map((r) => r.face_id);
  };
  const photosTo = (chat: number): number =>
    fake.calls.filter((c) => chatOf(c) === chat && (c.method === 'sendPhoto' || c.method === 'sendMediaGroup')).reduce((n, c) => n + (c.method === 'sendPhoto' ? 1 : (c.params.media as unknown[]).length), 0);

  it('a live photo uploaded behind a backlog is processed before every backlog photo', async () => {
    const eventId = await newEvent('Backlog');
    const photos = t.deps.jobs.queue('photos');
    // Held while the queue fills, so the backlog is really queued ahead of the live photo.
    await photos.pause();
    let backlog: number[];
    let live: number;
    try {
      backlog = [];
      for (let i = 0; i < 4; i++) backlog.push(await upload(eventId, await groupPhoto([people[i % 5]!.files[i]!], 100 + i), `b${i}.jpg`, false));
      live = await upload(eventId, await groupPhoto([people[4]!.files[3]!], 200), 'live.jpg', true);
    } finally {
      await photos.resume();
    }
    await pipeline.waitForJob('photos', `process-photo-${live}`);
    for (const id of backlog) await pipeline.waitForJob('photos', `process-photo-${id}`);
    const rows = await Promise.all([live, ...backlog].map((id) => t.deps.repositories.photos.findById(id)));
    const [livePhoto, ...rest] = rows.map((r) => r!);
    assert.ok(rows.every((r) => r?.status === 'done'));
    assert.equal(livePhoto!.live, true);
    for (const b of rest) assert.ok(livePhoto!.processed_at! < b.processed_at!, `live photo done before backlog photo ${b.id}`);
    // The backlog keeps its order among itself (FIFO behind the live head).
    const order = [...rest].sort((a, b) => a.processed_at!.getTime() - b.processed_at!.getTime()).map((p) => p.id);
    assert.deepEqual(order, backlog!);
  });

  it('progressive: coarse faces are searchable and delivered first; the small-face pass adds faces and delivers only to new recipients', async () => {
    const eventId = await newEvent('Progressive');
    const smallFace = people[1]!.files[0]!;
    const smallSelfie = await selfie(people[1]!.files[2]!);
    const [a, b] = [await subscriber(eventId, obamaSelfie), await subscriber(eventId, smallSelfie)];
    const { repositories: r } = t.deps;
    const cohorts = createFaceCohortService({ embeddings: r.embeddings, vectors: r.vectorSearch });
    // The services the workers run, called step by step so each state is observed.
    const processing = createPhotoProcessingService({ photos: r.photos, embeddings: r.embeddings, storage: t.deps.storage, engine, cohorts });
    const delivery = createLiveDeliveryService({
      photos: r.photos,
      events: r.events,
      participants: r.participants,
      participantEmbeddings: r.participantEmbeddings,
      cohorts,
      storage: t.deps.storage,
      sender: createTelegramLiveSender({ token: TOKEN, apiRoot: fake.url }),
      jobs: { enqueue: () => Promise.resolve('not scheduled: the test flushes') },
      threshold: LIVE_THRESHOLD,
      batchMs: 3600_000,
    });
    const key = `events/${eventId}/two-scale.jpg`;
    await t.deps.storage.put(key, await twoScalePhoto(smallFace), 'image/jpeg');
    const { id: faceId } = await t.deps.dbs.main
      .insertInto('faces')
      .values({ event_id: eventId, image_url: key, s3_key: key, status: 'pending', live: true })
      .returning('id')
      .executeTakeFirstOrThrow();
    const job = { faceId, s3Key: key, eventId };

    const first = await processing.process({ ...job, live: true });
    assert.equal(first.status, 'done');
    let photo = (await r.photos.findById(faceId))!;
    assert.deepEqual([photo.status, photo.face_count, photo.refine_pending], ['done', 1, true], 'done after the coarse pass, refine pending');
    assert.deepEqual(await found(eventId, obamaSelfie), [faceId], 'the large face is searchable before the fine pass');
    assert.deepEqual(await found(eventId, smallSelfie), [], 'the small face is not found yet');
    assert.deepEqual(await delivery.deliver(job), { matched: 1, recorded: 1 });
    await delivery.flush(eventId);
    assert.deepEqual([photosTo(a.chat), photosTo(b.chat)], [1, 0]);

    const second = await processing.refine(job);
    assert.deepEqual(second, { status: 'done', faces: 2, added: 1 });
    photo = (await r.photos.findById(faceId))!;
    assert.deepEqual([photo.status, photo.face_count, photo.refine_pending], ['done', 2, false]);
    assert.equal(await r.embeddings.countByEvent(eventId), 2, 'the coarse row kept, one row added');
    assert.deepEqual(await found(eventId, smallSelfie), [faceId], 'the small face is searchable after the fine pass');
    // Matches both subscribers now; only the new one is recorded, and a rerun records nobody.
    assert.deepEqual(await delivery.deliver({ ...job, pass: 'fine' } as typeof job), { matched: 2, recorded: 1 });
    assert.deepEqual(await delivery.deliver(job), { matched: 2, recorded: 0 });
    await delivery.flush(eventId);
    assert.deepEqual([photosTo(a.chat), photosTo(b.chat)], [1, 1], 'each participant got the photo exactly once');

    // A rerun of the pass (a retried job) finds nothing left to do; forced, it adds no duplicate.
    assert.equal((await processing.refine(job)).status, 'skipped');
    await t.deps.dbs.main.updateTable('faces').set({ refine_pending: true }).where('id', '=', faceId).execute();
    assert.deepEqual(await processing.refine(job), { status: 'done', faces: 2, added: 0 });
    assert.equal(await r.embeddings.countByEvent(eventId), 2);
  });

  it('end to end: a live upload reaches both subscribers once, the small face after the refine pass', async () => {
    const eventId = await newEvent('Live end to end');
    const [a, b] = [await subscriber(eventId, obamaSelfie), await subscriber(eventId, await selfie(people[1]!.files[2]!))];
    const from = fake.mark();
    const faceId = await upload(eventId, await twoScalePhoto(people[1]!.files[0]!), 'shot.jpg', true);
    await pipeline.waitForJob('photos', `process-photo-${faceId}`);
    await pipeline.waitForJob('photos', `refine-photo-${faceId}`);
    const sentTo = (chat: number) => fake.waitFor((c) => chatOf(c) === chat && c.method === 'sendPhoto', from, 60_000);
    await Promise.all([sentTo(a.chat), sentTo(b.chat)]);
    await pipeline.waitForJob('delivery', `deliver-photo-${faceId}-fine`);
    const photo = (await t.deps.repositories.photos.findById(faceId))!;
    assert.deepEqual([photo.face_count, photo.refine_pending], [2, false]);
    // Every flush job of the event is finished: nothing more can be sent.
    const flushes = (await t.deps.jobs.queue('delivery').getJobs(['waiting', 'delayed', 'active'])).filter((j) => j.name === 'send-live-deliveries');
    for (const job of flushes) await pipeline.waitForJob('delivery', job.id!, 30_000);
    assert.deepEqual([photosTo(a.chat), photosTo(b.chat)], [1, 1]);
  });
});
