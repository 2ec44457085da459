import { sql, type Kysely } from 'kysely';

/**
 * Bytes per face (issue #17): stored embeddings become `halfvec` (2 bytes per value instead of 4).
 * A default-pack face's vector takes 264 bytes instead of 520. Half precision keeps about three
 * significant digits per value. Cosine similarities of unit face vectors move by about 1e-4, far
 * below any decision margin, and the event HNSW indexes were already half precision. Participants'
 * selfie embeddings follow, so live matching compares like with like.
 *
 * The event indexes on `subvector(embedding, …)::halfvec(d)` are rebuilt by PostgreSQL as part of the
 * column rewrite (subvector takes halfvec too). Changing a column's type resets its storage to the
 * type's default, so the inline, uncompressed storage is set again.
 */
const TABLES = ['face_embeddings', 'participant_embeddings'] as const;

async function convert(db: Kysely<unknown>, type: 'halfvec' | 'vector'): Promise<void> {
  for (const table of TABLES) {
    await sql`ALTER TABLE ${sql.id(table)} ALTER COLUMN embedding TYPE ${sql.raw(type)} USING embedding::${sql.raw(type)}`.execute(db);
    await sql`ALTER TABLE ${sql.id(table)} ALTER COLUMN embedding SET STORAGE PLAIN`.execute(db);
  }
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await convert(db, 'halfvec');
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await convert(db, 'vector');
}
