/**
 * Vector search strategies on real PostgreSQL + pgvector, per event size.
 *
 *   npm run bench:search -- [--total 1000000] [--events 1000] [--queries 50] [--url postgres://…/postgres]
 *
 * Loads `total` synthetic unit vectors (512-d, clustered into "people" so true neighbours exist)
 * across `events` events whose sizes range log-uniformly from 100 to 100,000 faces, into a fresh
 * database, then measures DB latency (p50/p99) and recall@10 against exact search for:
 *   exact  — the service's query: per-event btree scan, exact distances (always recall 1.0)
 *   hnsw   — the global HNSW index with pgvector 0.8 iterative scans and an event filter
 * The database is dropped at the end.
 */
import crypto from 'node:crypto';
import pg from 'pg';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number | string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : String(fallback);
};
const TOTAL = Number(opt('total', 1_000_000));
const EVENTS = Number(opt('events', 1000));
const QUERIES = Number(opt('queries', 50));
const ADMIN_URL = opt('url', process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const DIM = 512;
const K = 10;

// Deterministic PRNG so runs are comparable.
let seed = 42;
const rand = (): number => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const gauss = (): number => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
const unit = (v: Float32Array): Float32Array => {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  return v.map((x) => x / n);
};
const randomUnit = (): Float32Array => unit(Float32Array.from({ length: DIM }, gauss));
const near = (c: Float32Array, sigma: number): Float32Array => unit(c.map((x) => x + gauss() * sigma));
const literal = (v: Float32Array): string => `[${Array.from(v, (x) => x.toFixed(5)).join(',')}]`;

/** Event sizes log-uniform in [100, 100000], scaled to sum to TOTAL, always including both ends. */
function eventSizes(): number[] {
  const raw = Array.from({ length: EVENTS }, (_, i) => (i === 0 ? 100 : i === 1 ? 100_000 : Math.exp(Math.log(100) + rand() * Math.log(1000))));
  const sum = raw.reduce((a, b) => a + b, 0);
  const scale = TOTAL / sum;
  return raw.map((s, i) => Math.max(100, Math.min(100_000, Math.round(i < 2 ? s : s * scale))));
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function main(): Promise<void> {
  const dbName = `fp_bench_search_${crypto.randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();
  try {
    await db.query('CREATE EXTENSION vector');
    await db.query(`CREATE TABLE face_embeddings (id serial primary key, face_id int not null, event_id int not null,
      embedding vector(${DIM}) not null, model_pack varchar not null default 'bench')`);

    const sizes = eventSizes();
    const people = new Map<number, Float32Array[]>();
    console.log(`loading ${sizes.reduce((a, b) => a + b, 0)} vectors into ${sizes.length} events (sizes ${Math.min(...sizes)}–${Math.max(...sizes)})…`);
    let loaded = 0;
    const t0 = performance.now();
    for (const [e, size] of sizes.entries()) {
      const eventId = e + 1;
      // ~10 faces per person: each person appears in several photos of the event.
      const centers = Array.from({ length: Math.max(2, Math.round(size / 10)) }, randomUnit);
      people.set(eventId, centers);
      for (let start = 0; start < size; start += 500) {
        const n = Math.min(500, size - start);
        const values: string[] = [];
        const params: (string | number)[] = [];
        for (let i = 0; i < n; i++) {
          const v = near(centers[Math.floor(rand() * centers.length)]!, 0.025);
          params.push(start + i + 1, eventId, literal(v));
          values.push(`($${params.length - 2}, $${params.length - 1}, $${params.length}::vector)`);
        }
        await db.query(`INSERT INTO face_embeddings (face_id, event_id, embedding) VALUES ${values.join(',')}`, params);
        loaded += n;
      }
      if (e % 50 === 0) process.stdout.write(`\r  ${loaded} rows, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
    console.log(`\n  loaded in ${((performance.now() - t0) / 1000).toFixed(0)} s; indexing…`);
    await db.query('CREATE INDEX ON face_embeddings (event_id)');
    const tIdx = performance.now();
    await db.query("SET maintenance_work_mem = '1GB'");
    await db.query('CREATE INDEX ON face_embeddings USING hnsw (embedding vector_cosine_ops)');
    console.log(`  HNSW built in ${((performance.now() - tIdx) / 1000).toFixed(0)} s`);
    await db.query('ANALYZE face_embeddings');

    const exactSql = `select face_id, min(embedding <=> $2::vector) as d from face_embeddings
      where event_id = $1 and model_pack = 'bench' group by face_id order by d, face_id limit ${K}`;
    const hnswSql = `select face_id, embedding <=> $2::vector as d from face_embeddings
      where event_id = $1 and model_pack = 'bench' order by embedding <=> $2::vector limit ${K}`;

    const buckets = [100, 1000, 10_000, 100_000];
    const bucketOf = (size: number): number => buckets.reduce((best, b) => (Math.abs(Math.log(size / b)) < Math.abs(Math.log(size / best)) ? b : best));
    console.log(`\n${'event size'.padEnd(12)}${'strategy'.padEnd(10)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'recall@10'.padStart(11)}${'underfilled'.padStart(13)}`);
    for (const bucket of buckets) {
      const candidates = sizes.map((s, i) => ({ s, id: i + 1 })).filter((e) => bucketOf(e.s) === bucket);
      if (candidates.length === 0) continue;
      const stats = { exact: [] as number[], hnsw: [] as number[], recall: [] as number[], underfilled: 0 };
      for (let q = 0; q < QUERIES; q++) {
        const ev = candidates[q % candidates.length]!;
        const query = literal(near(people.get(ev.id)![Math.floor(rand() * people.get(ev.id)!.length)]!, 0.025));
        let t = performance.now();
        const exact = await db.query<{ face_id: number }>(exactSql, [ev.id, query]);
        stats.exact.push(performance.now() - t);
        await db.query('BEGIN');
        await db.query('SET LOCAL hnsw.iterative_scan = relaxed_order');
        await db.query('SET LOCAL hnsw.ef_search = 100');
        t = performance.now();
        const approx = await db.query<{ face_id: number }>(hnswSql, [ev.id, query]);
        stats.hnsw.push(performance.now() - t);
        await db.query('COMMIT');
        const truth = new Set(exact.rows.map((r) => r.face_id));
        const got = new Set(approx.rows.map((r) => r.face_id));
        stats.recall.push(truth.size === 0 ? 1 : [...truth].filter((f) => got.has(f)).length / truth.size);
        if (approx.rows.length < Math.min(K, exact.rows.length)) stats.underfilled++;
      }
      const label = `~${bucket}`.padEnd(12);
      console.log(`${label}${'exact'.padEnd(10)}${pct(stats.exact, 50).toFixed(1).padStart(9)}${pct(stats.exact, 99).toFixed(1).padStart(9)}${'1.000'.padStart(11)}${'0'.padStart(13)}`);
      const recall = stats.recall.reduce((a, b) => a + b, 0) / stats.recall.length;
      console.log(`${label}${'hnsw'.padEnd(10)}${pct(stats.hnsw, 50).toFixed(1).padStart(9)}${pct(stats.hnsw, 99).toFixed(1).padStart(9)}${recall.toFixed(3).padStart(11)}${String(stats.underfilled).padStart(13)}`);
    }
    console.log('\nTargets: p99 ≤ 20 ms and recall@10 ≥ 0.99 at every event size; never under-filled.');
  } finally {
    await db.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
