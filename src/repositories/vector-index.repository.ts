import crypto from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { VectorDatabase } from '../../models/index.js';

/** An event's ANN index: which prefix of the stored vector it covers. */
export interface EventVectorIndex {
  indexName: string;
  dimensions: number;
}

// Model pack ids become SQL literals in index DDL (DDL takes no bind parameters): only plain names.
const PACK_ID = /^[A-Za-z0-9._-]{1,64}$/;
// Enough for a 100k-face HNSW graph of 128-d vectors to build in memory (it is much slower on disk).
const BUILD_MEMORY = '512MB';
// Denser than pgvector's defaults (16, 64): faces form tight clusters of one person, and with the
// defaults recall@10 stayed at 0.96–0.98 however high ef_search went; 32/128 gives ≥ 0.99 at
// ef_search 100 for about 1.5× the build time (npm run bench:search).
const HNSW_M = 32;
const HNSW_EF_CONSTRUCTION = 128;

const indexNameOf = (eventId: number, modelPack: string): string =>
  `face_embeddings_ann_e${eventId}_${crypto.createHash('sha1').update(modelPack).digest('hex').slice(0, 8)}`;

/**
 * The expression every event index covers and every ANN query orders by: the pack's own
 * dimensions (`subvector` is a no-op on vectors stored at the pack's width, and cuts padded ones of
 * packs stored as given) as `halfvec` (stored vectors are half precision too, issue #17); the
 * candidates are re-ranked by their stored distance, so only the walk is approximate.
 */
export const annExpression = (dimensions: number) => sql`(subvector(embedding, 1, ${sql.lit(dimensions)})::halfvec(${sql.lit(dimensions)}))`;
/** The query side of {@link annExpression}. */
export const annQuery = (vector: number[], dimensions: number) => sql`${`[${vector.slice(0, dimensions).join(',')}]`}::halfvec(${sql.lit(dimensions)})`;

/**
 * Partial HNSW indexes, one per large event and model pack (DDL plus their registry table). Each
 * is created on the partition holding the event (face_embeddings is hash-partitioned by event_id;
 * CREATE INDEX CONCURRENTLY cannot target the partitioned parent), so its build reads only that
 * partition, and queries filtered on the event prune to the partition and match the predicate.
 */
export function createVectorIndexRepository(db: Kysely<VectorDatabase>, options: { m?: number; efConstruction?: number } = {}) {
  // Other graph shapes are for benchmarks (bench:scale --hnsw-m); the service builds with the defaults above.
  const m = options.m ?? HNSW_M;
  const efConstruction = options.efConstruction ?? HNSW_EF_CONSTRUCTION;
  if (!Number.isInteger(m) || m < 2 || m > 100 || !Number.isInteger(efConstruction) || efConstruction < 4 || efConstruction > 1000) {
    throw new Error(`invalid HNSW build options: m ${m}, ef_construction ${efConstruction}`);
  }
  return {
    async find(eventId: number, modelPack: string): Promise<EventVectorIndex | undefined> {
      const row = await db
        .selectFrom('event_vector_indexes')
        .select(['index_name', 'dimensions'])
        .where('event_id', '=', eventId)
        .where('model_pack', '=', modelPack)
        .executeTakeFirst();
      return row && { indexName: row.index_name, dimensions: row.dimensions };
    },

    async countFaces(eventId: number, modelPack: string): Promise<number> {
      const row = await db
        .selectFrom('face_embeddings')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('event_id', '=', eventId)
        .where('model_pack', '=', modelPack)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** The partition (table name) holding the event's rows; undefined while it has none. */
    async partitionOf(eventId: number): Promise<string | undefined> {
      const { rows } = await sql<{ relname: string }>`
        select c.relname from pg_class c
        where c.oid = (select tableoid from face_embeddings where event_id = ${eventId} limit 1)`.execute(db);
      return rows[0]?.relname;
    },

    /**
     * Builds the event's index without blocking ingest (CONCURRENTLY), then registers it so searches
     * start using it. Safe to rerun: an index left invalid by an interrupted build is dropped first.
     */
    async build(target: { eventId: number; modelPack: string; dimensions: number }): Promise<{ built: boolean; faces: number }> {
      const { eventId, modelPack, dimensions } = target;
      if (!PACK_ID.test(modelPack)) throw new Error(`invalid model pack id for an index: ${modelPack}`);
      if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 512) throw new Error(`invalid dimensions: ${dimensions}`);
      if (await this.find(eventId, modelPack)) return { built: false, faces: await this.countFaces(eventId, modelPack) };
      const name = indexNameOf(eventId, modelPack);
      const faces = await this.countFaces(eventId, modelPack);
      const partition = await this.partitionOf(eventId);
      if (!partition) return { built: false, faces };
      await db.connection().execute(async (conn) => {
        await sql`DROP INDEX CONCURRENTLY IF EXISTS ${sql.id(name)}`.execute(conn);
        await sql`SELECT set_config('maintenance_work_mem', ${BUILD_MEMORY}, false)`.execute(conn);
        try {
          await sql`CREATE INDEX CONCURRENTLY ${sql.id(name)} ON ${sql.id(partition)}
            USING hnsw (${annExpression(dimensions)} halfvec_cosine_ops) WITH (m = ${sql.lit(m)}, ef_construction = ${sql.lit(efConstruction)})
            WHERE event_id = ${sql.lit(eventId)} AND model_pack = ${sql.lit(modelPack)}`.execute(conn);
        } finally {
          await sql`RESET maintenance_work_mem`.execute(conn);
        }
      });
      await db
        .insertInto('event_vector_indexes')
        .values({ event_id: eventId, model_pack: modelPack, dimensions, index_name: name, faces_at_build: faces })
        .onConflict((oc) => oc.doNothing())
        .execute();
      return { built: true, faces };
    },

    /** Drops every index of the event (event deletion). Returns how many were dropped. */
    async dropForEvent(eventId: number): Promise<number> {
      const rows = await db.selectFrom('event_vector_indexes').select('index_name').where('event_id', '=', eventId).execute();
      for (const { index_name } of rows) await sql`DROP INDEX CONCURRENTLY IF EXISTS ${sql.id(index_name)}`.execute(db);
      await db.deleteFrom('event_vector_indexes').where('event_id', '=', eventId).execute();
      return rows.length;
    },
  };
}
export type VectorIndexRepository = ReturnType<typeof createVectorIndexRepository>;
