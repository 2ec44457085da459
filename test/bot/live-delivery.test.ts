import { after, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createFaceCohortService } from '../../src/services/face-cohort.service.js';
import { albumsOf, createLiveDeliveryService, LIVE_CLAIM_LEASE_MS } from '../../src/services/live-delivery.service.js';
import { jobIdOf, type JobName, type JobOf, type JobResults } from '../../src/queue/jobs.js';
import { createTelegramLiveSender } from '../../src/bot/live-delivery.sender.js';
import { createSendLiveDeliveriesHandler } from '../../src/workers/send-live-deliveries.worker.js';
import { createRecoverLiveDeliveriesHandler } from '../../src/workers/recover-live-deliveries.worker.js';
import { botIdOf, createTelegramFileRepository } from '../../src/repositories/telegram-file.repository.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { buttonsOf, FakeTelegram, mediaOf, type ApiCall } from './fake-telegram.js';

describe('live delivery batching', () => {
  it('splits a participant’s photos into albums of 2–10, never a lone photo after a full album', () => {
    const sizes = (n: number): number[] => albumsOf(Array.from({ length: n }, (_, i) => i)).map((a) => a.length);
    assert.deepEqual(sizes(0), []);
    assert.deepEqual(sizes(1), [1]);
    assert.deepEqual(sizes(10), [10]);
    assert.deepEqual(sizes(11), [6, 5]);
    assert.deepEqual(sizes(21), [7, 7, 7]);
    assert.deepEqual(albumsOf([1, 2, 3]), [[1, 2, 3]]);
  });

  it('schedules one delayed flush per event and time bucket: a burst shares it, a later match gets the next', async () => {
    const added: { id: string | undefined; delay: number | undefined }[] = [];
    const enqueue = <N extends JobName>(name: N, data: JobOf<N>, options?: { delay?: number }): Promise<string> => {
      added.push({ id: jobIdOf(name, data), delay: options?.delay });
      return Promise.resolve('id');
    };
    // Only the scheduling is exercised here; the rest runs against real services in bot.test.ts.
    const service = createLiveDeliveryService({ jobs: { enqueue }, batchMs: 15_000, threshold: 0.7 } as unknown as Parameters<typeof createLiveDeliveryService>[0]);
    mock.timers.enable({ apis: ['Date'], now: 1_000_000 * 15_000 + 1 });
    try {
      await service.scheduleFlush(7);
      mock.timers.tick(14_000);
      await service.scheduleFlush(7);
      await service.scheduleFlush(8);
      mock.timers.tick(1_000);
      await service.scheduleFlush(7);
    } finally {
      mock.timers.reset();
    }
    assert.deepEqual(added, [
      { id: 'send-live-deliveries-7-1000000', delay: 15_000 },
      { id: 'send-live-deliveries-7-1000000', delay: 15_000 },
      { id: 'send-live-deliveries-8-1000000', delay: 15_000 },
      { id: 'send-live-deliveries-7-1000001', delay: 15_000 },
    ]);
  });
});

