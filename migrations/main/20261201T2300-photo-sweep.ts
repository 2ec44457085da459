import { sql, type Kysely } from 'kysely';

/**
 * The ingest sweep re-queues photos left `pending` or `processing` without a live job, a bounded
 * number of times (`requeues` counts them) before it marks them `failed`. Its scan reads the few
 * unfinished photos by the time they last moved.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('faces').addColumn('requeues', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema
    .createIndex('idx_faces_unfinished')
    .on('faces')
    .expression(sql`coalesce(updated_at, created_at)`)
    .where(sql.ref('status'), 'in', sql`('pending', 'processing')`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('idx_faces_unfinished').ifExists().execute();
  await db.schema.alterTable('faces').dropColumn('requeues').execute();
}
