import { sql, type Kysely } from 'kysely';

/**
 * Scale (issue #17): `face_embeddings` becomes hash-partitioned by `event_id`, and each pack's
 * vectors are stored at the pack's own width instead of zero-padded to 512.
 *
 * - Partitions: an event's exact scan and its HNSW build read only the one partition holding it,
 *   so building an event's index no longer costs a pass over every event's rows.
 * - Primary key `(event_id, id)`: every unique key includes the distribution column, which is what
 *   Citus needs to distribute the table by `event_id` (docs/scale-out.md). `id` keeps its values
 *   and its sequence, so rows stay addressable as (event_id, id).
 * - `embedding` is an unconstrained `vector`: 128 values for the default pack (520 bytes instead of
 *   2,056), 512 for InsightFace. The API keeps padded vectors; src/repositories/stored-vector.ts
 *   cuts them on the way in and pads them on the way out. Unknown packs are stored as given.
 * - Registered per-event HNSW indexes were built on the old table; they are rebuilt here on the
 *   event's partition (halfvec, see src/repositories/vector-index.repository.ts).
 */
export const FACE_PARTITIONS = 64;
// Pack widths when this migration was written (the code's table may grow; this one must not change).
const PACK_WIDTHS: Record<string, number> = { 'faceapi-resnet128': 128, 'insightface-buffalo': 512 };
const HNSW = sql`WITH (m = 32, ef_construction = 128)`;

const cutToPackWidth = (column: string) =>
  sql.raw(`CASE ${Object.entries(PACK_WIDTHS).map(([pack, width]) => `WHEN model_pack = '${pack}' AND vector_dims(${column}) > ${width} THEN subvector(${column}, 1, ${width})`).join(' ')} ELSE ${column} END`);
const padTo512 = (column: string) =>
  sql.raw(`CASE WHEN vector_dims(${column}) < 512 THEN ${column} || array_fill(0::real, ARRAY[512 - vector_dims(${column})])::vector ELSE ${column} END`);

const COLUMNS = ['id', 'face_id', 'event_id', 'embedding', 'created_at', 'bbox_x', 'bbox_y', 'bbox_width', 'bbox_height', 'detection_score', 'model_pack', 'yaw', 'cohort_mean'];

/**
 * The table, the same both ways but for the embedding's type and the key: partitioned by event with
 * the key (event_id, id), or the old single table keyed by id.
 */
const createTable = (embeddingType: string, partitioned: boolean) =>
  sql.raw(`CREATE TABLE face_embeddings (
      id integer NOT NULL DEFAULT nextval('face_embeddings_id_seq')${partitioned ? '' : ' PRIMARY KEY'},
      face_id integer NOT NULL,
      event_id integer NOT NULL,
      embedding ${embeddingType} NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      bbox_x real NOT NULL,
      bbox_y real NOT NULL,
      bbox_width real NOT NULL,
      bbox_height real NOT NULL,
      detection_score real NOT NULL,
      model_pack varchar NOT NULL,
      yaw real NOT NULL DEFAULT 0,
      cohort_mean real${partitioned ? ',\n      CONSTRAINT face_embeddings_pkey PRIMARY KEY (event_id, id)' : ''}
    )${partitioned ? ' PARTITION BY HASH (event_id)' : ''}`);

/** Copies every row from `source` into the new `face_embeddings`, the embedding through `embedding`. */
const copyRows = (source: string, embedding: ReturnType<typeof sql.raw>) =>
  sql`INSERT INTO face_embeddings (${sql.raw(COLUMNS.join(', '))})
    SELECT ${sql.join(COLUMNS.map((c) => (c === 'embedding' ? embedding : sql.id(c))))} FROM ${sql.id(source)}`;

