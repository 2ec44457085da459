import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE EXTENSION IF NOT EXISTS vector`.execute(db);
  // The seed's face_embeddings table: one row per detected face; face_id/event_id point into db_main (no FK).
  await db.schema
    .createTable('face_embeddings')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('face_id', 'integer', (c) => c.notNull())
    .addColumn('event_id', 'integer', (c) => c.notNull())
    .addColumn('embedding', sql`vector(512)`, (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('bbox_x', 'real', (c) => c.notNull())
    .addColumn('bbox_y', 'real', (c) => c.notNull())
    .addColumn('bbox_width', 'real', (c) => c.notNull())
    .addColumn('bbox_height', 'real', (c) => c.notNull())
    .addColumn('detection_score', 'real', (c) => c.notNull())
    .addColumn('model_pack', 'varchar', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('idx_face_embeddings_face_id').on('face_embeddings').column('face_id').execute();
  await db.schema.createIndex('idx_face_embeddings_event_id').on('face_embeddings').column('event_id').execute();
  // Starting point; the search benchmark decides the final strategy.
  await sql`CREATE INDEX idx_face_embeddings_vector ON face_embeddings USING hnsw (embedding vector_cosine_ops)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('face_embeddings').ifExists().execute();
}
