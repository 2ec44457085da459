import { sql, type Kysely } from 'kysely';

// A participant's selfie embedding for one event, kept only while they subscribe to live delivery.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('participant_embeddings')
    .addColumn('participant_id', 'integer', (c) => c.notNull())
    .addColumn('event_id', 'integer', (c) => c.notNull())
    .addColumn('embedding', sql`vector(512)`, (c) => c.notNull())
    .addColumn('model_pack', 'varchar', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('pk_participant_embeddings', ['participant_id', 'event_id'])
    .execute();
  await db.schema.createIndex('idx_participant_embeddings_event').on('participant_embeddings').column('event_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('participant_embeddings').ifExists().execute();
}
