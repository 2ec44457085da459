import { sql, type Kysely } from 'kysely';

/**
 * Live photos (issue #16): `live` marks a photo that arrived live (camera FTP, hot folder, an upload
 * with `live=true`): it jumps ahead of the backlog and is analysed progressively. `refine_pending`
 * marks a live photo that is `done` after its coarse pass and still waits for the small-face pass;
 * the ingest sweep queues that pass again when its job was lost.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('faces').addColumn('live', 'boolean', (c) => c.notNull().defaultTo(false)).execute();
  await db.schema.alterTable('faces').addColumn('refine_pending', 'boolean', (c) => c.notNull().defaultTo(false)).execute();
  await db.schema.createIndex('idx_faces_refine_pending').on('faces').column('id').where(sql.ref('refine_pending'), '=', sql.lit(true)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('idx_faces_refine_pending').ifExists().execute();
  await db.schema.alterTable('faces').dropColumn('refine_pending').execute();
  await db.schema.alterTable('faces').dropColumn('live').execute();
}