describe('live delivery after a crash mid-send: claims past their lease go out again', () => {
  const TOKEN = '123456:TEST-recovery_token';
  /** Longer than any test: a scheduled flush runs only when a test promotes it. */
  const BATCH_MS = 3600_000;
  const fake = new FakeTelegram(TOKEN);
  let t: TestApp;
  let pipeline: TestPipeline;
  let owner: number;
  let jobSeq = 0;

  before(async () => {
    await fake.start();
    t = await createTestApp({ storage: 'local' });
    owner = (await t.photographer()).id;
    const { repositories: r } = t.deps;
    // The real service, sender and handlers (createJobHandlers would also load the face engine, not needed here).
    const delivery = createLiveDeliveryService({
      photos: r.photos,
      events: r.events,
      participants: r.participants,
      participantEmbeddings: r.participantEmbeddings,
      cohorts: createFaceCohortService({ embeddings: r.embeddings, vectors: r.vectorSearch }),
      storage: t.deps.storage,
      sender: createTelegramLiveSender({
        token: TOKEN,
        apiRoot: fake.url,
        fileIds: createTelegramFileRepository(t.deps.redis, { prefix: t.deps.config.queue.prefix, botId: botIdOf(TOKEN) }),
      }),
      jobs: t.deps.jobs,
      threshold: 0.7,
      batchMs: BATCH_MS,
    });
    pipeline = await startPipeline(t, {
      handlers: {
        'send-live-deliveries': createSendLiveDeliveriesHandler({ delivery }),
        'recover-live-deliveries': createRecoverLiveDeliveriesHandler({ delivery }),
      },
    });
  });

  after(async () => {
    await pipeline?.close();
    if (t) {
      await t.deps.jobs.queue('delivery').obliterate({ force: true });
      const keys = await t.deps.redis.keys(`${t.deps.config.queue.prefix}:bot:*`);
      if (keys.length > 0) await t.deps.redis.del(...keys);
      await t.close();
    }
    await fake.stop();
  });

  const event = async (name: string): Promise<number> => (await t.deps.services.events.create(owner, { name })).id;

  /** Processed photos of the event, with a preview in storage (the fake Telegram takes any bytes). */
  const photos = async (eventId: number, count: number): Promise<number[]> => {
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      const key = `events/${eventId}/live-${i}.jpg`;
      await t.deps.storage.put(key, Buffer.from(`preview ${eventId}/${i}`), 'image/jpeg');
      const row = await t.deps.dbs.main
        .insertInto('faces')
        .values({ event_id: eventId, image_url: key, s3_key: key, preview_key: key, status: 'done', face_count: 1 })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids.push(row.id);
    }
    return ids;
  };

  /** A participant who joined the event, consented and turned live delivery on. */
  const subscriber = async (telegramId: number, eventId: number): Promise<number> => {
    const { participants } = t.deps.repositories;
    const p = await participants.upsert(telegramId, 'en');
    await participants.update(p.id, { consent_at: new Date() });
    await participants.join(p.id, eventId);
    await participants.setLiveDelivery(p.id, eventId, true);
    return p.id;
  };

  /**
   * Delivery rows as a flush leaves them: `sending` claimed `claimedAgoMs` before now (on the
   * database's clock, as claims are stamped) stands for a flush that is, or was, mid-send.
   */
  const deliveries = async (participantId: number, eventId: number, faceIds: number[], state: 'pending' | { claimedAgoMs: number }): Promise<void> => {
    await t.deps.dbs.main
      .insertInto('participant_deliveries')
      .values(
        faceIds.map((face_id) => ({
          participant_id: participantId,
          event_id: eventId,
          face_id,
          status: state === 'pending' ? ('pending' as const) : ('sending' as const),
          claimed_at: state === 'pending' ? null : sql<Date>`now() - ${state.claimedAgoMs}::integer * interval '1 millisecond'`,
        })),
      )
      .execute();
  };

  const statuses = async (participantId: number, faceIds: number[]): Promise<string[]> => {
    const rows = await t.deps.dbs.main
      .selectFrom('participant_deliveries')
      .select(['face_id', 'status'])
      .where('participant_id', '=', participantId)
      .where('face_id', 'in', faceIds)
      .execute();
    const byId = new Map(rows.map((r) => [r.face_id, r.status]));
    return faceIds.map((id) => byId.get(id) ?? 'none');
  };

  const run = async <N extends 'send-live-deliveries' | 'recover-live-deliveries'>(name: N, data: JobOf<N>): Promise<JobResults[N]> => {
    const id = await t.deps.jobs.enqueue(name, data, { jobId: `test-${name}-${++jobSeq}` });
    return (await pipeline.waitForJob('delivery', id, 60_000)) as JobResults[N];
  };

  const scheduledFlushes = async (eventId: number) =>
    (await t.deps.jobs.queue('delivery').getJobs(['delayed'])).filter((j) => j.name === 'send-live-deliveries' && (j.data as JobOf<'send-live-deliveries'>).eventId === eventId);

  /** Runs the event's scheduled flush now, instead of after the batch delay, then forgets it. */
  const flushNow = async (eventId: number): Promise<JobResults['send-live-deliveries']> => {
    const [job, ...more] = await scheduledFlushes(eventId);
    assert.ok(job, 'a flush is scheduled');
    assert.equal(more.length, 0);
    await job.promote();
    const result = (await pipeline.waitForJob('delivery', job.id!, 60_000)) as JobResults['send-live-deliveries'];
    await job.remove();
    return result;
  };

  /** The photo ids of each photo message (single photo or album) sent to the chat after `from`. */
  const photosSent = (chat: number, from: number): number[][] =>
    fake
      .callsTo(chat, from)
      .filter((c) => c.method === 'sendPhoto' || c.method === 'sendMediaGroup')
      .map((c) => (c.method === 'sendPhoto' ? origIds(c) : mediaOf(c).map((m) => Number(/photo-(\d+)/.exec(m.file?.name ?? fake.uploadOf(m.fileId)?.name ?? '')?.[1]))));
  const origIds = (call: ApiCall): number[] => buttonsOf(call).flatMap((b) => (/^orig:(\d+)$/.exec(b) ? [Number(b.slice(5))] : []));

  it('the sweep finds claims past their lease and their event’s flush sends them once; claims within the lease are left alone', async () => {
    const eventId = await event('Crash during send');
    const [c1, c2, c3, fresh, nearLease, single] = await photos(eventId, 6);
    const alice = await subscriber(7001, eventId);
    const bob = await subscriber(7002, eventId);
    // The worker that claimed these died mid-send an hour ago…
    await deliveries(alice, eventId, [c1!, c2!, c3!], { claimedAgoMs: 3600_000 });
    await deliveries(bob, eventId, [single!], { claimedAgoMs: LIVE_CLAIM_LEASE_MS + 60_000 });
    // …while these are being sent right now, or were claimed a minute short of the lease: not to be touched.
    await deliveries(alice, eventId, [fresh!], { claimedAgoMs: 0 });
    await deliveries(alice, eventId, [nearLease!], { claimedAgoMs: LIVE_CLAIM_LEASE_MS - 60_000 });
    const mark = fake.mark();

    assert.deepEqual(await run('recover-live-deliveries', {}), { expired: 4, events: 1 });
    // The sweep itself sends nothing and changes nothing: it schedules the event's flush.
    assert.deepEqual(await statuses(alice, [c1!, c2!, c3!]), ['sending', 'sending', 'sending']);
    assert.deepEqual(await flushNow(eventId), { sent: 4, albums: 2, unreachable: 0, dropped: 0 });

    assert.deepEqual(photosSent(7001, mark), [[c1, c2, c3]]);
    assert.deepEqual(photosSent(7002, mark), [[single]]);
    // The album's "original" buttons follow it, as for any live album.
    const buttons = fake.callsTo(7001, mark).filter((c) => c.method === 'sendMessage');
    assert.deepEqual(buttons.map(origIds), [[c1, c2, c3]]);
    assert.deepEqual(await statuses(alice, [c1!, c2!, c3!, fresh!, nearLease!]), ['sent', 'sent', 'sent', 'sending', 'sending']);
    assert.deepEqual(await statuses(bob, [single!]), ['sent']);

    // Exactly once: another sweep finds nothing, and another flush of the event sends nothing.
    const after = fake.mark();
    assert.deepEqual(await run('recover-live-deliveries', {}), { expired: 0, events: 0 });
    assert.equal((await scheduledFlushes(eventId)).length, 0);
    assert.deepEqual(await run('send-live-deliveries', { eventId, bucket: 0 }), { sent: 0, albums: 0, unreachable: 0, dropped: 0 });
    assert.deepEqual(fake.calls.slice(after).map((c) => c.method), []);
  });

  it('uploads each preview to Telegram once: other subscribers and later sends get its file_id; a refused file_id is uploaded again', async () => {
    const eventId = await event('Many subscribers');
    const ids = await photos(eventId, 3);
    const [first, second] = [await subscriber(7101, eventId), await subscriber(7102, eventId)];
    for (const p of [first, second]) await deliveries(p, eventId, ids, 'pending');
    let mark = fake.mark();
    assert.deepEqual(await run('send-live-deliveries', { eventId, bucket: 0 }), { sent: 6, albums: 2, unreachable: 0, dropped: 0 });
    const albums = [7101, 7102].map((chat) => fake.callsTo(chat, mark).find((c) => c.method === 'sendMediaGroup')!);
    // Whoever came first got the bytes; the other the file_ids Telegram gave them: one upload per photo.
    const uploaded = albums.flatMap((c) => c.files);
    assert.deepEqual(uploaded.map((f) => f.name).sort(), ids.map((id) => `photo-${id}.jpg`).sort());
    const byReference = albums.find((c) => c.files.length === 0)!;
    const references = mediaOf(byReference).map((m) => m.fileId!);
    assert.deepEqual(references.map((id) => fake.uploadOf(id)?.name), ids.map((id) => `photo-${id}.jpg`));
    assert.ok(references.every((id) => /^AgAC/.test(id) && !id.includes('thumb')), 'the full size’s file_id');
    assert.deepEqual(photosSent(7101, mark), [ids]);
    assert.deepEqual(photosSent(7102, mark), [ids]);

    // A single photo later goes by file_id too, a file_id string instead of bytes, and its preview
    // is not even read from storage (gone here, the send still succeeds).
    const [one] = ids;
    const previewKey = `events/${eventId}/live-0.jpg`;
    const preview = await t.deps.storage.getBuffer(previewKey);
    await t.deps.storage.delete(previewKey);
    await deliveries(await subscriber(7103, eventId), eventId, [one!], 'pending');
    mark = fake.mark();
    assert.deepEqual(await run('send-live-deliveries', { eventId, bucket: 0 }), { sent: 1, albums: 1, unreachable: 0, dropped: 0 });
    await t.deps.storage.put(previewKey, preview, 'image/jpeg');
    const single = fake.callsTo(7103, mark).find((c) => c.method === 'sendPhoto')!;
    assert.equal(single.files.length, 0);
    assert.equal(typeof single.params.photo, 'string');
    assert.equal(fake.uploadOf(String(single.params.photo))?.name, `photo-${one}.jpg`);

    // Telegram refuses the cached file_ids (as those of another bot): uploaded again, then cached anew.
    fake.forgetUploads();
    await deliveries(await subscriber(7104, eventId), eventId, ids, 'pending');
    mark = fake.mark();
    assert.deepEqual(await run('send-live-deliveries', { eventId, bucket: 0 }), { sent: 3, albums: 1, unreachable: 0, dropped: 0 });
    const sends = fake.callsTo(7104, mark).filter((c) => c.method === 'sendMediaGroup');
    assert.deepEqual(sends.map((c) => [c.error, c.files.length]), [[400, 0], [undefined, 3]]);
    await deliveries(await subscriber(7105, eventId), eventId, ids, 'pending');
    mark = fake.mark();
    assert.deepEqual(await run('send-live-deliveries', { eventId, bucket: 0 }), { sent: 3, albums: 1, unreachable: 0, dropped: 0 });
    const again = fake.callsTo(7105, mark).filter((c) => c.method === 'sendMediaGroup');
    assert.deepEqual(again.map((c) => [c.error, c.files.length]), [[undefined, 0]]);
    assert.deepEqual(photosSent(7105, mark), [ids]);
  });

  it('any flush of the event gives its expired claims back first: they go out with the new matches', async () => {
    const eventId = await event('New upload after a crash');
    const [match, crashed, fresh] = await photos(eventId, 3);
    const carol = await subscriber(7003, eventId);
    await deliveries(carol, eventId, [match!], 'pending');
    await deliveries(carol, eventId, [crashed!], { claimedAgoMs: LIVE_CLAIM_LEASE_MS + 1000 });
    await deliveries(carol, eventId, [fresh!], { claimedAgoMs: 1000 });
    const mark = fake.mark();

    assert.deepEqual(await run('send-live-deliveries', { eventId, bucket: 0 }), { sent: 2, albums: 1, unreachable: 0, dropped: 0 });
    assert.deepEqual(photosSent(7003, mark), [[match, crashed]]);
    assert.deepEqual(await statuses(carol, [match!, crashed!, fresh!]), ['sent', 'sent', 'sending']);
  });

  it('expired claims of a closed event are given back, then dropped, not sent', async () => {
    const eventId = await event('Closed after a crash');
    const [crashed] = await photos(eventId, 1);
    const dave = await subscriber(7004, eventId);
    await deliveries(dave, eventId, [crashed!], { claimedAgoMs: LIVE_CLAIM_LEASE_MS + 1000 });
    await t.deps.repositories.events.updateOwned(owner, eventId, { is_active: false });
    const mark = fake.mark();

    assert.deepEqual(await run('send-live-deliveries', { eventId, bucket: 0 }), { sent: 0, albums: 0, unreachable: 0, dropped: 1 });
    assert.deepEqual(fake.callsTo(7004, mark), []);
    assert.deepEqual(await statuses(dave, [crashed!]), ['dropped']);
  });

  it('two flushes reclaiming at once: each expired row goes to exactly one of them', async () => {
    const eventId = await event('Racing recoveries');
    const ids = await photos(eventId, 8);
    const erin = await subscriber(7005, eventId);
    await deliveries(erin, eventId, ids, { claimedAgoMs: LIVE_CLAIM_LEASE_MS + 1000 });
    const { participants } = t.deps.repositories;

    const counts = await Promise.all([1, 2, 3].map(() => participants.reclaimExpiredDeliveries(eventId, LIVE_CLAIM_LEASE_MS)));
    assert.equal(counts.reduce((a, b) => a + b, 0), ids.length);
    assert.deepEqual(await statuses(erin, ids), ids.map(() => 'pending'));
    // Given back rows are pending, no longer claims: the sweep does not see them again.
    assert.deepEqual((await participants.expiredClaims(LIVE_CLAIM_LEASE_MS)).filter((e) => e.event_id === eventId), []);
  });

  it('the sweep is one schedule whoever sets it up, and its first run is right away', async () => {
    const queue = t.deps.jobs.queue('delivery');
    try {
      await t.deps.jobs.repeat('recover-live-deliveries', {}, 60_000);
      await t.deps.jobs.repeat('recover-live-deliveries', {}, 60_000);
      const schedulers = await queue.getJobSchedulers();
      assert.deepEqual(schedulers.map((s) => [s.key, s.every]), [['recover-live-deliveries', 60_000]]);
      const [first] = (await queue.getJobs(['wait', 'active', 'completed'])).filter((j) => j.name === 'recover-live-deliveries' && !j.id?.startsWith('test-'));
      assert.ok(first?.id, 'the first sweep is queued');
      assert.deepEqual(await pipeline.waitForJob('delivery', first.id, 60_000), { expired: 0, events: 0 });
    } finally {
      await queue.removeJobScheduler('recover-live-deliveries');
    }
  });
});
