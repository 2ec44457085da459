import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import { sql } from 'kysely';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { groupPhoto, johns, selfie } from '../helpers/dev-event.js';
import { sharedServiceEnv, tempDir } from '../helpers/services.js';
import { testModelDir } from '../vision/fixtures.js';
import { buttonsOf, FakeTelegram, type ApiCall } from '../bot/fake-telegram.js';

const BIN = path.resolve('bin/facepass.js');
const TOKEN = '123456:TEST-multiprocess_token';

/** A `facepass start --role <role>` process, started like one container of `docker compose up --scale worker=N`. */
interface RoleProcess {
  role: string;
  child: ChildProcess;
  /** The first log line (JSON) whose msg is `msg`. */
  line: Record<string, unknown>;
}

async function startRole(role: 'api' | 'worker' | 'bot', env: Record<string, string>, readyMsg: string): Promise<RoleProcess> {
  const child = spawn(process.execPath, [BIN, 'start', '--role', role], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${role} exited (${code}) before starting: ${stderr}`));
    child.once('exit', onExit);
    readline.createInterface({ input: child.stdout! }).on('line', (text) => {
      if (!text.includes(`"msg":"${readyMsg}"`)) return;
      child.off('exit', onExit);
      resolve(JSON.parse(text) as Record<string, unknown>);
    });
  });
  return { role, child, line };
}

async function stop(p: RoleProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  const exited = once(p.child, 'exit');
  p.child.kill(signal);
  const [code] = (await exited) as [number | null];
  return code;
}

/** Polls an observable condition until it holds (processes report through the databases and queues). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check()); ) {
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const hex = (uuid: string): string => uuid.replace(/-/g, '');
const idsOfButtons = (call: ApiCall): number[] => buttonsOf(call).flatMap((b) => (/^orig:(\d+)$/.exec(b) ? [Number(b.slice(5))] : []));

describe('api, two workers and the bot as separate processes on one PostgreSQL, Redis and S3', () => {
  const fake = new FakeTelegram(TOKEN);
  let t: TestApp;
  const dirs: { remove(): Promise<void> }[] = [];
  const processes: RoleProcess[] = [];
  let env: (name: string) => Promise<Record<string, string>>;

  before(async () => {
    await fake.start();
    // The test app gives fresh databases, a queue prefix and an S3 server; the test reads them directly.
    t = await createTestApp();
    const { config } = t.deps;
    const shared = {
      HOST: '127.0.0.1',
      PORT: '0',
      ...sharedServiceEnv(config),
      MODEL_DIR: testModelDir(),
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: fake.url,
      TELEGRAM_BOT_USERNAME: fake.username,
      LIVE_DELIVERY_BATCH_SECONDS: '1',
      // Any photo left unfinished for a second without a job is the sweep's (the test ages one on purpose).
      SWEEP_LEASE_SECONDS: '1',
      URL_SIGNING_SECRET: 's'.repeat(40),
      ORT_THREADS: '1',
      LOG_LEVEL: 'info',
    };
    // Each process its own data directory, as each container has its own filesystem.
    env = async (name) => {
      const dir = await tempDir(`facepass-${name}-`);
      dirs.push(dir);
      return { ...shared, FACEPASS_DATA_DIR: dir.dir };
    };
  });

  after(async () => {
    for (const p of processes) await stop(p, 'SIGKILL');
    for (const name of ['search', 'delivery'] as const) await t?.deps.jobs.queue(name).obliterate({ force: true });
    await t?.close();
    for (const dir of dirs) await dir.remove();
    await fake.stop();
  });

  it('uploads, searches and delivers live: every photo processed once, no embedding or delivery doubled', async () => {
    const api = await startRole('api', await env('api'), 'api listening');
    processes.push(api);
    const base = `${String(api.line.url)}/api/v1`;
    const { apiKey } = await t.deps.services.photographers.create({ email: 'multi@example.com' });
    const headers = { authorization: `Bearer ${apiKey}` };
    const created = await fetch(`${base}/events/`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Scaled' }) });
    assert.equal(created.status, 201);
    const event = (await created.json()) as { id: number; event_uuid: string };

    const people = await johns();
    const [x, o0, o1, o2] = people;
    assert.ok(x && o0 && o1 && o2);
    const withX = new Set<number>();
    const all = new Set<number>();
    const upload = async (faces: string[], seed: number, hasX: boolean): Promise<{ face_id: number; task_id: string }> => {
      const form = new FormData();
      form.append('event_id', String(event.id));
      form.append('file', new Blob([await groupPhoto(faces, seed)]), `photo-${seed}.jpg`);
      const res = await fetch(`${base}/faces/upload`, { method: 'POST', headers, body: form });
      assert.equal(res.status, 201);
      const body = (await res.json()) as { face_id: number; task_id: string };
      all.add(body.face_id);
      if (hasX) withX.add(body.face_id);
      return body;
    };
    const complete = async (): Promise<boolean> => {
      const res = await fetch(`${base}/events/${event.id}/progress`, { headers });
      const p = (await res.json()) as { complete: boolean; total: number };
      return p.complete && p.total === all.size;
    };

    // Before any worker runs: a photo whose job the queue lost, unfinished for an hour. The sweep that
    // each worker queues at start must find it.
    const lost = await upload([o1.files[0]!, o2.files[0]!], 100, false);
    assert.equal(await t.deps.jobs.queue('photos').remove(lost.task_id), 1);
    await sql`update faces set created_at = now() - interval '1 hour' where id = ${lost.face_id}`.execute(t.deps.dbs.main);

    const workers = [await startRole('worker', await env('worker-1'), 'worker started'), await startRole('worker', await env('worker-2'), 'worker started')];
    processes.push(...workers);
    const bot = await startRole('bot', await env('bot'), 'bot polling for updates');
    processes.push(bot);

    await upload([x.files[0]!, o0.files[0]!], 1, true);
    await upload([o1.files[1]!, o2.files[1]!], 2, false);
    await upload([o0.files[2]!, x.files[1]!, o2.files[2]!], 3, true);
    await upload([o0.files[3]!, o1.files[3]!], 4, false);
    await until('every photo is processed', complete);

    // The photographer's search, through the API process and a worker.
    const selfieX = await selfie(x.files[10]!);
    const form = new FormData();
    form.append('event_id', String(event.id));
    form.append('file', new Blob([selfieX]), 'selfie.jpg');
    const search = await fetch(`${base}/faces/search`, { method: 'POST', headers, body: form });
    assert.equal(search.status, 200);
    const found = ((await search.json()) as { results: { face_id: number }[] }).results.map((r) => r.face_id);
    assert.deepEqual(new Set(found), withX);

    // A participant, through the bot process: deep link, consent, selfie, live delivery on.
    const user = 7001;
    let mark = fake.mark();
    fake.sendText(user, `/start ${hex(event.event_uuid)}`);
    await fake.waitForText(user, /Welcome to “Scaled”/, mark);
    mark = fake.mark();
    fake.press(user, 'consent:yes');
    await fake.waitForText(user, /Thank you! Now send me a selfie/, mark);
    mark = fake.mark();
    fake.sendPhoto(user, selfieX);
    const results = await fake.waitForText(user, new RegExp(`^Photos 1–${withX.size} of ${withX.size}`), mark, 120_000);
    assert.deepEqual(new Set(idsOfButtons(results)), withX);
    mark = fake.mark();
    fake.press(user, 'live:on');
    await fake.waitForText(user, /I will send you new photos of you from “Scaled”/, mark);

    // More photos while the participant is subscribed: the new ones with them go out live, once each.
    const liveMark = fake.mark();
    const before = new Set(withX);
    await upload([x.files[2]!, o1.files[4]!], 5, true);
    await upload([o2.files[5]!, o0.files[5]!], 6, false);
    await upload([x.files[3]!], 7, true);
    await until('every photo is processed', complete);
    const fresh = [...withX].filter((id) => !before.has(id)).sort((a, b) => a - b);
    assert.equal(fresh.length, 2);
    const participant = (await t.deps.repositories.participants.findByTelegramId(user))!;
    const deliveries = () =>
      t.deps.dbs.main.selectFrom('participant_deliveries').select(['face_id', 'status']).where('participant_id', '=', participant.id).where('event_id', '=', event.id).execute();
    await until('the live deliveries are sent', async () => {
      const rows = (await deliveries()).filter((r) => fresh.includes(r.face_id));
      return rows.length === fresh.length && rows.every((r) => r.status === 'sent');
    });
    // Quiet: no delivery work left anywhere that could still send something twice.
    const delivery = t.deps.jobs.queue('delivery');
    await until('the delivery queue is idle', async () => {
      const jobs = await delivery.getJobs(['waiting', 'delayed', 'active', 'prioritized']);
      return jobs.every((j) => j.name === 'recover-live-deliveries');
    });

    // Nothing lost, nothing doubled.
    const photos = await t.deps.dbs.main.selectFrom('faces').select(['id', 'status', 'face_count', 'requeues']).where('event_id', '=', event.id).execute();
    assert.deepEqual(new Set(photos.map((p) => p.id)), all);
    const { rows } = await sql<{ face_id: number; n: number }>`
      select face_id, count(*)::int as n from face_embeddings where event_id = ${event.id} group by face_id`.execute(t.deps.dbs.vector);
    const embeddings = new Map(rows.map((r) => [r.face_id, Number(r.n)]));
    for (const p of photos) {
      assert.equal(p.status, 'done', `photo ${p.id}`);
      assert.ok(p.face_count >= 1, `photo ${p.id} has faces`);
      assert.equal(embeddings.get(p.id), p.face_count, `photo ${p.id}: one embedding per face`);
    }
    assert.equal(photos.find((p) => p.id === lost.face_id)?.requeues, 1, 'the lost photo was queued again once, by the sweep');
    const photoQueue = t.deps.jobs.queue('photos');
    for (const id of all) {
      const job = await photoQueue.getJob(`process-photo-${id}`);
      assert.equal(await job?.getState(), 'completed', `photo ${id}'s job`);
    }
    // Each photo's matches were recorded by one deliver-photo job at most, and the user got each new photo exactly once.
    const sent = fake
      .callsTo(user, liveMark)
      .filter((c) => (c.method === 'sendPhoto' || c.method === 'sendMediaGroup') && c.error === undefined)
      .flatMap((c) => c.files.map((f) => Number(/photo-(\d+)/.exec(f.name)?.[1])));
    assert.deepEqual([...sent].sort((a, b) => a - b), fresh, 'each new photo of the participant delivered exactly once, no other');
    const rowsAfter = await deliveries();
    assert.equal(rowsAfter.length, new Set(rowsAfter.map((r) => r.face_id)).size, 'one delivery row per photo');

    // Every process stops cleanly on SIGTERM.
    for (const p of [bot, ...workers, api]) assert.equal(await stop(p), 0, `${p.role} exits 0 on SIGTERM`);
  });
});
