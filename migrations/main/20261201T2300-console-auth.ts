import { sql, type Kysely } from 'kysely';

/**
 * The web console's sign-in: a password per photographer (scrypt, never the password itself), an
 * account lockout after repeated bad passwords, server-side sessions (only a hash of the cookie's
 * token is stored, so a database leak does not hand out live sessions), one-time invite links, and
 * a name per API key so the settings page can tell keys apart.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('photographers')
    .addColumn('password_hash', 'varchar')
    .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', 'timestamptz')
    .execute();
  await db.schema.alterTable('api_keys').addColumn('name', 'varchar').execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('photographer_id', 'integer', (c) => c.notNull().references('photographers.id').onDelete('cascade'))
    .addColumn('token_hash', 'varchar', (c) => c.notNull().unique())
    .addColumn('csrf_token', 'varchar', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('idx_sessions_photographer').on('sessions').column('photographer_id').execute();

  await db.schema
    .createTable('photographer_invites')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('photographer_id', 'integer', (c) => c.notNull().references('photographers.id').onDelete('cascade'))
    .addColumn('token_hash', 'varchar', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('photographer_invites').ifExists().execute();
  await db.schema.dropTable('sessions').ifExists().execute();
  await db.schema.alterTable('api_keys').dropColumn('name').execute();
  await db.schema.alterTable('photographers').dropColumn('locked_until').dropColumn('failed_logins').dropColumn('password_hash').execute();
}
