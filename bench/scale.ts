/**
 * Scale benchmark (issue #17): many faces in many events on one PostgreSQL, through the service's
 * own repositories.
 *
 *   npm run bench:scale -- [--faces 10000000] [--events 10000] [--queries 100] [--index-min 8000] [--build-repeats 3]
 *                          [--write-rate 200] [--ef-search N] [--hnsw-m N] [--no-ingest] [--keep] [--url postgres://…/postgres]
 *
 * Creates a scratch database, applies the real db_vector migrations and bulk-loads `faces`
 * synthetic default-pack faces (128-d, model pack faceapi-resnet128) into `events` events, sizes
 * log-uniform from 100 to 100,000, with binary COPY. Rows of all events are interleaved in chunks of
 * 50 (as concurrent ingest writes them), in the stored half precision. Vectors are clustered like
 * faces (see bench/search.ts).
 * Then:
 *   1. builds every event index (events ≥ index-min faces) with the service's repository, timing
 *      each; rebuilds the pinned 10,000-face event's index until it has --build-repeats timings and
 *      prints their median (the figure to compare across --faces);
 *   2. per size band: p50/p99 of the service search (the repository call the worker makes),
 *      recall@10 against the exact scan, under-filled results at the default threshold — while a
 *      writer stores --write-rate faces a second into other events (unless --no-ingest); under
 *      each band, its slowest searches with their run-queue waits and GC pauses (where a tail comes from);
 *   3. bytes per stored face, table and all indexes included.
 * The database is dropped at the end unless --keep.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import crypto from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { sql, type Kysely } from 'kysely';
import type { VectorDatabase } from '../models/index.js';
import { DEFAULT_VECTOR_INDEX_MIN_FACES } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrator.js';
import { createEmbeddingRepository } from '../src/repositories/embedding.repository.js';
import { createVectorIndexRepository } from '../src/repositories/vector-index.repository.js';
import { createVectorSearchRepository, type PhotoMatch } from '../src/repositories/vector-search.repository.js';
import { STORAGE_WIDTH } from '../src/repositories/stored-vector.js';
import { similarityToCosine } from '../src/vision/index.js';
import { halfBits } from './lib/half-float.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number | string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : String(fallback);
};
const FACES = Number(opt('faces', 10_000_000));
const EVENTS = Number(opt('events', 10_000));
const QUERIES = Number(opt('queries', 100));
const INDEX_MIN = Number(opt('index-min', DEFAULT_VECTOR_INDEX_MIN_FACES));
const BUILD_REPEATS = Number(opt('build-repeats', 3));
const INGEST = !args.includes('--no-ingest');
/** hnsw.ef_search of indexed events' searches (default: the service's). */
const EF_SEARCH = args.includes('--ef-search') ? Number(opt('ef-search', 0)) : undefined;
/** HNSW graph degree of the event indexes the bench builds (default: the service's). */
const HNSW_M = args.includes('--hnsw-m') ? Number(opt('hnsw-m', 0)) : undefined;
/**
 * Faces a second the writer stores (0: as fast as it can). The default is ~40 times what the whole
 * ingest pipeline produces on these 2 cores (0.53 photos/s, bench:ingest); flat out, the writer
 * stores 600–1,100 faces a second and mostly measures how 4 busy processes share 2 cores.
 */