async function registeredIndexes(db: Kysely<unknown>) {
  return (await sql<{ event_id: number; model_pack: string; dimensions: number; index_name: string }>`
    select event_id, model_pack, dimensions, index_name from event_vector_indexes`.execute(db)).rows;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const { index_name } of await registeredIndexes(db)) await sql`DROP INDEX IF EXISTS ${sql.id(index_name)}`.execute(db);
  await sql`ALTER TABLE face_embeddings RENAME TO face_embeddings_unpartitioned`.execute(db);
  await sql`ALTER TABLE face_embeddings_unpartitioned RENAME CONSTRAINT face_embeddings_pkey TO face_embeddings_unpartitioned_pkey`.execute(db);
  await sql`DROP INDEX IF EXISTS idx_face_embeddings_face_id`.execute(db);
  await sql`DROP INDEX IF EXISTS idx_face_embeddings_event_id`.execute(db);
  await sql`ALTER SEQUENCE face_embeddings_id_seq OWNED BY NONE`.execute(db);

  await createTable('vector', true).execute(db);
  // Inline and uncompressed, as before (exact scans read each row once); partitions inherit it.
  await sql`ALTER TABLE face_embeddings ALTER COLUMN embedding SET STORAGE PLAIN`.execute(db);
  for (let i = 0; i < FACE_PARTITIONS; i++) {
    await sql`CREATE TABLE ${sql.id(`face_embeddings_p${i}`)} PARTITION OF face_embeddings FOR VALUES WITH (MODULUS ${sql.lit(FACE_PARTITIONS)}, REMAINDER ${sql.lit(i)})`.execute(db);
  }
  // The primary key (event_id, id) serves the per-event scans the event_id index used to.
  await sql`CREATE INDEX idx_face_embeddings_face_id ON face_embeddings (face_id)`.execute(db);

  await copyRows('face_embeddings_unpartitioned', cutToPackWidth('embedding')).execute(db);
  await sql`DROP TABLE face_embeddings_unpartitioned`.execute(db);
  await sql`ALTER SEQUENCE face_embeddings_id_seq OWNED BY face_embeddings.id`.execute(db);
  await sql`ANALYZE face_embeddings`.execute(db);

  // Rebuild each registered event index on its partition (an event left without rows loses its entry).
  for (const r of await registeredIndexes(db)) {
    const part = (await sql<{ relname: string }>`
      select c.relname from pg_class c where c.oid = (select tableoid from face_embeddings where event_id = ${r.event_id} and model_pack = ${r.model_pack} limit 1)`.execute(db)).rows[0];
    if (!part) {
      await sql`delete from event_vector_indexes where event_id = ${r.event_id} and model_pack = ${r.model_pack}`.execute(db);
      continue;
    }
    const d = sql.lit(r.dimensions);
    await sql`CREATE INDEX ${sql.id(r.index_name)} ON ${sql.id(part.relname)}
      USING hnsw ((subvector(embedding, 1, ${d})::halfvec(${d})) halfvec_cosine_ops) ${HNSW}
      WHERE event_id = ${sql.lit(r.event_id)} AND model_pack = ${sql.lit(r.model_pack)}`.execute(db);
  }

  await sql`ALTER TABLE participant_embeddings ALTER COLUMN embedding TYPE vector USING ${cutToPackWidth('embedding')}`.execute(db);
  // A unique key without event_id cannot be enforced across Citus shards; PostgreSQL already keeps index names unique.
  await sql`ALTER TABLE event_vector_indexes DROP CONSTRAINT IF EXISTS event_vector_indexes_index_name_key`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE event_vector_indexes ADD CONSTRAINT event_vector_indexes_index_name_key UNIQUE (index_name)`.execute(db);
  await sql`ALTER TABLE participant_embeddings ALTER COLUMN embedding TYPE vector(512) USING ${padTo512('embedding')}`.execute(db);
  // Event indexes go with the partitions; their entries go too (the next photo re-queues the build).
  await sql`DELETE FROM event_vector_indexes`.execute(db);
  await sql`ALTER TABLE face_embeddings RENAME TO face_embeddings_partitioned`.execute(db);
  await sql`ALTER TABLE face_embeddings_partitioned RENAME CONSTRAINT face_embeddings_pkey TO face_embeddings_partitioned_pkey`.execute(db);
  await sql`DROP INDEX IF EXISTS idx_face_embeddings_face_id`.execute(db);
  await sql`ALTER SEQUENCE face_embeddings_id_seq OWNED BY NONE`.execute(db);
  await createTable('vector(512)', false).execute(db);
  await sql`ALTER TABLE face_embeddings ALTER COLUMN embedding SET STORAGE PLAIN`.execute(db);
  await copyRows('face_embeddings_partitioned', padTo512('embedding')).execute(db);
  await sql`DROP TABLE face_embeddings_partitioned`.execute(db);
  await sql`ALTER SEQUENCE face_embeddings_id_seq OWNED BY face_embeddings.id`.execute(db);
  await sql`CREATE INDEX idx_face_embeddings_face_id ON face_embeddings (face_id)`.execute(db);
  await sql`CREATE INDEX idx_face_embeddings_event_id ON face_embeddings (event_id)`.execute(db);
}
