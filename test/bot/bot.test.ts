import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { sql } from 'kysely';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { groupPhoto, johns, selfie } from '../helpers/dev-event.js';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { createLogger } from '../../src/logger.js';
import { createBot, type FacePassBot } from '../../src/bot/index.js';
import { startBot } from '../../src/bot/run.js';
import { createTelegramLiveSender } from '../../src/bot/live-delivery.sender.js';
import { conversationKey } from '../../src/bot/conversations.js';
import { buttonsOf, chatOf, FakeTelegram, mediaOf, type ApiCall } from './fake-telegram.js';
import type { JobResults } from '../../src/queue/jobs.js';

const TOKEN = '123456:TEST-token_abc';
/**
 * Live delivery's batch delay in these tests: longer than any test, so a flush never runs on its
 * own; the tests run it when they want (`flush`), after every match was recorded.
 */
const BATCH_SECONDS = 3600;
type FlushResult = JobResults['send-live-deliveries'];
const photoIdOf = (name: string | undefined): number => Number(/photo-(\d+)/.exec(name ?? '')?.[1]);
const idsOf = (call: ApiCall): number[] => buttonsOf(call).flatMap((b) => (/^orig:(\d+)$/.exec(b) ? [Number(b.slice(5))] : []));
const hex = (uuid: string): string => uuid.replace(/-/g, '');

