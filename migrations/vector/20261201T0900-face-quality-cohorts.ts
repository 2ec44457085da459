import { sql, type Kysely } from 'kysely';

/**
 * Event-adaptive matching (issue #12): each face keeps how turned it is (`yaw`, for the quality
 * gate) and its cohort value within its event (`cohort_mean`, the mean of its K highest
 * similarities to other people's faces there; null until computed, read as the pack's prior).
 * `event_face_cohorts` records when an event's cohorts were last recomputed as a whole, so the
 * refresh job runs again only once the event has grown.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE face_embeddings ADD COLUMN IF NOT EXISTS yaw real NOT NULL DEFAULT 0`.execute(db);
  await sql`ALTER TABLE face_embeddings ADD COLUMN IF NOT EXISTS cohort_mean real`.execute(db);
  await db.schema
    .createTable('event_face_cohorts')
    .ifNotExists()
    .addColumn('event_id', 'integer', (c) => c.notNull())
    .addColumn('model_pack', 'varchar', (c) => c.notNull())
    .addColumn('faces', 'integer', (c) => c.notNull())
    .addColumn('refreshed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('pk_event_face_cohorts', ['event_id', 'model_pack'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('event_face_cohorts').ifExists().execute();
  await sql`ALTER TABLE face_embeddings DROP COLUMN IF EXISTS cohort_mean`.execute(db);
  await sql`ALTER TABLE face_embeddings DROP COLUMN IF EXISTS yaw`.execute(db);
}
