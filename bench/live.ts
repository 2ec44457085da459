/**
 * Live event benchmark (issue #16): a camera sends 12 MP shots every --interval seconds for
 * --minutes while a --backlog of earlier photos is queued, with --participants subscribed on the
 * fake Bot API and selfie searches running throughout. Prints shot → album (p50/p95), exactly-once
 * delivery, search latency during the run, the bot's selfie → first album on an idle service, and
 * the backlog's photos/s during and after the run. Real PostgreSQL + pgvector, Redis, local storage,
 * the real face engine; the whole service (api, worker, bot, ftp) runs in this process. The camera
 * stores its shots over FTP into the ftp role (`--camera http` posts them to the upload API instead).
 *   npm run bench:live [-- --minutes 10] [-- --backlog 2000] [-- --interval 3] [-- --participants 20] [-- --batch 2] [-- --camera ftp|http]
 */
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { startService } from '../src/main.js';
import { createLogger } from '../src/logger.js';
import { createFaceEngine, toStorageVector } from '../src/vision/index.js';
import { createTestDatabases, tempDir, testConfig } from '../test/helpers/services.js';
import { devDataDir, testModelDir } from '../test/vision/fixtures.js';
import { FakeTelegram, chatOf, mediaOf } from '../test/bot/fake-telegram.js';
import { prepareBenchPhotos } from './lib/ingest-photos.js';
import { percentile } from './lib/ingest-probes.js';
import { createFtpCamera, createHttpCamera, type LiveCamera } from './lib/live-camera.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    backlog: { type: 'string', default: '2000' },
    interval: { type: 'string', default: '3' },
    participants: { type: 'string', default: '20' },
    batch: { type: 'string', default: '2' },
    'search-every': { type: 'string', default: '2' },
    camera: { type: 'string', default: 'ftp' },
  },
});
const cameraKind = args.camera === 'http' ? 'http' : 'ftp';
const minutes = Number(args.minutes);
const backlogCount = Number(args.backlog);
const intervalS = Number(args.interval);
const participantCount = Number(args.participants);
const batchS = Number(args.batch);
const searchEveryS = Number(args['search-every']);
const TOKEN = '500500:BENCH-live_token';
const FACES_DEV = path.resolve('../shared/data/faces-dev/identities');
const fmt = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '–');
const load = (): string => `${fmt(os.loadavg()[0]!, 2)} on ${os.availableParallelism()} CPUs`;

/** People: faces-dev identities (real photos with context) then dlib's johns; each with ≥ 2 photos (one selfie, the rest for shots). */
async function people(): Promise<{ name: string; files: string[] }[]> {
  const out: { name: string; files: string[] }[] = [];
  for (const name of (await readdir(FACES_DEV)).sort()) {
    const files = (await readdir(path.join(FACES_DEV, name))).filter((f) => !/small|240p/.test(f)).sort().map((f) => path.join(FACES_DEV, name, f));
    if (files.length >= 2) out.push({ name, files });
  }
  const johns = path.join(await devDataDir(), 'johns');
  for (const name of (await readdir(johns)).sort()) out.push({ name, files: (await readdir(path.join(johns, name))).sort().map((f) => path.join(johns, name, f)) });
  return out;
}

/** A 12 MP camera shot with 2 of the people side by side (large faces, as in a typical event frame). */
async function shot(persons: { files: string[] }[], seq: number): Promise<Buffer> {
  const slot = Math.floor(4000 / persons.length);
  const tiles = await Promise.all(persons.map((p, i) => sharp(p.files[1 + (seq % (p.files.length - 1))]!).rotate().resize(slot - 200, 2400, { fit: 'inside' }).toBuffer().then((input) => ({ input, left: i * slot + 100, top: 300 }))));
  const shade = 80 + ((seq * 37) % 120);
  // A corner patch coloured by the sequence number: no two shots of a run have the same bytes (the
  // server would store the second as the first, and its deliveries would be timed from the wrong shot).
  const mark = { r: seq % 256, g: Math.floor(seq / 256) % 256, b: 128 };
  const patch = await sharp({ create: { width: 64, height: 64, channels: 3, background: mark } }).png().toBuffer();
  return sharp({ create: { width: 4000, height: 3000, channels: 3, background: { r: shade, g: shade + 10, b: shade + 20 } } })
    .composite([...tiles, { input: patch, left: 0, top: 0 }])
    .jpeg({ quality: 88 })
    .toBuffer();
}