describe('telegram bot: deep link → consent → selfie → photos, live delivery, forget', () => {
  const fake = new FakeTelegram(TOKEN);
  let t: TestApp;
  let pipeline: TestPipeline | undefined;
  let base: string;
  let owner: { id: number; headers: { authorization: string } };
  let bot: FacePassBot;
  let running: { stop(): Promise<void> };
  const originals = new Map<number, Buffer>();
  const A = { id: 0, uuid: '', withX: new Set<number>(), all: new Set<number>() };
  const B = { id: 0, uuid: '', withX: new Set<number>(), all: new Set<number>() };
  let people: Awaited<ReturnType<typeof johns>>;
  let selfieX: Buffer;

  const startTheBot = async (): Promise<void> => {
    bot = createBot(
      TOKEN,
      {
        participants: t.deps.services.participants,
        logger: createLogger('silent'),
        redis: t.deps.redis,
        keyPrefix: t.deps.config.queue.prefix,
        fileIds: t.deps.repositories.telegramFiles,
        metrics: t.deps.metrics,
      },
      // Two photos per page so three matches exercise an album, "show more" and a single photo.
      { apiRoot: fake.url, throttle: false, pageSize: 2 },
    );
    running = await startBot(bot, { logger: createLogger('silent') });
  };

  const upload = async (event: typeof A, faces: string[], seed: number, hasX: boolean): Promise<number> => {
    const image = await groupPhoto(faces, seed);
    const form = new FormData();
    form.append('event_id', String(event.id));
    form.append('file', new Blob([image]), `photo-${seed}.jpg`);
    const res = await fetch(`${base}/faces/upload`, { method: 'POST', headers: owner.headers, body: form });
    assert.equal(res.status, 201);
    const { face_id, task_id } = (await res.json()) as { face_id: number; task_id: string };
    await pipeline!.waitForJob('photos', task_id);
    originals.set(face_id, image);
    event.all.add(face_id);
    if (hasX) event.withX.add(face_id);
    return face_id;
  };

  /** Uploads a photo and waits for its deliver-photo job (the live matches recorded); undefined when none was queued. */
  const uploadLive = async (event: typeof A, faces: string[], seed: number, hasX: boolean): Promise<{ id: number; result: unknown }> => {
    const id = await upload(event, faces, seed, hasX);
    const queued = await t.deps.jobs.queue('delivery').getJob(`deliver-photo-${id}`);
    return { id, result: queued ? await pipeline!.waitForJob('delivery', `deliver-photo-${id}`, 60_000) : undefined };
  };
  /** The event's flush jobs waiting for their batch delay. */
  const scheduledFlushes = async (eventId: number) =>
    (await t.deps.jobs.queue('delivery').getJobs(['delayed'])).filter((j) => j.name === 'send-live-deliveries' && (j.data as { eventId: number }).eventId === eventId);
  /** Runs the event's scheduled flush now instead of after the batch delay, and returns what it did. */
  const flush = async (eventId: number): Promise<FlushResult> => {
    const jobs = await scheduledFlushes(eventId);
    assert.ok(jobs.length > 0, 'a flush is scheduled');
    const total: FlushResult = { sent: 0, albums: 0, unreachable: 0, dropped: 0 };
    // One job per event and time bucket: a burst across a bucket boundary has two (the first sends all).
    for (const job of jobs) {
      assert.equal(job.opts.delay, BATCH_SECONDS * 1000, 'debounced by the batch delay');
      await job.promote();
      const result = (await pipeline!.waitForJob('delivery', job.id!, 60_000)) as FlushResult;
      for (const key of Object.keys(total) as (keyof FlushResult)[]) total[key] += result[key];
      // Run before its time bucket ended, which the service never does: forget it, or the next match
      // in this (hour-long) bucket would be deduplicated against it and wait for the next bucket.
      await job.remove();
    }
    return total;
  };
  /** Photos (single or albums) the bot sent to a chat after `from`, successful calls only. */
  const photoSends = (user: number, from: number): ApiCall[] =>
    fake.callsTo(user, from).filter((c) => (c.method === 'sendPhoto' || c.method === 'sendMediaGroup') && c.error === undefined);
  const deliveryStatus = async (user: number, faceId: number): Promise<string | undefined> => {
    const participant = (await t.deps.repositories.participants.findByTelegramId(user))!;
    const row = await t.deps.dbs.main
      .selectFrom('participant_deliveries')
      .select('status')
      .where('participant_id', '=', participant.id)
      .where('face_id', '=', faceId)
      .executeTakeFirst();
    return row?.status;
  };

  /** /start with the event's link, then consent. */
  const join = async (user: number, event: typeof A, consent = true): Promise<void> => {
    let mark = fake.mark();
    fake.sendText(user, `/start ${hex(event.uuid)}`);
    await fake.waitForText(user, /Welcome to/, mark);
    if (!consent) return;
    mark = fake.mark();
    fake.press(user, 'consent:yes');
    await fake.waitForText(user, /Thank you! Now send me a selfie/, mark);
  };

  /** The chat's stored conversation state (Redis), or undefined. */
  const storedConversations = async (user: number): Promise<Record<string, unknown> | undefined> => {
    const raw = await t.deps.redis.get(conversationKey(t.deps.config.queue.prefix, user));
    return raw === null ? undefined : (JSON.parse(raw) as { state: Record<string, unknown> }).state;
  };
  /**
   * Waits until every earlier update of the chat was handled to the end (state saved included):
   * updates of one chat run in order, so the answer to a later /help comes after.
   */
  const settle = async (user: number): Promise<void> => {
    const mark = fake.mark();
    fake.sendText(user, '/help');
    await fake.waitForText(user, /How it works/, mark);
  };
  const textsTo = (user: number, from: number): string[] =>
    fake.callsTo(user, from).flatMap((c) => (c.method === 'sendMessage' || c.method === 'editMessageText' ? [String(c.params.text)] : []));

  /** Sends a selfie and collects the ids of every photo of the first page (from the results buttons). */
  const searchFirstPage = async (user: number, image: Buffer): Promise<{ ids: number[]; results: ApiCall; mark: number }> => {
    const mark = fake.mark();
    fake.sendPhoto(user, image);
    const results = await fake.waitForText(user, /^Photos \d+–\d+ of \d+/, mark);
    return { ids: idsOf(results), results, mark };
  };

  before(async () => {
    await fake.start();
    t = await createTestApp({
      env: { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: fake.url, BOT_SEARCHES_PER_MINUTE: '4', LIVE_DELIVERY_BATCH_SECONDS: String(BATCH_SECONDS) },
    });
    pipeline = await startPipeline(t, {
      workers: true,
      sender: createTelegramLiveSender({ token: TOKEN, apiRoot: fake.url, fileIds: t.deps.repositories.telegramFiles, metrics: t.deps.metrics }),
    });
    base = pipeline.api;
    owner = await t.photographer();

    people = await johns();
    const [x, o0, o1, o2, o3] = people;
    assert.ok(x && o0 && o1 && o2 && o3);
    selfieX = await selfie(x.files[10]!);
    for (const [event, name] of [[A, 'Wedding A'], [B, 'Event B']] as const) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/events/',
        headers: owner.headers,
        payload: { name, location: 'Moscow, Gorky Park', event_date: '2024-06-15T15:00:00Z' },
      });
      event.id = res.json<{ id: number }>().id;
      event.uuid = res.json<{ event_uuid: string }>().event_uuid;
    }
    await upload(A, [x.files[0]!, o0.files[0]!], 1, true);
    await upload(A, [o1.files[0]!, o2.files[0]!], 2, false);
    await upload(A, [o0.files[1]!, x.files[1]!, o2.files[1]!], 3, true);
    await upload(A, [x.files[2]!], 4, true);
    await upload(B, [x.files[3]!, o1.files[2]!], 5, true);
    await upload(B, [o0.files[3]!, o3.files[3]!], 6, false);
    await upload(B, [x.files[4]!], 7, true);
    await startTheBot();
  });

  after(async () => {
    await running?.stop();
    await pipeline?.close();
    if (t) {
      for (const name of ['search', 'delivery'] as const) await t.deps.jobs.queue(name).obliterate({ force: true });
      const keys = await t.deps.redis.keys(`${t.deps.config.queue.prefix}:bot:*`);
      if (keys.length > 0) await t.deps.redis.del(...keys);
      await t.close();
    }
    await fake.stop();
  });

  it('sets the command menu in both languages at start', () => {
    const menus = fake.calls.filter((c) => c.method === 'setMyCommands');
    assert.equal(menus.length, 2);
    assert.ok(menus.some((c) => c.params.language_code === 'ru'));
    assert.ok((menus[0]!.params.commands as { command: string }[]).some((c) => c.command === 'forget'));
  });

  it('answers unknown, malformed and closed event links clearly, and survives malformed updates', async () => {
    let mark = fake.mark();
    fake.sendText(1001, '/start 00000000000040008000000000000000');
    await fake.waitForText(1001, /unknown or the event is closed/, mark);
    mark = fake.mark();
    fake.sendText(1001, '/start %%%garbage<script>');
    await fake.waitForText(1001, /unknown or the event is closed/, mark);
    // Stray or forged buttons and a selfie before joining an event.
    mark = fake.mark();
    fake.press(1001, 'orig:notanumber');
    fake.press(1001, 'orig:1');
    fake.pushUpdate({ edited_message: { message_id: 1, date: 0, chat: { id: 1001, type: 'private' }, text: 'x' } });
    fake.sendPhoto(1001, selfieX);
    await fake.waitForText(1001, /Open the event link first/, mark);
    assert.ok(!fake.callsTo(1001, mark).some((c) => c.method === 'sendDocument'), 'no photo for a stranger');
    assert.ok(!fake.calls.slice(mark).some((c) => c.method === 'getFile'), 'no selfie processed without a participant');
    // A closed event.
    const closed = await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: owner.headers, payload: { name: 'Closed', is_active: false } });
    mark = fake.mark();
    fake.sendText(1001, `/start ${closed.json<{ event_uuid: string }>().event_uuid}`);
    await fake.waitForText(1001, /unknown or the event is closed/, mark);
    assert.equal(await t.deps.repositories.participants.findByTelegramId(1001), undefined);
  });

  it('deep link → consent → selfie: exactly the person’s photos of that event, album and pages, originals', async () => {
    const user = 2001;
    const mark = fake.mark();
    fake.sendText(user, `/start ${hex(A.uuid)}`);
    const greeting = await fake.waitForText(user, /Welcome to “Wedding A”/, mark);
    assert.match(String(greeting.params.text), /15 June 2024/);
    assert.match(String(greeting.params.text), /Moscow, Gorky Park/);
    assert.match(String(greeting.params.text), /biometric/);
    assert.deepEqual(buttonsOf(greeting), ['consent:yes', 'consent:no']);

    // No processing before consent: the selfie is answered with the consent request.
    let m = fake.mark();
    fake.sendPhoto(user, selfieX);
    await fake.waitForText(user, /need your consent/, m);
    assert.ok(!fake.calls.slice(m).some((c) => c.method === 'getFile'));

    m = fake.mark();
    fake.press(user, 'consent:yes');
    await fake.waitForText(user, /Thank you/, m);
    assert.ok((await t.deps.repositories.participants.findByTelegramId(user))?.consent_at);

    const first = await searchFirstPage(user, selfieX);
    assert.ok(fake.calls.slice(first.mark).some((c) => c.method === 'getFile'));
    assert.ok(fake.callsTo(user, first.mark).some((c) => c.method === 'sendChatAction' && c.params.action === 'upload_photo'));
    const album = await fake.waitFor((c) => c.method === 'sendMediaGroup' && chatOf(c) === user, first.mark);
    assert.equal(album.files.length, 2);
    assert.deepEqual(album.files.map((f) => Number(/photo-(\d+)/.exec(f.name)?.[1])).sort(), [...first.ids].sort());
    assert.ok(buttonsOf(first.results).includes('more'));

    m = fake.mark();
    fake.press(user, 'more');
    const second = await fake.waitForText(user, /^Photo 3 of 3\./, m);
    const single = await fake.waitFor((c) => c.method === 'sendPhoto' && chatOf(c) === user, m);
    assert.equal(single.files.length, 1);
    assert.deepEqual(new Set([...first.ids, ...idsOf(second)]), A.withX);
    assert.ok(buttonsOf(second).includes('live:on'));

    // The full-size original, byte for byte.
    const faceId = first.ids[0]!;
    m = fake.mark();
    fake.press(user, `orig:${faceId}`);
    const doc = await fake.waitFor((c) => c.method === 'sendDocument' && chatOf(c) === user, m);
    assert.ok(doc.files[0]!.bytes.equals(originals.get(faceId)!));
    // A photo of the event the person is not in is refused.
    const notMine = [...A.all].find((id) => !A.withX.has(id))!;
    m = fake.mark();
    fake.press(user, `orig:${notMine}`);
    await fake.waitForText(user, /no longer available/, m);

    m = fake.mark();
    fake.press(user, 'live:on');
    await fake.waitForText(user, /I will send you new photos of you from “Wedding A”/, m);
  });

  it('uploads each preview to Telegram once: later searches and pages send its file_id; a refused file_id is uploaded again', async () => {
    const user = 2101;
    await join(user, A);
    // 2001 was just shown every photo of A with X: Telegram has them all.
    const first = await searchFirstPage(user, selfieX);
    const album = await fake.waitFor((c) => c.method === 'sendMediaGroup' && chatOf(c) === user, first.mark);
    assert.equal(album.files.length, 0, 'file_id strings, not bytes');
    const items = mediaOf(album);
    assert.ok(items.every((i) => typeof i.fileId === 'string' && /^AgAC/.test(i.fileId) && !i.fileId.includes('thumb')));
    assert.deepEqual(items.map((i) => photoIdOf(fake.uploadOf(i.fileId)?.name)), first.ids, 'the file_ids of these very photos');

    // Telegram refuses the cached ids (as it would another bot's): uploaded again, then cached anew.
    fake.forgetUploads();
    let m = fake.mark();
    fake.press(user, 'more');
    const page = await fake.waitForText(user, /^Photo 3 of 3\./, m);
    const singles = fake.callsTo(user, m).filter((c) => c.method === 'sendPhoto');
    assert.deepEqual(singles.map((c) => [c.error, c.files.length, typeof c.params.photo]), [[400, 0, 'string'], [undefined, 1, 'string']]);
    assert.deepEqual(idsOf(page).map((id) => `photo-${id}.jpg`), [singles[1]!.files[0]!.name]);
    // The next search: the album's stale ids go the same way; the page after it uses the fresh id.
    const second = await searchFirstPage(user, selfieX);
    const albums = fake.callsTo(user, second.mark).filter((c) => c.method === 'sendMediaGroup');
    assert.deepEqual(albums.map((c) => [c.error, c.files.length]), [[400, 0], [undefined, 2]]);
    m = fake.mark();
    fake.press(user, 'more');
    await fake.waitForText(user, /^Photo 3 of 3\./, m);
    const single = fake.callsTo(user, m).filter((c) => c.method === 'sendPhoto');
    assert.deepEqual(single.map((c) => [c.error, c.files.length]), [[undefined, 0]]);
    assert.equal(fake.uploadOf(String(single[0]!.params.photo))?.name, singles[1]!.files[0]!.name);
    // Originals are documents with file_ids of their own: uploaded once, then sent by reference.
    const faceId = first.ids[0]!;
    const docs: ApiCall[] = [];
    for (let i = 0; i < 2; i++) {
      m = fake.mark();
      fake.press(user, `orig:${faceId}`);
      docs.push(await fake.waitFor((c) => c.method === 'sendDocument' && chatOf(c) === user && c.error === undefined, m));
    }
    // (The first is an upload: whatever id was cached before is among those Telegram forgot.)
    assert.deepEqual(docs.map((c) => c.files.length), [1, 0]);
    const reference = String(docs[1]!.params.document);
    assert.match(reference, /^BQAC/);
    assert.ok(fake.uploadOf(reference)!.bytes.equals(originals.get(faceId)!));
  });

  it('two participants in two events never see each other’s photos', async () => {
    const user = 3001;
    await join(user, B);
    const mark = fake.mark();
    fake.sendPhoto(user, selfieX);
    const results = await fake.waitForText(user, /^Photos 1–2 of 2/, mark);
    assert.deepEqual(new Set(idsOf(results)), B.withX);
    const album = await fake.waitFor((c) => c.method === 'sendMediaGroup' && chatOf(c) === user, mark);
    for (const f of album.files) assert.ok(B.all.has(Number(/photo-(\d+)/.exec(f.name)?.[1])));
    // A photo of event A, even one with this person, is not theirs to download.
    const m = fake.mark();
    fake.press(user, `orig:${[...A.withX][0]!}`);
    await fake.waitForText(user, /no longer available/, m);
    const m2 = fake.mark();
    fake.press(user, 'live:on');
    await fake.waitForText(user, /from “Event B”/, m2);
  });

  it('greets an event without date or place without blank lines', async () => {
    const bare = await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: owner.headers, payload: { name: 'Bare' } });
    const user = 1101;
    const m = fake.mark();
    fake.sendText(user, `/start ${hex(bare.json<{ event_uuid: string }>().event_uuid)}`);
    const greeting = String((await fake.waitForText(user, /Welcome to “Bare”/, m)).params.text);
    // One blank line between the greeting and the consent request, none elsewhere.
    assert.ok(greeting.startsWith('Welcome to “Bare”!\n\nBefore I look for you'), JSON.stringify(greeting));
    assert.doesNotMatch(greeting, /\n\s*\n\s*\n/);
  });

  it('consent is a conversation: guidance on anything else, commands still work, a new link starts over', async () => {
    const user = 7001;
    await join(user, A, false);
    // Anything but an answer gets the request again, with its buttons.
    let m = fake.mark();
    fake.sendText(user, 'hello?');
    assert.deepEqual(buttonsOf(await fake.waitForText(user, /need your consent/, m)), ['consent:yes', 'consent:no']);
    assert.deepEqual(Object.keys((await storedConversations(user)) ?? {}), ['consent']);
    // Menu commands are handled as usual while the conversation keeps waiting.
    m = fake.mark();
    fake.sendText(user, '/help');
    await fake.waitForText(user, /How it works/, m);
    assert.ok(!textsTo(user, m).some((text) => /need your consent/.test(text)), 'a command is not answered with the reminder');
    assert.deepEqual(Object.keys((await storedConversations(user)) ?? {}), ['consent']);
    // Another event's link while waiting: joins it and asks again, in the greeting of that event.
    m = fake.mark();
    fake.sendText(user, `/start ${hex(B.uuid)}`);
    const greeting = await fake.waitForText(user, /Welcome to “Event B”/, m);
    assert.match(String(greeting.params.text), /need your consent/);
    assert.deepEqual(buttonsOf(greeting), ['consent:yes', 'consent:no']);
    m = fake.mark();
    fake.press(user, 'consent:yes');
    await fake.waitForText(user, /Thank you! Now send me a selfie/, m);
    const participant = await t.deps.repositories.participants.findByTelegramId(user);
    assert.ok(participant?.consent_at);
    assert.equal(participant.active_event_id, B.id);
    // A leftover consent button after consent just confirms it.
    m = fake.mark();
    fake.press(user, 'consent:yes');
    await fake.waitForText(user, /Thank you/, m);
    assert.equal(await storedConversations(user), undefined, 'the finished conversation leaves nothing in Redis');
    // The selfie searches the event of the latest link.
    const first = await searchFirstPage(user, selfieX);
    assert.deepEqual(new Set(first.ids), B.withX);
  });

  it('a restart in the middle of the consent conversation loses nothing (its state is in Redis)', async () => {
    const user = 7002;
    await join(user, A, false);
    // Stop the bot as the service does (updates in flight finish), then a brand-new bot over the same Redis.
    await running.stop();
    assert.deepEqual(Object.keys((await storedConversations(user)) ?? {}), ['consent']);
    await startTheBot();
    const m = fake.mark();
    fake.press(user, 'consent:yes');
    await fake.waitForText(user, /Thank you! Now send me a selfie/, m);
    // Resumed, not asked again (a lost conversation would answer with a new consent request).
    assert.ok(!textsTo(user, m).some((text) => /need your consent/.test(text)));
    assert.ok((await t.deps.repositories.participants.findByTelegramId(user))?.consent_at);
    await settle(user);
    assert.equal(await storedConversations(user), undefined);
  });

  it('a new matching photo is recorded, then sent live by the event’s flush: once, only to that event’s subscriber', async () => {
    const [x, o0, o1, , o3] = people;
    const mark = fake.mark();
    const fresh = await uploadLive(A, [x!.files[5]!, o3!.files[5]!], 8, true);
    assert.deepEqual(fresh.result, { matched: 1, recorded: 1 });
    // Recorded, not sent: the event's flush waits for the batch delay.
    assert.equal(await deliveryStatus(2001, fresh.id), 'pending');
    assert.equal(photoSends(2001, mark).length, 0);
    assert.deepEqual(await flush(A.id), { sent: 1, albums: 1, unreachable: 0, dropped: 0 });
    // One photo: sent as a photo with its caption and "original" button.
    const [live] = photoSends(2001, mark);
    assert.equal(live?.method, 'sendPhoto');
    assert.equal(live.params.caption, 'New photo of you from “Wedding A”');
    assert.deepEqual(idsOf(live), [fresh.id]);
    assert.equal(await deliveryStatus(2001, fresh.id), 'sent');
    // The same photo again (a retried or duplicated job) records nothing and schedules no flush …
    const again = await t.deps.jobs.enqueue('deliver-photo', { faceId: fresh.id, eventId: A.id }, { jobId: `again-${fresh.id}` });
    assert.deepEqual(await pipeline!.waitForJob('delivery', again, 60_000), { matched: 1, recorded: 0 });
    assert.deepEqual(await scheduledFlushes(A.id), []);
    // … and a flush run again sends nothing.
    const rerun = await t.deps.jobs.enqueue('send-live-deliveries', { eventId: A.id, bucket: 0 }, { jobId: `again-flush-${fresh.id}` });
    assert.deepEqual(await pipeline!.waitForJob('delivery', rerun, 60_000), { sent: 0, albums: 0, unreachable: 0, dropped: 0 });
    // A photo without the person is not delivered.
    const other = await uploadLive(A, [o1!.files[6]!, o0!.files[6]!], 9, false);
    assert.deepEqual(other.result, { matched: 0, recorded: 0 });
    assert.deepEqual(await scheduledFlushes(A.id), []);
    assert.equal(photoSends(2001, mark).length, 1);
    assert.equal(photoSends(3001, mark).length, 0, 'the event B subscriber gets nothing from event A');
    // The live photo's original is available to its recipient.
    const m = fake.mark();
    fake.press(2001, `orig:${fresh.id}`);
    const doc = await fake.waitFor((c) => c.method === 'sendDocument' && chatOf(c) === 2001, m);
    assert.ok(doc.files[0]!.bytes.equals(originals.get(fresh.id)!));
  });

  it('a burst of matching photos arrives as ONE album of previews, then one message with their originals', async () => {
    const [x, o0, o1, o2, o3] = people;
    const mark = fake.mark();
    const burst: number[] = [];
    const photos: [string[], number][] = [
      [[x!.files[0]!], 20],
      [[o1!.files[1]!, x!.files[2]!], 21],
      [[x!.files[4]!, o3!.files[0]!], 22],
    ];
    for (const [faces, seed] of photos) {
      const { id, result } = await uploadLive(A, faces, seed, true);
      assert.deepEqual(result, { matched: 1, recorded: 1 });
      burst.push(id);
    }
    // Not the person: not part of it.
    assert.deepEqual((await uploadLive(A, [o0!.files[5]!, o2!.files[5]!], 23, false)).result, { matched: 0, recorded: 0 });
    assert.equal(photoSends(2001, mark).length, 0, 'nothing is sent before the flush');

    assert.deepEqual(await flush(A.id), { sent: 3, albums: 1, unreachable: 0, dropped: 0 });
    const sends = photoSends(2001, mark);
    assert.deepEqual(sends.map((c) => c.method), ['sendMediaGroup']);
    const items = mediaOf(sends[0]!);
    assert.deepEqual(items.map((i) => photoIdOf(i.file?.name)), burst, 'new photos: uploaded');
    assert.deepEqual(items.map((i) => i.caption), ['New photos of you from “Wedding A”', undefined, undefined]);
    for (const item of items) assert.ok(!item.file!.bytes.equals(originals.get(photoIdOf(item.file?.name))!), 'a preview, not the original');
    // Albums cannot carry buttons: one message after it, numbered as the album, as under search results.
    const texts = fake.callsTo(2001, mark).filter((c) => c.method === 'sendMessage');
    assert.equal(texts.length, 1);
    assert.ok(texts[0]!.index > sends[0]!.index);
    assert.match(String(texts[0]!.params.text), /Tap 📄 and a number/);
    assert.deepEqual(idsOf(texts[0]!), burst);
    const labels = (texts[0]!.params.reply_markup as { inline_keyboard: { text: string }[][] }).inline_keyboard.flat().map((b) => b.text);
    assert.deepEqual(labels, ['📄 1', '📄 2', '📄 3']);
    for (const id of burst) assert.equal(await deliveryStatus(2001, id), 'sent');

    // Run again: nothing is sent twice.
    const rerun = await t.deps.jobs.enqueue('send-live-deliveries', { eventId: A.id, bucket: 0 }, { jobId: `again-flush-burst-${burst[0]}` });
    assert.deepEqual(await pipeline!.waitForJob('delivery', rerun, 60_000), { sent: 0, albums: 0, unreachable: 0, dropped: 0 });
    assert.equal(photoSends(2001, mark).length, 1);
    // An album photo's original, byte for byte.
    const m = fake.mark();
    fake.press(2001, `orig:${burst[1]}`);
    const doc = await fake.waitFor((c) => c.method === 'sendDocument' && chatOf(c) === 2001, m);
    assert.ok(doc.files[0]!.bytes.equals(originals.get(burst[1]!)!));
  });

  it('live delivery: two subscribers of two events never see each other’s photos', async () => {
    const [x, , o1] = people;
    const mark = fake.mark();
    const inA = await uploadLive(A, [x!.files[3]!, o1!.files[4]!], 40, true);
    const inB = await uploadLive(B, [o1!.files[5]!, x!.files[0]!], 41, true);
    // The same person's face, but each event has its own subscriber.
    assert.deepEqual(inA.result, { matched: 1, recorded: 1 });
    assert.deepEqual(inB.result, { matched: 1, recorded: 1 });
    assert.deepEqual(await flush(A.id), { sent: 1, albums: 1, unreachable: 0, dropped: 0 });
    assert.deepEqual(await flush(B.id), { sent: 1, albums: 1, unreachable: 0, dropped: 0 });
    const [toA] = photoSends(2001, mark);
    const [toB] = photoSends(3001, mark);
    assert.equal(photoSends(2001, mark).length, 1);
    assert.equal(photoSends(3001, mark).length, 1);
    assert.deepEqual([idsOf(toA!), toA!.params.caption], [[inA.id], 'New photo of you from “Wedding A”']);
    assert.deepEqual([idsOf(toB!), toB!.params.caption], [[inB.id], 'New photo of you from “Event B”']);
  });

  it('guides on a selfie with no face, several faces, a non-image or a too large file', async () => {
    const user = 5001;
    await join(user, A);
    const blank = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#7a8a9a' } }).jpeg().toBuffer();
    let m = fake.mark();
    fake.sendPhoto(user, blank);
    await fake.waitForText(user, /could not find a face/, m);
    m = fake.mark();
    fake.sendPhoto(user, await groupPhoto([people[0]!.files[7]!, people[1]!.files[7]!], 3));
    await fake.waitForText(user, /I see 2 faces/, m);
    m = fake.mark();
    fake.sendDocument(user, Buffer.from('hello'), 'text/plain');
    await fake.waitForText(user, /not an image/, m);
    // An image file that cannot be decoded (cut off mid-way) is not "no face".
    m = fake.mark();
    fake.sendDocument(user, selfieX.subarray(0, 2048), 'image/jpeg');
    await fake.waitForText(user, /could not read that file as an image/, m);
    assert.ok(!textsTo(user, m).some((text) => /could not find a face/.test(text)));
    m = fake.mark();
    fake.sendDocument(user, selfieX, 'image/jpeg', 25 * 1024 * 1024);
    await fake.waitForText(user, /too large/, m);
    // A selfie sent as an image file works like a photo.
    m = fake.mark();
    fake.sendDocument(user, selfieX, 'image/jpeg');
    const results = await fake.waitForText(user, new RegExp(`^Photos 1–2 of ${A.withX.size}`), m);
    for (const id of idsOf(results)) assert.ok(A.withX.has(id));
  });

  it('asks for one more selfie when the first is weak, and fuses the next one with it', async () => {
    const user = 5101;
    await join(user, A);
    // A weak selfie: X's face only ~70 px wide in the frame.
    const face = await sharp(people[0]!.files[9]!).resize(100, 100).toBuffer();
    const weak = await sharp({ create: { width: 720, height: 900, channels: 3, background: '#c8beb4' } }).composite([{ input: face, left: 310, top: 400 }]).jpeg().toBuffer();
    let m = fake.mark();
    fake.sendPhoto(user, weak);
    await fake.waitForText(user, /small or turned/, m);
    m = fake.mark();
    fake.sendPhoto(user, selfieX);
    await fake.waitForText(user, new RegExp(`^Photos 1–2 of ${A.withX.size}`), m);
    await settle(user);
    // The embedding held for the live-delivery opt-in is the fused template, not the second selfie alone.
    const participant = await t.deps.repositories.participants.findByTelegramId(user);
    const held = await t.deps.repositories.participantCache.peekEmbedding(participant!.id, A.id);
    const alone = (await pipeline!.engine!.analyze(selfieX, { mode: 'selfie' })).faces[0]!.embedding;
    let dot = 0;
    for (let i = 0; i < alone.length; i++) dot += alone[i]! * held!.vector[i]!;
    assert.ok(dot < 0.9999 && dot > 0.9, `fused with the first selfie (cosine to the second alone: ${dot})`);
  });

  it('limits searches per participant per minute', async () => {
    const user = 5002;
    await join(user, A);
    const blank = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#445566' } }).jpeg().toBuffer();
    const answers: string[] = [];
    for (let i = 0; i < 9 && !answers.some((a) => /Too many searches/.test(a)); i++) {
      const m = fake.mark();
      fake.sendPhoto(user, blank);
      answers.push(String((await fake.waitForText(user, /could not find a face|Too many searches/, m)).params.text));
    }
    assert.match(answers[0]!, /could not find a face/);
    assert.match(answers.at(-1)!, /Too many searches/);
  });

  it('keeps the conversation across a restart (sessions in Redis)', async () => {
    const user = 6001;
    await join(user, A);
    const first = await searchFirstPage(user, selfieX);
    assert.equal(first.ids.length, 2);
    await running.stop();
    await startTheBot();
    const m = fake.mark();
    fake.press(user, 'more');
    const next = await fake.waitForText(user, new RegExp(`^Photos 3–4 of ${A.withX.size}`), m);
    assert.equal(new Set([...first.ids, ...idsOf(next)]).size, 4);
    for (const id of [...first.ids, ...idsOf(next)]) assert.ok(A.withX.has(id));
    const m2 = fake.mark();
    fake.press(user, 'live:on');
    await fake.waitForText(user, /I will send you new photos/, m2);
  });

  it('live delivery within Telegram limits: a 429 is waited out, a failed send goes again, a blocked participant is dropped', async () => {
    const [x, o0, , o2] = people;
    // 2001 and 6001 (opted in just before) both subscribe to event A.
    let mark = fake.mark();
    const p1 = await uploadLive(A, [x!.files[1]!, o2!.files[0]!], 30, true);
    const p2 = await uploadLive(A, [o0!.files[2]!, x!.files[3]!], 31, true);
    assert.deepEqual([p1.result, p2.result], [{ matched: 2, recorded: 2 }, { matched: 2, recorded: 2 }]);
    fake.failNext('sendMediaGroup', 2001, { error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } });
    fake.failNext('sendMediaGroup', 6001, { error_code: 403, description: 'Forbidden: bot was blocked by the user' });
    assert.deepEqual(await flush(A.id), { sent: 2, albums: 1, unreachable: 1, dropped: 2 });
    // The 429 was waited out and the album sent once.
    assert.deepEqual(fake.callsTo(2001, mark).filter((c) => c.method === 'sendMediaGroup').map((c) => c.error), [429, undefined]);
    assert.deepEqual(mediaOf(photoSends(2001, mark)[0]!).map((i) => photoIdOf(i.file?.name)), [p1.id, p2.id]);
    // The blocked participant: dropped, not retried, and no longer subscribed to the event.
    assert.deepEqual(fake.callsTo(6001, mark).map((c) => [c.method, c.error]), [['sendMediaGroup', 403]]);
    assert.deepEqual([await deliveryStatus(6001, p1.id), await deliveryStatus(6001, p2.id)], ['dropped', 'dropped']);

    // A send that fails gives its photo back; the job's retry sends it, once.
    mark = fake.mark();
    const p3 = await uploadLive(A, [x!.files[4]!, o0!.files[4]!], 32, true);
    assert.deepEqual(p3.result, { matched: 1, recorded: 1 });
    fake.failNext('sendPhoto', 2001, { error_code: 400, description: 'Bad Request: something went wrong' });
    assert.deepEqual(await flush(A.id), { sent: 1, albums: 1, unreachable: 0, dropped: 0 });
    assert.deepEqual(fake.callsTo(2001, mark).filter((c) => c.method === 'sendPhoto').map((c) => [idsOf(c), c.error]), [[[p3.id], 400], [[p3.id], undefined]]);
    assert.equal(fake.callsTo(6001, mark).length, 0);
    assert.equal(await deliveryStatus(2001, p3.id), 'sent');
  });

  it('/events switches the active event; /language switches to Russian', async () => {
    const user = 3001;
    let m = fake.mark();
    fake.sendText(user, `/start ${A.uuid}`);
    await fake.waitForText(user, /Send me a selfie to find your photos of “Wedding A”/, m);
    m = fake.mark();
    fake.sendText(user, '/events');
    const list = await fake.waitForText(user, /Your events/, m);
    assert.deepEqual(new Set(buttonsOf(list)), new Set([`event:${A.id}`, `event:${B.id}`]));
    m = fake.mark();
    fake.press(user, `event:${B.id}`);
    await fake.waitForText(user, /Now searching in “Event B”/, m);
    m = fake.mark();
    fake.sendText(user, '/language');
    await fake.waitForText(user, /Choose your language/, m);
    fake.press(user, 'lang:ru');
    await fake.waitForText(user, /Язык: русский/, m);
    m = fake.mark();
    fake.sendText(user, '/help');
    await fake.waitForText(user, /Как это работает/, m);
    assert.equal((await t.deps.repositories.participants.findByTelegramId(user))?.language, 'ru');
  });

  it('/stop ends live delivery, drops the stored embedding and what was still waiting to be sent', async () => {
    const [x, , o1, o2] = people;
    const participant = (await t.deps.repositories.participants.findByTelegramId(3001))!;
    assert.equal(await t.deps.repositories.participantEmbeddings.count(participant.id), 1);
    // A match recorded just before /stop …
    const mark = fake.mark();
    const waiting = await uploadLive(B, [x!.files[1]!, o2!.files[1]!], 50, true);
    assert.deepEqual(waiting.result, { matched: 1, recorded: 1 });
    const m = fake.mark();
    fake.sendText(3001, '/stop');
    await fake.waitForText(3001, /новые фото больше не придут/, m);
    assert.equal(await t.deps.repositories.participantEmbeddings.count(participant.id), 0);
    // … is dropped by the flush, not sent.
    assert.deepEqual(await flush(B.id), { sent: 0, albums: 0, unreachable: 0, dropped: 1 });
    assert.equal(await deliveryStatus(3001, waiting.id), 'dropped');
    // A later photo of the person: no subscriber left, so not even a delivery job.
    const later = await uploadLive(B, [o1!.files[3]!, x!.files[2]!], 51, true);
    assert.equal(later.result, undefined);
    assert.deepEqual(await scheduledFlushes(B.id), []);
    assert.equal(photoSends(3001, mark).length, 0);
  });

  it('metrics: processed photos, searches, live deliveries, updates, uploads and queue depth show up in the registry output', async () => {
    t.deps.metrics.watchQueues(t.deps.jobs.queue);
    const text = await t.deps.metrics.registry.metrics();
    const value = (series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
    };
    assert.ok(value('facepass_job_duration_seconds_count{queue="photos",job="process-photo",status="success"}') >= 15, 'photos processed');
    assert.ok(value('facepass_job_duration_seconds_count{queue="search",job="search-selfie",status="success"}') >= 10, 'search jobs');
    assert.ok(value('facepass_job_duration_seconds_count{queue="delivery",job="send-live-deliveries",status="success"}') >= 5, 'flushes');
    // The flush whose send answered 400 failed once and was retried.
    assert.ok(value('facepass_job_failures_total{queue="delivery",job="send-live-deliveries",final="false"}') >= 1, 'a retried flush');
    assert.ok(value('facepass_bot_searches_total{outcome="results"}') >= 5);
    assert.ok(value('facepass_bot_searches_total{outcome="no_face"}') >= 1);
    assert.ok(value('facepass_bot_searches_total{outcome="unreadable"}') >= 1);
    assert.ok(value('facepass_bot_searches_total{outcome="multiple_faces"}') >= 1);
    assert.ok(value('facepass_bot_searches_total{outcome="rate_limited"}') >= 1);
    assert.ok(value('facepass_bot_updates_total{type="message"}') >= 20);
    assert.ok(value('facepass_bot_updates_total{type="callback_query"}') >= 10);
    // 1 + 3 + 1 + 1 + 1 + 2 photos were sent live; the 400 and the 403 failed.
    assert.ok(value('facepass_live_deliveries_total{outcome="sent"}') >= 9, 'live photos sent');
    assert.ok(value('facepass_live_deliveries_total{outcome="failed"}') >= 1);
    assert.ok(value('facepass_live_deliveries_total{outcome="unreachable"}') >= 2);
    assert.ok(value('facepass_telegram_files_total{kind="preview",via="upload"}') >= 1);
    assert.ok(value('facepass_telegram_files_total{kind="preview",via="file_id"}') >= 3);
    for (const queue of ['photos', 'search', 'delivery', 'maintenance']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed']) {
        assert.ok(Number.isInteger(value(`facepass_queue_jobs{queue="${queue}",state="${state}"}`)), `${queue} ${state}`);
      }
    }
    assert.equal(value('facepass_queue_jobs{queue="delivery",state="delayed"}'), (await t.deps.jobs.queue('delivery').getJobCounts('delayed')).delayed);
  });

  it('/forget deletes the participant’s data from both databases', async () => {
    const user = 2001;
    const participant = (await t.deps.repositories.participants.findByTelegramId(user))!;
    const main = t.deps.dbs.main;
    const audit = () => sql<{ n: number }>`select count(*)::int as n from search_audit where caller_type = 'participant' and caller_id = ${String(participant.id)}`.execute(main);
    assert.ok((await audit()).rows[0]!.n > 0);
    assert.equal(await t.deps.repositories.participantEmbeddings.count(participant.id), 1);

    // Cancelled, across a restart of the bot: nothing is deleted.
    let m = fake.mark();
    fake.sendText(user, '/forget');
    const ask = await fake.waitForText(user, /Delete all your data/, m);
    assert.deepEqual(buttonsOf(ask), ['forget:yes', 'forget:hide', 'forget:no']);
    m = fake.mark();
    fake.sendPhoto(user, selfieX);
    assert.deepEqual(buttonsOf(await fake.waitForText(user, /Delete all your data/, m)), ['forget:yes', 'forget:hide', 'forget:no']);
    assert.ok(!fake.calls.slice(m).some((c) => c.method === 'getFile'), 'no search while the question is open');
    await running.stop();
    await startTheBot();
    m = fake.mark();
    fake.press(user, 'forget:no');
    await fake.waitForText(user, /Nothing was deleted/, m);
    assert.equal((await t.deps.repositories.participants.findByTelegramId(user))?.id, participant.id);
    assert.equal(await t.deps.repositories.participantEmbeddings.count(participant.id), 1);
    await settle(user);
    assert.equal(await storedConversations(user), undefined);

    // Confirmed: everything goes.
    m = fake.mark();
    fake.sendText(user, '/forget');
    await fake.waitForText(user, /Delete all your data/, m);
    m = fake.mark();
    fake.press(user, 'forget:yes');
    await fake.waitForText(user, /All your data was deleted/, m);

    assert.equal(await t.deps.repositories.participants.findByTelegramId(user), undefined);
    const count = async (table: 'participant_events' | 'participant_deliveries') =>
      (await main.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('participant_id', '=', participant.id).executeTakeFirstOrThrow()).n;
    assert.equal(Number(await count('participant_events')), 0);
    assert.equal(Number(await count('participant_deliveries')), 0);
    assert.equal(await t.deps.repositories.participantEmbeddings.count(participant.id), 0);
    assert.equal((await audit()).rows[0]!.n, 0, 'audit rows no longer point at the participant');
    assert.deepEqual(await t.deps.redis.keys(`${t.deps.config.queue.prefix}:bot:embedding:${participant.id}:*`), []);

    // Afterwards the bot knows nothing about them.
    m = fake.mark();
    fake.sendPhoto(user, selfieX);
    await fake.waitForText(user, /Open the event link first/, m);
  });
});
