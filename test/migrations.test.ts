import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createVectorIndexRepository } from '../src/repositories/vector-index.repository.js';
import { createVectorSearchRepository } from '../src/repositories/vector-search.repository.js';
import { createEmbeddingRepository } from '../src/repositories/embedding.repository.js';
import { sql, type Kysely } from 'kysely';
import { openDatabases, type Databases } from '../src/db/databases.js';
import { migrateDownAll, migrateToLatest } from '../src/db/migrator.js';
import { mainMigrations } from '../migrations/main/index.js';
import { vectorMigrations } from '../migrations/vector/index.js';
import { createTestDatabases, tempDir } from './helpers/services.js';

async function tables(db: Kysely<unknown>): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = 'public' and table_name not like 'kysely_%' order by 1`.execute(db);
  return rows.map((r) => r.table_name);
}

async function indexes(db: Kysely<unknown>, table: string): Promise<Map<string, string>> {
  const { rows } = await sql<{ indexname: string; indexdef: string }>`
    select indexname, indexdef from pg_indexes where tablename = ${table}`.execute(db);
  return new Map(rows.map((r) => [r.indexname, r.indexdef]));
}

/** The same checks on PostgreSQL + pgvector and on embedded PGlite. */
function migrationSuite(name: string, open: () => Promise<{ dbs: Databases; cleanup(): Promise<void> }>): void {
  describe(`migrations on ${name}`, () => {
    let dbs: Databases;
    let cleanup: () => Promise<void>;
    before(async () => ({ dbs, cleanup } = await open()));
    after(async () => {
      await dbs.close();
      await cleanup();
    });

    it('creates the seed schema and the product tables, then reverts cleanly and re-applies', async () => {
      const main = dbs.main as Kysely<unknown>;
      const vector = dbs.vector as Kysely<unknown>;
      const mainNames = Object.keys(mainMigrations).sort();
      const vectorNames = Object.keys(vectorMigrations).sort();
      assert.equal(mainNames[0], '20261125T0001-initial');
      assert.deepEqual((await migrateToLatest(main, 'main')).applied, mainNames);
      assert.deepEqual((await migrateToLatest(vector, 'vector')).applied, vectorNames);
      assert.deepEqual((await migrateToLatest(main, 'main')).applied, [], 'second run has nothing to do');

      const mainTables = await tables(main);
      for (const t of ['api_keys', 'events', 'faces', 'participant_events', 'participants', 'photographers', 'search_audit']) {
        assert.ok(mainTables.includes(t), `db_main has ${t}`);
      }
      assert.ok((await tables(vector)).includes('face_embeddings'));

      const eventIdx = await indexes(main, 'events');
      assert.ok(eventIdx.has('idx_events_uuid') && eventIdx.has('idx_events_active'));
      assert.ok((await indexes(main, 'faces')).has('idx_faces_event_id'));
      const vectorIdx = await indexes(vector, 'face_embeddings');
      // Partitioned by event (issue #17): the primary key (event_id, id) serves per-event scans.
      assert.ok(vectorIdx.has('idx_face_embeddings_face_id') && vectorIdx.has('face_embeddings_pkey'));
      // No whole-table ANN index: large events get their own partial HNSW index (event_vector_indexes).
      assert.equal([...vectorIdx.values()].filter((d) => /USING hnsw/.test(d)).length, 0);
      assert.ok((await tables(vector)).includes('event_vector_indexes'));
      const storage = await sql<{ s: string }>`select attstorage as s from pg_attribute where attrelid = 'face_embeddings_p0'::regclass and attname = 'embedding'`.execute(vector);
      assert.equal(storage.rows[0]?.s, 'p', 'embeddings stored inline, uncompressed');

      const { rows } = await sql<{ t: string }>`
        select format_type(atttypid, atttypmod) as t from pg_attribute
        where attrelid = 'face_embeddings'::regclass and attname = 'embedding'`.execute(vector);
      assert.equal(rows[0]?.t, 'halfvec', 'each pack at its own width, half precision');

      // A 512-d vector round-trips and cosine distance works.
      const v = `[${Array.from({ length: 512 }, (_, i) => (i === 0 ? 1 : 0)).join(',')}]`;
      await sql`insert into face_embeddings (face_id, event_id, embedding, bbox_x, bbox_y, bbox_width, bbox_height, detection_score, model_pack)
        values (1, 1, ${v}::vector, 0, 0, 10, 10, 0.9, 'test')`.execute(vector);
      const d = await sql<{ d: number }>`select (embedding <=> ${v}::vector) as d from face_embeddings`.execute(vector);
      assert.equal(Number(d.rows[0]?.d), 0);
      // An event index builds, serves a search, and drops (also on embedded PGlite).
      const eventIndexes = createVectorIndexRepository(dbs.vector);
      assert.deepEqual(await eventIndexes.build({ eventId: 1, modelPack: 'test', dimensions: 128 }), { built: true, faces: 1 });
      const hits = await createVectorSearchRepository(dbs.vector).nearestPhotos({ eventId: 1, modelPack: 'test', vector: JSON.parse(v) as number[], maxDistance: 0.1, limit: 5 });
      assert.deepEqual(hits.map((h) => h.faceId), [1]);
      assert.equal(await eventIndexes.dropForEvent(1), 1);
      // The default pack is stored at its own width (128), from the 512-wide vector the API passes.
      await createEmbeddingRepository(dbs.vector).replaceForPhoto({ faceId: 2, eventId: 2, modelPack: 'faceapi-resnet128' }, [
        { vector: JSON.parse(v) as number[], box: { x: 0, y: 0, width: 10, height: 10 }, score: 0.9 },
      ]);
      const width = await sql<{ d: number }>`select vector_dims(embedding) as d from face_embeddings where event_id = 2`.execute(vector);
      assert.equal(Number(width.rows[0]?.d), 128);
      const found = await createVectorSearchRepository(dbs.vector).nearestPhotos({ eventId: 2, modelPack: 'faceapi-resnet128', vector: JSON.parse(v) as number[], maxDistance: 0.1, limit: 5 });
      assert.deepEqual(found.map((h) => h.faceId), [2]);

      assert.equal((await migrateDownAll(main, 'main')).applied.length, mainNames.length);
      assert.equal((await migrateDownAll(vector, 'vector')).applied.length, vectorNames.length);
      assert.deepEqual(await tables(main), []);
      assert.deepEqual(await tables(vector), []);
      assert.equal((await migrateToLatest(main, 'main')).applied.length, mainNames.length, 're-applies after down');
      assert.equal((await migrateToLatest(vector, 'vector')).applied.length, vectorNames.length);
    });
  });
}

migrationSuite('PostgreSQL with pgvector', async () => {
  const pg = await createTestDatabases();
  const dbs = await openDatabases({
    databases: { main: { kind: 'postgres', url: pg.mainUrl, poolSize: 2 }, vector: { kind: 'postgres', url: pg.vectorUrl, poolSize: 2 } },
  });
  return { dbs, cleanup: () => pg.drop() };
});

migrationSuite('embedded PGlite', async () => {
  const tmp = await tempDir();
  const dbs = await openDatabases({
    databases: { main: { kind: 'pglite', dir: `${tmp.dir}/main` }, vector: { kind: 'pglite', dir: `${tmp.dir}/vector` } },
  });
  return { dbs, cleanup: () => tmp.remove() };
});

describe('migrations with both databases in one PostgreSQL database', () => {
  it('keeps separate bookkeeping so db_main and db_vector may share a database', async () => {
    const pg = await createTestDatabases();
    const dbs = await openDatabases({
      databases: { main: { kind: 'postgres', url: pg.mainUrl, poolSize: 2 }, vector: { kind: 'postgres', url: pg.mainUrl, poolSize: 2 } },
    });
    try {
      assert.equal((await migrateToLatest(dbs.main as Kysely<unknown>, 'main')).applied.length, Object.keys(mainMigrations).length);
      assert.equal((await migrateToLatest(dbs.vector as Kysely<unknown>, 'vector')).applied.length, Object.keys(vectorMigrations).length);
      assert.ok((await tables(dbs.main as Kysely<unknown>)).includes('face_embeddings'));
    } finally {
      await dbs.close();
      await pg.drop();
    }
  });
});
