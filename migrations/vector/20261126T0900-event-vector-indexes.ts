import { sql, type Kysely } from 'kysely';

/**
 * Vector strategy chosen by `npm run bench:search` (see README): exact per-event scans for small
 * events, a partial HNSW index per large event. The global HNSW index goes: every search filters
 * on one event, which a global index can only post-filter (pgvector #259), and it slowed every insert.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Inline and uncompressed: exact scans read each row once instead of detoasting it (512-d
  // embeddings do not compress and were stored out of line, several times slower to scan).
  await sql`ALTER TABLE face_embeddings ALTER COLUMN embedding SET STORAGE PLAIN`.execute(db);
  await sql`DROP INDEX IF EXISTS idx_face_embeddings_vector`.execute(db);
  await db.schema
    .createTable('event_vector_indexes')
    .addColumn('event_id', 'integer', (c) => c.notNull())
    .addColumn('model_pack', 'varchar', (c) => c.notNull())
    .addColumn('dimensions', 'integer', (c) => c.notNull())
    .addColumn('index_name', 'varchar', (c) => c.notNull().unique())
    .addColumn('faces_at_build', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('pk_event_vector_indexes', ['event_id', 'model_pack'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ index_name: string }>`SELECT index_name FROM event_vector_indexes`.execute(db);
  for (const { index_name } of rows) await sql`DROP INDEX IF EXISTS ${sql.id(index_name)}`.execute(db);
  await db.schema.dropTable('event_vector_indexes').ifExists().execute();
  await sql`CREATE INDEX IF NOT EXISTS idx_face_embeddings_vector ON face_embeddings USING hnsw (embedding vector_cosine_ops)`.execute(db);
  await sql`ALTER TABLE face_embeddings ALTER COLUMN embedding SET STORAGE EXTENDED`.execute(db);
}
