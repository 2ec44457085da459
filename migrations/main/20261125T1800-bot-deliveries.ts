import { sql, type Kysely } from 'kysely';

// Live delivery sends a photo to a participant at most once: the row is written before sending.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('participant_deliveries')
    .addColumn('participant_id', 'integer', (c) => c.notNull().references('participants.id').onDelete('cascade'))
    .addColumn('face_id', 'integer', (c) => c.notNull())
    .addColumn('event_id', 'integer', (c) => c.notNull())
    .addColumn('delivered_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('pk_participant_deliveries', ['participant_id', 'face_id'])
    .execute();
  await db.schema.createIndex('idx_participant_deliveries_event').on('participant_deliveries').column('event_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('participant_deliveries').ifExists().execute();
}
