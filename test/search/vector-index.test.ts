import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import type { VectorDatabase } from '../../models/index.js';
import { openDatabase } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { createEmbeddingRepository } from '../../src/repositories/embedding.repository.js';
import { createVectorIndexRepository, type VectorIndexRepository } from '../../src/repositories/vector-index.repository.js';
import { annCandidates, createVectorSearchRepository, type VectorSearchRepository } from '../../src/repositories/vector-search.repository.js';
import { createTestDatabases } from '../helpers/services.js';

const PACK = 'test-pack';
const DIMS = 64;

// Deterministic clustered unit vectors: 100 people × 30 faces, zero-padded to the 512-wide column —
// enough rows that the planner prefers the event's HNSW index to sorting the event.
let seed = 7;
const rand = (): number => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const unit = (v: number[]): number[] => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const centers = Array.from({ length: 100 }, () => unit(Array.from({ length: DIMS }, () => rand() - 0.5)));
const near = (c: number[], spread: number): number[] => unit(c.map((x) => x + (rand() - 0.5) * spread));
const pad = (v: number[]): number[] => [...v, ...new Array<number>(512 - v.length).fill(0)];

describe('event HNSW indexes', () => {
  let drop: () => Promise<void>;
  let db: Kysely<VectorDatabase>;
  let indexes: VectorIndexRepository;
  let search: VectorSearchRepository;
  const EVENT_A = 11;
  const EVENT_B = 12;
  const faces = centers.flatMap((c, person) => Array.from({ length: 30 }, (_, k) => ({ person, k, vector: pad(near(c, 0.15)) })));

  const indexNames = async (): Promise<string[]> =>
    (await sql<{ indexname: string }>`select indexname from pg_indexes where tablename like 'face_embeddings_p%' and indexname like 'face_embeddings_ann_%'`.execute(db)).rows.map(
      (r) => r.indexname,
    );

  before(async () => {
    const dbs = await createTestDatabases();
    drop = dbs.drop;
    db = await openDatabase<VectorDatabase>({ kind: 'postgres', url: dbs.vectorUrl, poolSize: 2 });
    await migrateToLatest(db as Kysely<unknown>, 'vector');
    indexes = createVectorIndexRepository(db);
    search = createVectorSearchRepository(db);
    // The same faces in both events: photo ids differ (A: 10000+, B: 20000+), vectors are identical.
    for (const [eventId, base] of [[EVENT_A, 10_000], [EVENT_B, 20_000]] as const) {
      for (let start = 0; start < faces.length; start += 500) {
        const rows = faces.slice(start, start + 500).map((f, i) => ({
          face_id: base + start + i,
          event_id: eventId,
          embedding: `[${f.vector.join(',')}]`,
          bbox_x: 0,
          bbox_y: 0,
          bbox_width: 1,
          bbox_height: 1,
          detection_score: 1,
          model_pack: PACK,
        }));
        await db.insertInto('face_embeddings').values(rows).execute();
      }
    }
    await sql`analyze face_embeddings`.execute(db);
  });

  after(async () => {
    await db.destroy();
    await drop();
  });

  it('builds once, registers the index, and rebuilds over an interrupted build', async () => {
    assert.equal(await indexes.find(EVENT_A, PACK), undefined);
    assert.deepEqual(await indexes.build({ eventId: EVENT_A, modelPack: PACK, dimensions: DIMS }), { built: true, faces: faces.length });
    const first = await indexes.find(EVENT_A, PACK);
    assert.equal(first?.dimensions, DIMS);
    assert.deepEqual(await indexNames(), [first!.indexName]);
    assert.deepEqual(await indexes.build({ eventId: EVENT_A, modelPack: PACK, dimensions: DIMS }), { built: false, faces: faces.length });

    // A leftover index of B's name without a registry row (a build killed before registering) is replaced.
    await indexes.build({ eventId: EVENT_B, modelPack: PACK, dimensions: DIMS });
    const nameB = (await indexes.find(EVENT_B, PACK))!.indexName;
    await db.deleteFrom('event_vector_indexes').where('event_id', '=', EVENT_B).execute();
    assert.deepEqual(await indexes.build({ eventId: EVENT_B, modelPack: PACK, dimensions: DIMS }), { built: true, faces: faces.length });
    assert.equal((await indexes.find(EVENT_B, PACK))?.indexName, nameB);
    assert.deepEqual((await indexNames()).sort(), [first!.indexName, nameB].sort());
  });

  it('refuses pack ids and sizes that cannot be written into index DDL', async () => {
    await assert.rejects(indexes.build({ eventId: EVENT_A, modelPack: "x'; drop table face_embeddings; --", dimensions: DIMS }), /invalid model pack/);
    await assert.rejects(indexes.build({ eventId: EVENT_A, modelPack: 'other', dimensions: 513 }), /invalid dimensions/);
  });

  it('answers like the exact scan, never with another event’s photo, and keeps new faces searchable', async () => {
    assert.ok(await indexes.find(EVENT_A, PACK), 'the previous test built A’s index');
    // A face added after the build goes into the index as it is inserted.
    const late = pad(near(centers[3]!, 0.15));
    await createEmbeddingRepository(db).replaceForPhoto({ faceId: 19_999, eventId: EVENT_A, modelPack: PACK }, [{ vector: late, box: { x: 0, y: 0, width: 1, height: 1 }, score: 1 }]);
    // The planner takes the event's partial index for the ANN query (and would not for another event).
    const probe = { eventId: EVENT_A, modelPack: PACK, vector: faces[0]!.vector, maxDistance: 2, limit: 10 };
    const plan = async (eventId: number) =>
      (await sql<{ 'QUERY PLAN': string }>`explain ${annCandidates({ ...probe, eventId }, DIMS, 40)}`.execute(db)).rows.map((r) => r['QUERY PLAN']).join('\n');
    assert.match(await plan(EVENT_A), new RegExp(`Index Scan using ${(await indexes.find(EVENT_A, PACK))!.indexName}`));
    assert.doesNotMatch(await plan(EVENT_B), new RegExp((await indexes.find(EVENT_A, PACK))!.indexName));

    let found = 0;
    let wanted = 0;
    for (const [person, c] of centers.entries()) {
      const query = pad(near(c, 0.15));
      for (const [maxDistance, limit] of [[2, 10], [0.3, 10], [2, 100], [0.05, 1]] as const) {
        const q = { eventId: EVENT_A, modelPack: PACK, vector: query, maxDistance, limit };
        const got = await search.nearestPhotos(q);
        const exact = new Set((await search.exactNearestPhotos(q)).map((m) => m.faceId));
        for (const m of got) assert.ok(m.faceId >= 10_000 && m.faceId < 20_000, `photo ${m.faceId} belongs to event A`);
        assert.ok(got.length === exact.size, `never under-filled: person ${person}, ${maxDistance}/${limit}`);
        found += got.filter((m) => exact.has(m.faceId)).length;
        wanted += exact.size;
      }
    }
    assert.ok(found / wanted >= 0.98, `recall against the exact scan ${(found / wanted).toFixed(3)}`);
    const lateHit = await search.nearestPhotos({ eventId: EVENT_A, modelPack: PACK, vector: late, maxDistance: 0.01, limit: 1 });
    assert.deepEqual(lateHit.map((m) => m.faceId), [19_999]);
    // Another pack in the same event is invisible to this pack's searches.
    const otherPack = await search.nearestPhotos({ eventId: EVENT_A, modelPack: 'other-pack', vector: late, maxDistance: 2, limit: 10 });
    assert.deepEqual(otherPack, []);
  });

  it('drops an event’s indexes with the event', async () => {
    const nameA = (await indexes.find(EVENT_A, PACK))!.indexName;
    assert.equal(await indexes.dropForEvent(EVENT_A), 1);
    assert.equal(await indexes.find(EVENT_A, PACK), undefined);
    assert.ok(!(await indexNames()).includes(nameA));
    assert.equal(await indexes.dropForEvent(EVENT_A), 0, 'idempotent');
    // Without its index the event is still searched, exactly.
    const hits = await search.nearestPhotos({ eventId: EVENT_A, modelPack: PACK, vector: faces[0]!.vector, maxDistance: 0.01, limit: 1 });
    assert.deepEqual(hits.map((m) => m.faceId), [10_000]);
  });
});