const WRITE_RATE = Number(opt('write-rate', 200));
const KEEP = args.includes('--keep');
const ADMIN_URL = opt('url', process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const PACK = 'faceapi-resnet128';
const DIMS = 128;
const K = 10;
const CHUNK = 50;
const FACE_SIGMA = Math.sqrt(0.25 / DIMS);
const DEFAULT_MAX_DISTANCE = similarityToCosine(0.7, PACK);

let seed = 42;
const rand = (): number => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
function unit(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}
const around = (center: Float32Array, sigma: number): Float32Array => unit(Float32Array.from(center, (c) => c + sigma * gauss()));

/**
 * Log-uniform shape scaled to sum to FACES, with both ends and one 10,000-face event pinned (the
 * index-build comparison across scales times that event): 100, min(100,000, FACES / 10), 10,000.
 */
function eventSizes(): number[] {
  const pinned = [100, Math.min(100_000, Math.round(FACES / 10)), 10_000].slice(0, EVENTS);
  const raw = Array.from({ length: EVENTS - pinned.length }, () => Math.exp(Math.log(100) + rand() * Math.log(1000)));
  const rest = FACES - pinned.reduce((a, b) => a + b, 0);
  const sum = raw.reduce((a, b) => a + b, 0);
  return [...pinned, ...raw.map((s) => Math.max(100, Math.min(100_000, Math.round((s * rest) / sum))))];
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const seconds = (t0: number): string => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

/**
 * The bench process's own garbage-collection pauses (it holds every synthetic person): a search
 * timed across one looks slower for a reason no database or service change would fix, so each
 * band says how much of its timings they took.
 */
const gcPauses: { start: number; end: number }[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push({ start: e.startTime, end: e.startTime + e.duration });
}).observe({ entryTypes: ['gc'] });

function gcPauseWithin(from: number, to: number): number {
  let ms = 0;
  for (const p of gcPauses) ms += Math.max(0, Math.min(to, p.end) - Math.max(from, p.start));
  return ms;
}

/**
 * Nanoseconds this process's main thread has spent runnable but waiting for a CPU (Linux
 * schedstat; null elsewhere). On 2 cores shared with the writer and both their PostgreSQL backends,
 * a search can sit in the run queue for a scheduler period: this tells that apart from a slow query.
 */
function runQueueWaitNs(file = '/proc/thread-self/schedstat'): number | null {
  try {
    return Number(readFileSync(file, 'utf8').split(' ')[1]);
  } catch {
    return null;
  }
}

/** application_name of the searches' connections, so their backends can be told from the writer's. */
const SEARCH_APP = 'facepass-bench-scale-search';

/** runQueueWaitNs for the database backends serving the searches (PostgreSQL on this host), summed. */
const backendsWaitNs = (pids: number[]): number => pids.reduce((sum, pid) => sum + (runQueueWaitNs(`/proc/${pid}/schedstat`) ?? 0), 0);

/** People of each event: a shared direction plus a per-person offset (strangers ~0.5 apart). */
function people(sizes: number[]): Float32Array[][] {
  const common = unit(Float32Array.from({ length: DIMS }, gauss));
  return sizes.map((size) => Array.from({ length: Math.max(2, Math.round(size / 10)) }, () => around(common, 1 / Math.sqrt(DIMS))));
}

/** PostgreSQL binary COPY rows for face_embeddings (face_id, event_id, embedding, bbox ×4, score, model_pack, yaw). */
function* copyRows(sizes: number[], centers: Float32Array[][]): Generator<Buffer> {
  yield Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
  const pack = Buffer.from(PACK);
  // The embedding in halfvec's binary form: dimensions, an unused int16, then 2-byte floats.
  const rowBytes = 2 + 8 * 2 + (4 + 4 + DIMS * 2) + 6 * 8 + (4 + pack.length);
  const rounds = Math.ceil(Math.max(...sizes) / CHUNK);
  let photoId = 0;
  for (let r = 0; r < rounds; r++) {
    const parts: Buffer[] = [];
    for (let e = 0; e < sizes.length; e++) {
      for (let n = r * CHUNK; n < Math.min(sizes[e]!, (r + 1) * CHUNK); n++) {
        const ppl = centers[e]!;
        const v = around(ppl[Math.floor(rand() * ppl.length)]!, FACE_SIGMA);
        const b = Buffer.allocUnsafe(rowBytes);
        let o = b.writeInt16BE(10, 0);
        o = b.writeInt32BE(4, o);
        o = b.writeInt32BE(++photoId, o); // face_id: a photo per face, ids in load order (int4, as the column)
        o = b.writeInt32BE(4, o);
        o = b.writeInt32BE(e + 1, o);
        o = b.writeInt32BE(4 + DIMS * 2, o);
        o = b.writeInt16BE(DIMS, o);
        o = b.writeInt16BE(0, o);
        for (const x of v) o = b.writeUInt16BE(halfBits(x), o);
        for (const x of [0, 0, 100, 100, 0.99, 0]) {
          if (x === 0.99) {
            o = b.writeInt32BE(pack.length, o);
            o += pack.copy(b, o);
            o = b.writeInt32BE(4, o);
            o = b.writeFloatBE(x, o);
            continue;
          }
          o = b.writeInt32BE(4, o);
          o = b.writeFloatBE(x, o);
        }
        parts.push(b.subarray(0, o));
      }
    }
    if (parts.length) yield Buffer.concat(parts);
  }
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1, 0);
  yield trailer;
}

