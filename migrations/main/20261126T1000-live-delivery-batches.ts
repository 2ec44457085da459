import { sql, type Kysely } from 'kysely';

/**
 * Live delivery in batches: a match is recorded as `pending` by the deliver-photo job and sent later,
 * with the participant's other new photos, as one album by the send-live-deliveries job.
 * pending → sending (claimed right before the send) → sent; back to pending when the send throws;
 * dropped when it can never be sent (participant unreachable or unsubscribed, event closed).
 * Existing rows were sent or shown already: the default is `sent`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('participant_deliveries')
    .addColumn('status', 'varchar', (c) => c.notNull().defaultTo('sent').check(sql`status in ('pending', 'sending', 'sent', 'dropped')`))
    .execute();
  await db.schema.alterTable('participant_deliveries').addColumn('sent_at', 'timestamptz').execute();
  // What a flush reads: the pending rows of one event.
  await db.schema
    .createIndex('idx_participant_deliveries_pending')
    .on('participant_deliveries')
    .columns(['event_id', 'participant_id'])
    .where(sql.ref('status'), '=', 'pending')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('idx_participant_deliveries_pending').ifExists().execute();
  // Before batching every row meant "sent": rows never sent go, so the old code may deliver them again.
  await sql`delete from participant_deliveries where status = 'pending'`.execute(db);
  await db.schema.alterTable('participant_deliveries').dropColumn('sent_at').execute();
  await db.schema.alterTable('participant_deliveries').dropColumn('status').execute();
}
