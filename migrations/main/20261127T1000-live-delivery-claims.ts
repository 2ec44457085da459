import { sql, type Kysely } from 'kysely';

/**
 * When a flush claimed a live delivery (pending → sending). A row still `sending` long after its claim
 * belongs to a flush whose process died mid-send: it is given back to `pending` and sent again.
 * Rows already `sending` get the migration's time, so they are recovered one lease later.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('participant_deliveries').addColumn('claimed_at', 'timestamptz').execute();
  await sql`update participant_deliveries set claimed_at = now() where status = 'sending'`.execute(db);
  // What the recovery sweep reads: the few rows being sent, oldest claim first.
  await db.schema
    .createIndex('idx_participant_deliveries_sending')
    .on('participant_deliveries')
    .column('claimed_at')
    .where(sql.ref('status'), '=', 'sending')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('idx_participant_deliveries_sending').ifExists().execute();
  await db.schema.alterTable('participant_deliveries').dropColumn('claimed_at').execute();
}