async function main(): Promise<void> {
  const dbName = `fp_bench_scale_${crypto.randomBytes(3).toString('hex')}`;
  const admin = await openDatabase<unknown>({ kind: 'postgres', url: ADMIN_URL, poolSize: 1 });
  await sql.raw(`CREATE DATABASE ${dbName}`).execute(admin);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  // Named, so that the search's own backends can be told from the writer's (see backendsWaitNs).
  const db = await openDatabase<VectorDatabase>({ kind: 'postgres', url: `${url.toString()}?application_name=${SEARCH_APP}`, poolSize: 3 });
  try {
    await migrateToLatest(db as Kysely<unknown>, 'vector');
    const sizes = eventSizes();
    const total = sizes.reduce((a, b) => a + b, 0);
    const centers = people(sizes);
    console.log(`${new Date().toISOString()}: loading ${total} faces (${DIMS}-d, ${PACK}) into ${sizes.length} events (sizes ${Math.min(...sizes)}–${Math.max(...sizes)}) by binary COPY…`);
    let t0 = performance.now();
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await pipeline(Readable.from(copyRows(sizes, centers)),
        client.query(copyFrom(`COPY face_embeddings (face_id, event_id, embedding, bbox_x, bbox_y, bbox_width, bbox_height, model_pack, detection_score, yaw) FROM STDIN (FORMAT binary)`)));
    } finally {
      await client.end();
    }
    console.log(`  loaded in ${seconds(t0)}`);
    t0 = performance.now();
    await sql`vacuum analyze face_embeddings`.execute(db);
    console.log(`  vacuum analyze ${seconds(t0)}`);
    // The load leaves gigabytes of dirty pages at 10 M faces; flushed during the timed index builds,
    // they made the same build 30 % slower than at 1 M. An installation builds an event's index in
    // steady state, so the bench writes them out first.
    t0 = performance.now();
    await sql`checkpoint`.execute(db);
    console.log(`  checkpoint ${seconds(t0)}`);

    const indexes = createVectorIndexRepository(db, HNSW_M ? { m: HNSW_M } : {});
    // The pinned 10,000-face event (id 3) is always indexed: its build time is the cross-scale figure.
    const large = sizes.map((size, i) => ({ size, id: i + 1 })).filter((e) => e.size >= INDEX_MIN || e.id === 3);
    const builds: { size: number; ms: number }[] = [];
    t0 = performance.now();
    for (const [n, e] of large.entries()) {
      const t = performance.now();
      await indexes.build({ eventId: e.id, modelPack: PACK, dimensions: DIMS });
      builds.push({ size: e.size, ms: performance.now() - t });
      if (n % 20 === 0) process.stdout.write(`\r  index ${n}/${large.length}, ${seconds(t0)}`);
    }
    // One build is too noisy to compare across scales (±25 % between runs): the pinned event's index
    // is dropped and rebuilt until there are BUILD_REPEATS timings, and their median is the figure.
    const pinned = builds.find((b) => b.size === 10_000);
    const pinnedMs = pinned ? [pinned.ms] : [];
    while (pinned && pinnedMs.length < BUILD_REPEATS) {
      await indexes.dropForEvent(3);
      const t = performance.now();
      await indexes.build({ eventId: 3, modelPack: PACK, dimensions: DIMS });
      pinnedMs.push(performance.now() - t);
    }
    const tenK = builds.filter((b) => b.size >= 9000 && b.size <= 11000);
    const perTenK = tenK.length ? tenK.reduce((a, b) => a + (b.ms * 10_000) / b.size, 0) / tenK.length : NaN;
    console.log(`\r  ${large.length} event indexes (${HNSW_M ? `m ${HNSW_M}, ` : ''}events ≥ ${INDEX_MIN} faces, ${large.reduce((a, e) => a + e.size, 0)} faces) built in ${seconds(t0)}; ` +
      `events below ${INDEX_MIN} faces are searched exactly${INDEX_MIN > 10_000 ? ' (except the 10,000-face one)' : ''}; ` +
      `the 10,000-face event's index: median ${pinned ? (pct(pinnedMs, 50) / 1000).toFixed(2) : '–'} s of ${pinnedMs.length} builds (${pinnedMs.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s; ` +
      `events of 9,000–11,000 faces: ${(perTenK / 1000).toFixed(2)} s per 10,000, ${tenK.length} events)`);

    // A writer process (as an ingest worker would be) storing photos into odd-numbered events while
    // the searches run on even-numbered ones: same partitions and pages, but the truths stay true.
    const writer = INGEST ? fork(process.argv[1]!, ['--writer', url.toString(), ...args], { execArgv: process.execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }) : undefined;
    const fromWriter = <K extends WriterMessage['kind']>(kind: K) =>
      new Promise<Extract<WriterMessage, { kind: K }>>((resolve) => writer!.on('message', (m: WriterMessage) => m.kind === kind && resolve(m as Extract<WriterMessage, { kind: K }>)));
    const written = writer ? fromWriter('stopped').then((m) => m.stored) : Promise.resolve(0);
    // The writer first rebuilds the synthetic people (about a minute at 10 M faces): the searches
    // wait until it is writing, or at 10 M they ran before any ingest did.
    if (writer) await fromWriter('ready');
    const ids = (rows: PhotoMatch[]): Set<number> => new Set(rows.map((r) => r.faceId));
    const search = createVectorSearchRepository(db, EF_SEARCH ? { efSearch: EF_SEARCH } : {});
    const bands: [number, number][] = [[100, 300], [300, 3000], [3000, 30_000], [30_000, 100_001]];
    const t1 = performance.now();
    console.log(`\n${QUERIES} queries per band, k = ${K}${INGEST ? `, while a writer stores photos into other events (${WRITE_RATE > 0 ? `${WRITE_RATE} faces/s` : 'flat out'})` : ''}`);
    console.log(`${'event size'.padEnd(16)}${'events'.padStart(7)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}${'recall@10'.padStart(11)}${'underfilled'.padStart(13)}`);
    let allMet = true;
    for (const [lo, hi] of bands) {
      const events = sizes.map((size, i) => ({ size, id: i + 1 })).filter((e) => e.size >= lo && e.size < hi && (!INGEST || e.id % 2 === 0));
      if (events.length === 0) continue;
      const queries: { eventId: number; vector: number[]; truth: Set<number>; atThreshold: number }[] = [];
      for (let q = 0; q < QUERIES + 5; q++) {
        const ev = events[Math.floor(rand() * events.length)]!;
        const ppl = centers[ev.id - 1]!;
        const vector = [...around(ppl[Math.floor(rand() * ppl.length)]!, FACE_SIGMA), ...new Array<number>(STORAGE_WIDTH - DIMS).fill(0)];
        const truth = ids(await search.exactNearestPhotos({ eventId: ev.id, modelPack: PACK, vector, maxDistance: 2, limit: K }));
        const atThreshold = (await search.exactNearestPhotos({ eventId: ev.id, modelPack: PACK, vector, maxDistance: DEFAULT_MAX_DISTANCE, limit: K })).length;
        queries.push({ eventId: ev.id, vector, truth, atThreshold });
      }
      // Exact truths first (they read whole events), then the service's queries in a different order.
      queries.sort(() => rand() - 0.5);
      const time: number[] = [];
      const recall: number[] = [];
      const gcInTimed: number[] = [];
      const waitInTimed: number[] = [];
      const backendWaitInTimed: number[] = [];
      const backends = (await sql<{ pid: number }>`select pid from pg_stat_activity where application_name = ${SEARCH_APP}`.execute(db)).rows.map((r) => r.pid);
      gcPauses.length = 0;
      let underfilled = 0;
      for (const [q, { eventId, vector, truth, atThreshold }] of queries.entries()) {
        const waited = runQueueWaitNs();
        const backendWaited = backendsWaitNs(backends);
        const t = performance.now();
        const got = await search.nearestPhotos({ eventId, modelPack: PACK, vector, maxDistance: 2, limit: K });
        const ms = performance.now() - t;
        if (q < 5) continue; // warm-up
        time.push(ms);
        waitInTimed.push(waited === null ? 0 : (runQueueWaitNs()! - waited) / 1e6);
        backendWaitInTimed.push((backendsWaitNs(backends) - backendWaited) / 1e6);
        gcInTimed.push(gcPauseWithin(t, t + ms));
        recall.push([...ids(got)].filter((f) => truth.has(f)).length / Math.max(1, truth.size));
        if ((await search.nearestPhotos({ eventId, modelPack: PACK, vector, maxDistance: DEFAULT_MAX_DISTANCE, limit: K })).length < atThreshold) underfilled += 1;
      }
      const r = recall.reduce((a, b) => a + b, 0) / recall.length;
      allMet &&= pct(time, 99) <= 20 && r >= 0.99 && underfilled === 0;
      console.log(`${`${lo}–${Math.min(hi, 100_000)}`.padEnd(16)}${String(events.length).padStart(7)}${pct(time, 50).toFixed(1).padStart(9)}${pct(time, 99).toFixed(1).padStart(9)}${Math.max(...time).toFixed(1).padStart(9)}${r.toFixed(3).padStart(11)}${String(underfilled).padStart(13)}`);
      const slowest = time
        .map((ms, i) => ({ ms, wait: waitInTimed[i]!, backendWait: backendWaitInTimed[i]!, gc: gcInTimed[i]! }))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 3);
      console.log(`${''.padEnd(16)}  slowest: ${slowest.map((x) => `${x.ms.toFixed(1)} ms (run-queue wait ${x.wait.toFixed(1)} here + ${x.backendWait.toFixed(1)} in PostgreSQL, GC ${x.gc.toFixed(1)})`).join('; ')}`);
      const hit = gcInTimed.filter((ms) => ms > 0);
      if (hit.length > 0) {
        const net = time.map((ms, i) => ms - gcInTimed[i]!);
        console.log(`${''.padEnd(16)}  the bench's own GC paused ${hit.length} of these searches (longest ${Math.max(...hit).toFixed(1)} ms); without those pauses p99 ${pct(net, 99).toFixed(1)}, max ${Math.max(...net).toFixed(1)} ms`);
      }
    }
    writer?.send('stop');
    const stored = await written;
    if (INGEST) console.log(`  meanwhile the writer stored ${stored} faces (${(stored / ((performance.now() - t1) / 1000)).toFixed(0)} faces/s)`);

    const { rows } = await sql<{ n: string; table: string; indexes: string; ann: string }>`
      select (select count(*) from face_embeddings) as n,
        sum(pg_table_size(c.oid)) as table, sum(pg_indexes_size(c.oid)) as indexes,
        (select coalesce(sum(pg_relation_size(format('%I', index_name)::regclass)), 0) from event_vector_indexes) as ann
      from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'face_embeddings'::regclass`.execute(db);
    const s = rows[0]!;
    const n = Number(s.n);
    const mb = (x: string) => `${(Number(x) / 2 ** 20).toFixed(0)} MB`;
    console.log(`\n${n} faces: table ${mb(s.table)}, indexes ${mb(s.indexes)} (of which event HNSW ${mb(s.ann)}); ` +
      `${((Number(s.table) + Number(s.indexes)) / n).toFixed(0)} bytes per face all included ` +
      `(table ${(Number(s.table) / n).toFixed(0)}, btrees ${((Number(s.indexes) - Number(s.ann)) / n).toFixed(0)}, HNSW ${(Number(s.ann) / n).toFixed(0)}). Goal ≤ 800.`);
    console.log(`Targets (p99 ≤ 20 ms, recall@10 ≥ 0.99, never under-filled) ${allMet ? 'met' : 'NOT met'} in every band.`);
  } finally {
    await db.destroy();
    if (KEEP) console.log(`kept database ${dbName}`);
    else await sql.raw(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).execute(admin);
    await admin.destroy();
  }
}

