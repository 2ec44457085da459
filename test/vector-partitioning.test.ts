import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Migrator, sql, type Kysely } from 'kysely';
import type { VectorDatabase } from '../models/index.js';
import { openDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrator.js';
import { vectorMigrations } from '../migrations/vector/index.js';
import { createEmbeddingRepository } from '../src/repositories/embedding.repository.js';
import { createVectorIndexRepository } from '../src/repositories/vector-index.repository.js';
import { createVectorSearchRepository } from '../src/repositories/vector-search.repository.js';
import { createParticipantEmbeddingRepository } from '../src/repositories/participant-embedding.repository.js';
import { PACK_WIDTHS, STORAGE_WIDTH } from '../src/repositories/stored-vector.js';
import { listModelPacks } from '../src/vision/model-packs.js';
import { createTestDatabases, tempDir } from './helpers/services.js';

const PACK = 'faceapi-resnet128';
const CONVERSION = '20261202T1300-partition-face-embeddings';

let seed = 7;
const rand = (): number => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
/** A unit 128-d vector zero-padded to 512, as the API hands it over. */
function padded(): number[] {
  const v = Array.from({ length: 128 }, rand);
  const n = Math.hypot(...v);
  return [...v.map((x) => x / n), ...new Array<number>(STORAGE_WIDTH - 128).fill(0)];
}

/** Migrator over the migrations before the conversion, sharing the service's bookkeeping table. */
function migratorUpTo(db: Kysely<unknown>, last: string): Migrator {
  const names = Object.keys(vectorMigrations).sort().filter((n) => n <= last);
  return new Migrator({
    db,
    provider: { getMigrations: async () => Object.fromEntries(names.map((n) => [n, vectorMigrations[n]!])) },
    migrationTableName: 'kysely_migration_vector',
    migrationLockTableName: 'kysely_migration_lock_vector',
  });
}

describe('face_embeddings partitioned by event (issue #17)', () => {
  let db: Kysely<VectorDatabase>;
  let drop: () => Promise<void>;
  before(async () => {
    const pg = await createTestDatabases();
    drop = pg.drop;
    db = await openDatabase<VectorDatabase>({ kind: 'postgres', url: pg.vectorUrl, poolSize: 2 });
  });
  after(async () => {
    await db.destroy();
    await drop();
  });

  it('converts an installation with data: same ids, pack-width vectors, the event index rebuilt on its partition', async () => {
    const raw = db as unknown as Kysely<unknown>;
    const before = Object.keys(vectorMigrations).sort().filter((n) => n < CONVERSION).at(-1)!;
    const { error } = await migratorUpTo(raw, before).migrateToLatest();
    assert.equal(error, undefined);
    // Rows as the previous schema held them: 512-wide, three events, one of them indexed.
    const vectors = new Map<number, number[]>();
    for (let i = 0; i < 300; i++) {
      const v = padded();
      const event = (i % 3) + 1;
      const { rows } = await sql<{ id: number }>`insert into face_embeddings (face_id, event_id, embedding, bbox_x, bbox_y, bbox_width, bbox_height, detection_score, model_pack, yaw, cohort_mean)
        values (${1000 + i}, ${event}, ${`[${v.join(',')}]`}::vector, 1, 2, 30, 40, 0.9, ${PACK}, 0.1, ${i % 2 ? 0.3 : null}) returning id`.execute(raw);
      vectors.set(rows[0]!.id, v);
    }
    await sql`delete from face_embeddings where id % 10 = 0`.execute(raw); // gaps in the sequence survive too
    for (const id of [...vectors.keys()]) if (id % 10 === 0) vectors.delete(id);
    await sql`insert into participant_embeddings (participant_id, event_id, embedding, model_pack) values (5, 1, ${`[${padded().join(',')}]`}::vector, ${PACK})`.execute(raw);
    await sql`CREATE INDEX face_embeddings_ann_old ON face_embeddings USING hnsw ((subvector(embedding, 1, 128)::vector(128)) vector_cosine_ops) WHERE event_id = 1`.execute(raw);
    await sql`insert into event_vector_indexes (event_id, model_pack, dimensions, index_name, faces_at_build) values (1, ${PACK}, 128, 'face_embeddings_ann_old', 90)`.execute(raw);
    const maxId = Math.max(...vectors.keys());

    assert.deepEqual((await migrateToLatest(raw, 'vector')).applied, Object.keys(vectorMigrations).sort().filter((n) => n >= CONVERSION));

    const { rows } = await sql<{ id: number; event_id: number; v: string; dims: number; yaw: number; cohort_mean: number | null }>`
      select id, event_id, embedding::text as v, vector_dims(embedding) as dims, yaw, cohort_mean from face_embeddings order by id`.execute(raw);
    assert.equal(rows.length, vectors.size, 'no row lost');
    for (const r of rows) {
      assert.equal(r.dims, 128, 'stored at the pack width');
      const want = vectors.get(r.id)!;
      const got = JSON.parse(r.v) as number[];
      // Stored in half precision (a later migration): each value within half a unit in the last place.
      assert.ok(got.every((x, i) => Math.abs(x - want[i]!) <= Math.abs(want[i]!) * 2 ** -11 + 1e-7), `row ${r.id} keeps its vector`);
      assert.equal(r.event_id, ((r.id - 1) % 3) + 1, 'ids keep their rows');
    }
    const pe = await sql<{ dims: number }>`select vector_dims(embedding) as dims from participant_embeddings`.execute(raw);
    assert.equal(pe.rows[0]!.dims, 128);

    // The registered index exists again, on event 1's partition, and serves that event's search.
    const idx = await sql<{ tablename: string; indexdef: string }>`select tablename, indexdef from pg_indexes where indexname = 'face_embeddings_ann_old'`.execute(raw);
    assert.equal(idx.rows.length, 1);
    assert.match(idx.rows[0]!.tablename, /^face_embeddings_p\d+$/);
    assert.match(idx.rows[0]!.indexdef, /halfvec_cosine_ops/);
    const query = vectors.get([...vectors.keys()].find((id) => (id - 1) % 3 === 0)!)!;
    const search = createVectorSearchRepository(db);
    const exact = await search.exactNearestPhotos({ eventId: 1, modelPack: PACK, vector: query, maxDistance: 2, limit: 10 });
    const served = await search.nearestPhotos({ eventId: 1, modelPack: PACK, vector: query, maxDistance: 2, limit: 10 });
    assert.equal(exact[0]!.distance < 1e-6, true, 'a stored face finds itself');
    assert.deepEqual(served.map((m) => m.faceId).slice(0, 5), exact.map((m) => m.faceId).slice(0, 5));

    // New rows continue the old sequence.
    await createEmbeddingRepository(db).replaceForPhoto({ faceId: 9999, eventId: 2, modelPack: PACK }, [{ vector: padded(), box: { x: 0, y: 0, width: 9, height: 9 }, score: 0.9 }]);
    const fresh = await sql<{ id: number }>`select id from face_embeddings where face_id = 9999`.execute(raw);
    assert.ok(fresh.rows[0]!.id > maxId);
  });

  it('converts back without losing a row (down: one 512-wide table keyed by id, vectors padded)', async () => {
    const own = await createTestDatabases();
    const raw = await openDatabase<unknown>({ kind: 'postgres', url: own.vectorUrl, poolSize: 1 });
    try {
      const before = Object.keys(vectorMigrations).sort().filter((n) => n < CONVERSION).at(-1)!;
      await migrateToLatest(raw, 'vector');
      const vectors = new Map<number, number[]>();
      for (let event = 1; event <= 4; event++) {
        const faces = Array.from({ length: 5 }, () => ({ vector: padded(), box: { x: 1, y: 2, width: 30, height: 40 }, score: 0.9 }));
        await createEmbeddingRepository(raw as Kysely<VectorDatabase>).replaceForPhoto({ faceId: 500 + event, eventId: event, modelPack: PACK }, faces);
      }
      const stored = await sql<{ id: number; v: string }>`select id, embedding::text as v from face_embeddings`.execute(raw);
      for (const r of stored.rows) vectors.set(r.id, JSON.parse(r.v) as number[]);

      const latest = Object.keys(vectorMigrations).sort().at(-1)!;
      const { error } = await migratorUpTo(raw, latest).migrateTo(before);
      assert.equal(error, undefined);
      const { rows } = await sql<{ id: number; v: string; dims: number; face_id: number }>`select id, embedding::text as v, vector_dims(embedding) as dims, face_id from face_embeddings order by id`.execute(raw);
      assert.equal(rows.length, vectors.size, 'no row lost');
      for (const r of rows) {
        assert.equal(r.dims, STORAGE_WIDTH, 'padded back to the old width');
        const back = JSON.parse(r.v) as number[];
        assert.deepEqual(back.slice(0, 128), vectors.get(r.id), `row ${r.id} keeps its vector`);
        assert.ok(back.slice(128).every((x) => x === 0));
      }
      const key = await sql<{ def: string }>`select pg_get_constraintdef(oid) as def from pg_constraint where conname = 'face_embeddings_pkey'`.execute(raw);
      assert.equal(key.rows[0]!.def, 'PRIMARY KEY (id)');
      const partitioned = await sql<{ n: number }>`select count(*)::int as n from pg_partitioned_table`.execute(raw);
      assert.equal(partitioned.rows[0]!.n, 0);
    } finally {
      await raw.destroy();
      await own.drop();
    }
  });

  it('prunes to one partition for every per-event query, and the index build reads only that partition', async () => {
    const raw = db as unknown as Kysely<unknown>;
    await migrateToLatest(raw, 'vector');
    // A few hundred rows: the planner would rightly sort a scan; forbid sorting to see the index matches the query.
    const plan = (q: ReturnType<typeof sql>): Promise<string> =>
      raw.transaction().execute(async (trx) => {
        await sql`set local enable_seqscan = off`.execute(trx);
        await sql`set local enable_sort = off`.execute(trx);
        return (await sql<{ 'QUERY PLAN': string }>`explain ${q}`.execute(trx)).rows.map((r) => r['QUERY PLAN']).join('\n');
      });
    const exactPlan = await plan(sql`select face_id from face_embeddings where event_id = 2 and model_pack = ${PACK} order by embedding <=> ${`[${padded().slice(0, 128).join(',')}]`}::vector limit 5`);
    assert.equal((exactPlan.match(/face_embeddings_p\d+/g) ?? []).filter((v, i, a) => a.indexOf(v) === i).length, 1, exactPlan);
    const annPlan = await plan(sql`select face_id from face_embeddings where event_id = 1 and model_pack = ${PACK}
      order by (subvector(embedding, 1, 128)::halfvec(128)) <=> ${`[${padded().slice(0, 128).join(',')}]`}::halfvec(128) limit 5`);
    assert.match(annPlan, /Index Scan using face_embeddings_ann_old/, annPlan);

    const indexes = createVectorIndexRepository(db);
    assert.deepEqual(await indexes.build({ eventId: 2, modelPack: PACK, dimensions: 128 }), { built: true, faces: 91 });
    const part = await indexes.partitionOf(2);
    const { rows } = await sql<{ tablename: string }>`select tablename from pg_indexes where indexname = (select index_name from event_vector_indexes where event_id = 2)`.execute(raw);
    assert.equal(rows[0]!.tablename, part);
    assert.equal(await indexes.dropForEvent(2), 1);
  });

  it('keeps the API contract: padded vectors in and out, and no other event ever returned', async () => {
    const search = createVectorSearchRepository(db);
    const v = padded();
    await createEmbeddingRepository(db).replaceForPhoto({ faceId: 424242, eventId: 77, modelPack: PACK }, [{ vector: v, box: { x: 0, y: 0, width: 9, height: 9 }, score: 0.9 }]);
    const near = await search.nearestVectors({ eventId: 77, modelPack: PACK, vector: v, k: 3 });
    assert.equal(near.length, 1);
    assert.equal(near[0]!.vector.length, STORAGE_WIDTH);
    assert.ok(near[0]!.cosine > 0.9999);
    // The same vector in other events is never found from event 3.
    const other = await search.nearestPhotos({ eventId: 3, modelPack: PACK, vector: v, maxDistance: 2, limit: 500 });
    assert.ok(!other.some((m) => m.faceId === 424242));
    const participants = createParticipantEmbeddingRepository(db);
    await participants.upsert({ participantId: 9, eventId: 77, vector: v, modelPack: PACK });
    const matches = await participants.matchPhoto({ faceId: 424242, eventId: 77 }, () => 0.5);
    assert.equal(matches[0]!.vector.length, STORAGE_WIDTH);
    assert.ok(matches[0]!.faces[0]!.cosine > 0.9999);
  });

  it('meets what Citus needs to distribute the vector tables by event_id', async () => {
    const raw = db as unknown as Kysely<unknown>;
    // Every primary key and unique index of a table that has event_id includes event_id.
    const { rows: keys } = await sql<{ table: string; index: string; columns: string[] }>`
      select t.relname as table, i.relname as index,
        array(select a.attname::text from pg_attribute a where a.attrelid = t.oid and a.attnum = any(x.indkey)) as columns
      from pg_index x join pg_class t on t.oid = x.indrelid join pg_class i on i.oid = x.indexrelid
      join pg_namespace n on n.oid = t.relnamespace
      where n.nspname = 'public' and (x.indisunique or x.indisprimary)
        and t.relname in ('face_embeddings', 'participant_embeddings', 'event_vector_indexes', 'event_face_cohorts')`.execute(raw);
    const tables = new Set(keys.map((k) => k.table));
    for (const t of ['face_embeddings', 'participant_embeddings', 'event_vector_indexes', 'event_face_cohorts']) assert.ok(tables.has(t), `${t} has a key`);
    for (const k of keys) assert.ok(k.columns.includes('event_id'), `${k.table}.${k.index} (${k.columns.join(', ')}) includes event_id`);
    // No foreign keys at all in db_vector (none could cross shards).
    const fks = await sql<{ n: number }>`select count(*)::int as n from pg_constraint where contype = 'f' and connamespace = 'public'::regnamespace`.execute(raw);
    assert.equal(fks.rows[0]!.n, 0);
    // The distribution column is NOT NULL and face_embeddings is partitioned on it.
    const part = await sql<{ def: string }>`select pg_get_partkeydef('face_embeddings'::regclass) as def`.execute(raw);
    assert.equal(part.rows[0]!.def, 'HASH (event_id)');
  });

  it('knows the width of every model pack the service ships', async () => {
    const dir = await tempDir();
    try {
      for (const p of await listModelPacks(dir.dir)) assert.equal(PACK_WIDTHS[p.id], p.dimensions, p.id);
    } finally {
      await dir.remove();
    }
  });
});
