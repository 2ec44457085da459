import { sql, type Kysely } from 'kysely';

/**
 * Camera FTP ingest: per-event FTP accounts. Only a scrypt hash of the password is kept (the
 * password is shown once when the account is made); a revoked account stays listed with its
 * revocation time so the photographer can tell which camera lost access.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ftp_credentials')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('event_id', 'integer', (c) => c.notNull().references('events.id').onDelete('cascade'))
    .addColumn('username', 'varchar', (c) => c.notNull().unique())
    .addColumn('password_hash', 'varchar', (c) => c.notNull())
    .addColumn('label', 'varchar')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_login_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('idx_ftp_credentials_event').on('ftp_credentials').column('event_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ftp_credentials').ifExists().execute();
}
