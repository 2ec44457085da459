import { sql, type Kysely } from 'kysely';

/**
 * Which model pack a done photo's faces were embedded with. Switching FACE_MODEL_PACK re-embeds
 * every done photo whose pack differs, in the background; this column is how they are found.
 * Until now only the default pack could run, so every done photo is marked with it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('faces').addColumn('model_pack', 'varchar').execute();
  await sql`UPDATE faces SET model_pack = 'faceapi-resnet128' WHERE status = 'done'`.execute(db);
  // The re-embedding scan reads done photos by pack; an index keeps it off the whole table.
  await db.schema.createIndex('idx_faces_done_pack').on('faces').columns(['model_pack', 'event_id']).where(sql.ref('status'), '=', 'done').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('idx_faces_done_pack').ifExists().execute();
  await db.schema.alterTable('faces').dropColumn('model_pack').execute();
}
