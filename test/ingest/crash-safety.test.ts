import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import type { QueueEvents } from 'bullmq';
import { sql } from 'kysely';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { groupPhoto, johns } from '../helpers/dev-event.js';
import { sharedServiceEnv, tempDir } from '../helpers/services.js';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { testModelDir } from '../vision/fixtures.js';

const BIN = path.resolve('bin/facepass.js');

/** Starts `facepass start --role worker` as a real process; resolves once it takes jobs. */
async function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'start', '--role', 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`worker exited (${code}) before starting: ${stderr}`));
    child.once('exit', onExit);
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"msg":"worker started"')) {
        child.off('exit', onExit);
        resolve();
      }
    });
  });
  return child;
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

/** A TCP proxy to PostgreSQL that the test can cut and restore, to play a database outage. */
async function startPgProxy(target: URL): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 5432), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', () => {
        const address = server!.address();
        port = typeof address === 'object' && address ? address.port : 0;
        resolve();
      });
    });
  const cut = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (server) server.close(() => resolve());
      else resolve();
      server = undefined;
    });
  await listen();
  return { port, cut, restore: listen, close: cut };
}

describe('ingest crash safety (real worker processes)', () => {
  let t: TestApp;
  let base: string;
  let owner: { headers: { authorization: string } };
  let data: { dir: string; remove(): Promise<void> };
  let pipeline: TestPipeline;
  let queueEvents: QueueEvents;
  let workerEnv: Record<string, string>;
  const children: ChildProcess[] = [];

  before(async () => {
    t = await createTestApp();
    data = await tempDir();
    // API in this process; the workers are real processes started by each test.
    pipeline = await startPipeline(t);
    base = pipeline.api;
    owner = await t.photographer();
    queueEvents = await pipeline.events('photos');
    const { config } = t.deps;
    workerEnv = {
      FACEPASS_DATA_DIR: data.dir,
      ...sharedServiceEnv(config),
      MODEL_DIR: testModelDir(),
      JOB_LOCK_SECONDS: '3',
      JOB_ATTEMPTS: '10',
      LOG_LEVEL: 'info',
    };
  });
  after(async () => {
    for (const child of children) await kill(child, 'SIGKILL');
    await pipeline.close();
    await t.close();
    await data.remove();
  });

  const uploadPhotos = async (eventId: number, count: number, seed: number): Promise<{ face_id: number; task_id: string }[]> => {
    const people = await johns();
    const out = [];
    for (let i = 0; i < count; i++) {
      const faces = [people[i % 5]!.files[(seed + i) % 11]!, people[(i + 1) % 5]!.files[(seed + 2 * i) % 11]!];
      const form = new FormData();
      form.append('event_id', String(eventId));
      form.append('file', new Blob([await groupPhoto(faces, seed + i)]), `p${i}.jpg`);
      const res = await fetch(`${base}/faces/upload`, { method: 'POST', headers: owner.headers, body: form });
      assert.equal(res.status, 201);
      out.push((await res.json()) as { face_id: number; task_id: string });
    }
    return out;
  };

  const newEvent = async (): Promise<number> =>
    (await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: owner.headers, payload: { name: 'Crash' } })).json<{ id: number }>().id;

  /** Every photo done, and exactly face_count embeddings each: no duplicates, none missing. */
  const assertProcessedOnce = async (eventId: number, count: number) => {
    const photos = await t.deps.dbs.main.selectFrom('faces').select(['id', 'status', 'face_count']).where('event_id', '=', eventId).execute();
    assert.equal(photos.length, count);
    const { rows } = await sql<{ face_id: number; n: number }>`
      select face_id, count(*)::int as n from face_embeddings where event_id = ${eventId} group by face_id`.execute(t.deps.dbs.vector);
    const perPhoto = new Map(rows.map((r) => [r.face_id, Number(r.n)]));
    for (const p of photos) {
      assert.equal(p.status, 'done', `photo ${p.id}`);
      assert.ok(p.face_count >= 2, `photo ${p.id} has its faces`);
      assert.equal(perPhoto.get(p.id) ?? 0, p.face_count, `photo ${p.id}: embeddings = faces`);
    }
  };

  it('a worker killed mid-job (SIGKILL) loses nothing: a new worker finishes every photo exactly once', async () => {
    const eventId = await newEvent();
    const uploads = await uploadPhotos(eventId, 4, 0);
    const firstActive = new Promise<void>((resolve) => queueEvents.once('active', () => resolve()));
    const doomed = await startWorker(workerEnv);
    children.push(doomed);
    await firstActive;
    await kill(doomed, 'SIGKILL');

    const survivor = await startWorker(workerEnv);
    children.push(survivor);
    for (const u of uploads) await pipeline.waitForJob('photos', u.task_id);
    await assertProcessedOnce(eventId, 4);
    await kill(survivor, 'SIGTERM');
    assert.equal(survivor.exitCode, 0, 'graceful shutdown on SIGTERM');
  });

  it('a database outage during processing makes the job retry, and it completes when the database returns', async () => {
    const target = new URL(t.deps.config.databases.main.kind === 'postgres' ? t.deps.config.databases.main.url : '');
    const proxy = await startPgProxy(target);
    try {
      const viaProxy = new URL(target);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const worker = await startWorker({ ...workerEnv, DATABASE_MAIN_URL: viaProxy.toString() });
      children.push(worker);
      await proxy.cut();

      const eventId = await newEvent();
      const retried = new Promise<void>((resolve) => queueEvents.once('delayed', () => resolve()));
      const [upload] = await uploadPhotos(eventId, 1, 7);
      await retried;
      const photo = await t.deps.repositories.photos.findById(upload!.face_id);
      assert.notEqual(photo?.status, 'done', 'not done while the database is away');

      await proxy.restore();
      await pipeline.waitForJob('photos', upload!.task_id);
      const job = await t.deps.jobs.queue('photos').getJob(upload!.task_id);
      assert.ok((job?.attemptsMade ?? 0) >= 1, 'it took more than one attempt');
      await assertProcessedOnce(eventId, 1);
      await kill(worker, 'SIGTERM');
    } finally {
      await proxy.close();
    }
  });
});