const work = await tempDir('facepass-bench-live-');
const cleanup: (() => Promise<unknown>)[] = [() => work.remove()];
const fake = new FakeTelegram(TOKEN);
try {
  console.log(`bench:live — ${minutes} min camera every ${intervalS} s, backlog ${backlogCount}, ${participantCount} participants, batch ${batchS} s; load average ${load()}`);
  await fake.start();
  cleanup.push(() => fake.stop());
  const dbs = await createTestDatabases();
  cleanup.push(() => dbs.drop());
  const config = testConfig({
    FACEPASS_DATA_DIR: path.join(work.dir, 'data'),
    DATABASE_MAIN_URL: dbs.mainUrl,
    DATABASE_VECTOR_URL: dbs.vectorUrl,
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: fake.url,
    TELEGRAM_BOT_USERNAME: 'facepass_bench_bot',
    LIVE_DELIVERY_BATCH_SECONDS: String(batchS),
    MODEL_DIR: testModelDir(),
    ...(cameraKind === 'ftp' && { FTP_PORT: '0', FTP_HOST: '127.0.0.1' }),
  });
  const service = await startService(config, cameraKind === 'ftp' ? ['api', 'worker', 'bot', 'ftp'] : ['api', 'worker', 'bot'], createLogger('silent'));
  cleanup.push(async () => {
    for (const q of ['photos', 'delivery', 'search', 'maintenance'] as const) await service.deps.jobs.queue(q).obliterate({ force: true }).catch(() => undefined);
    await service.stop();
  });
  const api = `${service.apiUrl}/api/v1`;
  const { deps } = service;
  const { photographer, apiKey } = await deps.services.photographers.create({ email: `bench-live-${Date.now()}@example.com` });
  const authorization = `Bearer ${apiKey}`;
  const event = await deps.services.events.create(photographer.id, { name: 'Live bench' });

  // Participants: joined, consented, subscribed with their selfie's embedding.
  const folks = await people();
  const engine = await createFaceEngine({ modelDir: testModelDir() });
  const subs: { participantId: number; chat: number; person: number; selfie: Buffer }[] = [];
  for (let i = 0; i < participantCount; i++) {
    const person = i % folks.length;
    const selfie = await sharp(folks[person]!.files[0]!).rotate().resize(900, 900, { fit: 'inside' }).jpeg().toBuffer();
    const face = (await engine.analyze(selfie, { mode: 'selfie' })).faces[0];
    if (!face) throw new Error(`no face in ${folks[person]!.files[0]}`);
    const chat = 9_000_000 + i;
    const p = await deps.repositories.participants.upsert(chat, 'en');
    await deps.repositories.participants.update(p.id, { consent_at: new Date() });
    await deps.repositories.participants.join(p.id, event.id);
    await deps.repositories.participantEmbeddings.upsert({ participantId: p.id, eventId: event.id, vector: toStorageVector(face.embedding), modelPack: engine.packId });
    await deps.repositories.participants.setLiveDelivery(p.id, event.id, true);
    subs.push({ participantId: p.id, chat, person, selfie });
  }
  await engine.close();

  // Some photos to find, then the bot on an idle service: selfie → first album (throttler on, as in production).
  // The camera pushes over FTP to the ftp role (as camera bodies do); `--camera http` posts to the upload API instead.
  const camera: LiveCamera =
    cameraKind === 'http'
      ? createHttpCamera({ api, authorization, eventId: event.id })
      : await (async () => {
          const { credential, password } = await deps.services.ftpCredentials.create(photographer.id, event.id, 'bench camera');
          return createFtpCamera({
            host: '127.0.0.1',
            port: service.ftp!.port,
            user: credential.username,
            password,
            findByHash: async (sha256) => (await deps.repositories.photos.findByHash(event.id, sha256))?.id,
          });
        })();
  cleanup.push(() => camera.close());
  const warm: number[] = [];
  for (let i = 0; i < 4; i++) warm.push(await camera.shoot(await shot([folks[(2 * i) % folks.length]!, folks[(2 * i + 1) % folks.length]!], 1000 + i), `warm-${i}.jpg`));
  for (;;) {
    const rows = await Promise.all(warm.map((id) => deps.repositories.photos.findById(id)));
    if (rows.every((r) => r?.status === 'failed' || (r?.status === 'done' && !r.refine_pending))) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(`Warm-up shots processed (load average ${load()}); the bot on an idle service`);
  const botMs: number[] = [];
  for (let i = 0; i < Math.min(8, subs.length); i++) {
    const s = subs[i]!;
    const from = fake.mark();
    const t0 = performance.now();
    fake.sendPhoto(s.chat, s.selfie);
    const first = await fake.waitFor((c) => chatOf(c) === s.chat && (c.method === 'sendMediaGroup' || c.method === 'sendPhoto' || (c.method === 'sendMessage' && /Nothing|nothing/.test(String(c.params.text)))), from, 60_000);
    if (first.method !== 'sendMessage') botMs.push(performance.now() - t0);
    await fake.waitForText(s.chat, /./, first.index + 1, 60_000).catch(() => undefined);
  }
  const idlePhotos = (await deps.repositories.photos.progress(event.id)).total;
  await new Promise((r) => setTimeout(r, (batchS + 1) * 1000)); // let the warm-up's live albums go out before counting

  // The backlog: earlier photos queued in bulk (not live).
  const backlogFiles = await prepareBenchPhotos(path.join(await devDataDir(), 'faces'), path.join(work.dir, 'backlog'), Math.min(backlogCount, 60));
  const backlogIds: number[] = [];
  for (let i = 0; i < backlogCount; i++) {
    const bytes = await readFile(backlogFiles[i % backlogFiles.length]!);
    // Distinct bytes per photo (the server stores identical files once): a trailing comment.
    const unique = Buffer.concat([bytes, Buffer.from(`\n${i}`)]);
    const form = new FormData();
    form.append('event_id', String(event.id));
    form.append('file', new Blob([unique]), `backlog-${i}.jpg`);
    const res = await fetch(`${api}/faces/upload`, { method: 'POST', headers: { authorization }, body: form });
    if (res.status !== 201) throw new Error(`backlog upload failed: ${res.status}`);
    backlogIds.push(((await res.json()) as { face_id: number }).face_id);
  }
  console.log(`Backlog of ${backlogCount} queued; camera starts (load average ${load()})`);
  const backlogDone = async (): Promise<number> =>
    Number((await deps.dbs.main.selectFrom('faces').select((eb) => eb.fn.countAll<number>().as('n')).where('id', 'in', backlogIds).where('status', 'in', ['done', 'failed']).executeTakeFirstOrThrow()).n);

  // The run: camera shots and selfie searches.
  const shots = new Map<number, { at: number; persons: number[]; n: number }>();
  const searchMs: number[] = [];
  const runStart = Date.now();
  // Only what is sent from here on counts for repeats (the idle bot phase sent search albums to some chats).
  const runMark = fake.mark();
  const runEnd = runStart + minutes * 60_000;
  const doneAtStart = await backlogDone();
  const searching = (async () => {
    for (let i = 0; Date.now() < runEnd; i++) {
      const s = subs[i % subs.length]!;
      const t0 = performance.now();
      await deps.services.search.search({ kind: 'photographer', photographerId: photographer.id, eventId: event.id }, [s.selfie], { threshold: 0.7, limit: 50 });
      searchMs.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, searchEveryS * 1000));
    }
  })();
  for (let n = 0; Date.now() < runEnd; n++) {
    const persons = [(2 * n) % folks.length, (2 * n + 1) % folks.length];
    const bytes = await shot(persons.map((p) => folks[p]!), n);
    const at = Date.now();
    const id = await camera.shoot(bytes, `shot-${n}.jpg`);
    if (shots.has(id)) throw new Error(`shot ${n} was stored as photo ${id}, which an earlier shot already is`);
    shots.set(id, { at, persons, n });
    const next = runStart + (n + 1) * intervalS * 1000;
    if (next > Date.now()) await new Promise((r) => setTimeout(r, next - Date.now()));
  }
  await searching;
  const runSeconds = (Date.now() - runStart) / 1000;
  const doneDuringRun = (await backlogDone()) - doneAtStart;
  console.log(`Camera stopped after ${fmt(runSeconds, 0)} s: ${shots.size} shots; waiting for their deliveries (load average ${load()})`);

  // Every shot processed and refined, and its deliveries flushed (or 3 minutes at most).
  const ids = [...shots.keys()];
  const settleUntil = Date.now() + 180_000;
  for (;;) {
    const open = Number((await deps.dbs.main.selectFrom('faces').select((eb) => eb.fn.countAll<number>().as('n')).where('id', 'in', ids).where((eb) => eb.or([eb('status', 'in', ['pending', 'processing']), eb('refine_pending', '=', true)])).executeTakeFirstOrThrow()).n);
    const pending = await deps.repositories.participants.hasPendingDeliveries(event.id);
    if ((open === 0 && !pending) || Date.now() > settleUntil) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  await new Promise((r) => setTimeout(r, (batchS + 1) * 1000));

  const rows = await deps.dbs.main.selectFrom('participant_deliveries').select(['participant_id', 'face_id', 'status', 'sent_at', 'claimed_at']).where('event_id', '=', event.id).where('face_id', 'in', ids).execute();
  const latency = rows.filter((r) => r.status === 'sent' && r.sent_at).map((r) => r.sent_at!.getTime() - shots.get(r.face_id)!.at);
  // A delivery sent before its shot, or a minute after it, is a fault of the run (or of the service): show it.
  const odd = rows.filter((r) => r.status === 'sent' && r.sent_at && (r.sent_at.getTime() < shots.get(r.face_id)!.at || r.sent_at.getTime() - shots.get(r.face_id)!.at > 60_000));
  for (const r of odd.slice(0, 10)) {
    const shotOf = shots.get(r.face_id)!;
    console.log(`  odd delivery: photo ${r.face_id} (shot ${shotOf.n} at ${new Date(shotOf.at).toISOString()}) to participant ${r.participant_id}: claimed ${r.claimed_at?.toISOString()}, sent ${r.sent_at!.toISOString()}`);
  }
  const expected = ids.reduce((n, id) => n + subs.filter((s) => shots.get(id)!.persons.includes(s.person)).length, 0);
  const byChat = new Map(subs.map((s) => [s.chat, s.participantId]));
  // Photos the fake Telegram received per participant vs rows sent: more would be a repeat.
  const received = new Map<number, number>();
  for (const c of fake.calls.slice(runMark)) {
    const chat = chatOf(c);
    if (chat === undefined || !byChat.has(chat) || c.error !== undefined) continue;
    if (c.method === 'sendPhoto' || c.method === 'sendMediaGroup') received.set(chat, (received.get(chat) ?? 0) + (c.method === 'sendPhoto' ? 1 : mediaOf(c).length));
  }
  const allSent = await deps.dbs.main
    .selectFrom('participant_deliveries')
    .select(['participant_id'])
    .where('event_id', '=', event.id)
    .where('status', '=', 'sent')
    .where('sent_at', '>=', new Date(runStart))
    .execute();
  const sentPer = new Map<number, number>();
  for (const r of allSent) sentPer.set(r.participant_id, (sentPer.get(r.participant_id) ?? 0) + 1);
  const repeats = subs.reduce((n, s) => n + Math.max(0, (received.get(s.chat) ?? 0) - (sentPer.get(s.participantId) ?? 0)), 0);
  const correct = rows.filter((r) => r.status === 'sent' && subs.find((s) => s.participantId === r.participant_id && shots.get(r.face_id)!.persons.includes(s.person))).length;

  // The backlog after the run.
  const afterStart = Date.now();
  const doneAfterStart = await backlogDone();
  const drainFor = Math.min(120_000, Math.max(30_000, backlogCount * 100));
  while (Date.now() - afterStart < drainFor && (await backlogDone()) < backlogCount) await new Promise((r) => setTimeout(r, 2000));
  const afterPps = ((await backlogDone()) - doneAfterStart) / ((Date.now() - afterStart) / 1000);

  console.log('');
  console.log(`Machine: ${os.availableParallelism()} CPUs, load average now ${load()} (shared with other work)`);
  console.log(`Shot → album in the participant's chat: p50 ${fmt(percentile(latency, 50) / 1000, 2)} s, p95 ${fmt(percentile(latency, 95) / 1000, 2)} s, max ${fmt(Math.max(...latency) / 1000, 2)} s (${latency.length} deliveries)`);
  console.log(`Deliveries: ${correct} of ${expected} expected (participant in the shot) sent, ${latency.length - correct} to others, ${repeats} repeated`);
  console.log(`Selfie searches during the run: ${searchMs.length}, p50 ${fmt(percentile(searchMs, 50) / 1000, 2)} s, p95 ${fmt(percentile(searchMs, 95) / 1000, 2)} s (end to end through the queue)`);
  console.log(`Bot on an idle service (${idlePhotos} photos), selfie → first album: p50 ${fmt(percentile(botMs, 50) / 1000, 2)} s, max ${fmt(Math.max(...botMs) / 1000, 2)} s (${botMs.length} selfies)`);
  console.log(`Backlog: ${fmt(doneDuringRun / runSeconds, 3)} photos/s during the run (${doneDuringRun} done), ${fmt(afterPps, 3)} photos/s after it`);
} finally {
  for (const step of cleanup.reverse()) await step().catch((err: unknown) => console.error('cleanup:', err));
}