/** What the writer process tells the bench. */
type WriterMessage = { kind: 'ready' } | { kind: 'stopped'; stored: number };

/** The writer process: photos of 1–4 faces into random odd-numbered events, WRITE_RATE faces a second (0: flat out), until told to stop. */
async function write(url: string): Promise<void> {
  const sizes = eventSizes();
  const centers = people(sizes);
  const db = await openDatabase<VectorDatabase>({ kind: 'postgres', url, poolSize: 1 });
  const embeddings = createEmbeddingRepository(db);
  let running = true;
  process.on('message', () => (running = false));
  let stored = 0;
  let photo = 2_000_000_000;
  process.send!({ kind: 'ready' } satisfies WriterMessage);
  const started = performance.now();
  while (running) {
    const e = 2 * Math.floor(rand() * Math.floor(sizes.length / 2)); // index e is event e + 1: odd
    const ppl = centers[e]!;
    const faces = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => ({
      vector: [...around(ppl[Math.floor(rand() * ppl.length)]!, FACE_SIGMA), ...new Array<number>(STORAGE_WIDTH - DIMS).fill(0)],
      box: { x: 0, y: 0, width: 100, height: 100 },
      score: 0.99,
    }));
    await embeddings.replaceForPhoto({ faceId: photo--, eventId: e + 1, modelPack: PACK }, faces);
    stored += faces.length;
    // Rate limit, not synchronisation: hold the pace of WRITE_RATE faces a second on average.
    const ahead = (stored / WRITE_RATE) * 1000 - (performance.now() - started);
    if (WRITE_RATE > 0 && ahead > 0) await delay(ahead);
  }
  await db.destroy();
  process.send!({ kind: 'stopped', stored } satisfies WriterMessage, () => process.exit(0));
}

const writerAt = args.indexOf('--writer');
(writerAt >= 0 ? write(args[writerAt + 1]!) : main()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
