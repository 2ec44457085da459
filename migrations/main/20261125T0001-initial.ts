import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<unknown>: they must not depend on today's table types.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('photographers')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('email', 'varchar', (c) => c.notNull().unique())
    .addColumn('name', 'varchar')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('photographer_id', 'integer', (c) => c.notNull().references('photographers.id').onDelete('cascade'))
    .addColumn('prefix', 'varchar', (c) => c.notNull())
    .addColumn('key_hash', 'varchar', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();

  // The seed's events table, field for field, plus owner and soft deletion.
  await db.schema
    .createTable('events')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('event_uuid', 'uuid', (c) => c.notNull().unique())
    .addColumn('name', 'varchar', (c) => c.notNull())
    .addColumn('description', 'varchar')
    .addColumn('location', 'varchar')
    .addColumn('event_date', 'timestamptz')
    .addColumn('is_active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz')
    .addColumn('photographer_id', 'integer', (c) => c.notNull().references('photographers.id'))
    .addColumn('deleted_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('idx_events_uuid').on('events').column('event_uuid').execute();
  await db.schema.createIndex('idx_events_active').on('events').column('is_active').execute();
  await db.schema.createIndex('idx_events_photographer').on('events').columns(['photographer_id', 'id']).execute();

  // The seed's faces table: one row per uploaded photo; event_id has no foreign key, as in the seed.
  await db.schema
    .createTable('faces')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('event_id', 'integer', (c) => c.notNull())
    .addColumn('image_url', 'varchar', (c) => c.notNull())
    .addColumn('s3_key', 'varchar', (c) => c.notNull())
    .addColumn('confidence', 'float8', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz')
    .addColumn('status', 'varchar', (c) =>
      c.notNull().defaultTo('pending').check(sql`status in ('pending', 'processing', 'done', 'failed')`),
    )
    .addColumn('face_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('width', 'integer')
    .addColumn('height', 'integer')
    .addColumn('content_hash', 'varchar')
    .addColumn('size_bytes', 'bigint')
    .addColumn('content_type', 'varchar')
    .addColumn('original_name', 'varchar')
    .addColumn('preview_key', 'varchar')
    .addColumn('thumbnail_key', 'varchar')
    .addColumn('error', 'varchar')
    .addColumn('processed_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('idx_faces_event_id').on('faces').column('event_id').execute();
  await db.schema.createIndex('idx_faces_event_status').on('faces').columns(['event_id', 'status']).execute();
  await db.schema
    .createIndex('uq_faces_event_hash')
    .on('faces')
    .columns(['event_id', 'content_hash'])
    .unique()
    .where(sql.ref('content_hash'), 'is not', null)
    .execute();

  await db.schema
    .createTable('participants')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('telegram_user_id', 'bigint', (c) => c.notNull().unique())
    .addColumn('language', 'varchar')
    .addColumn('consent_at', 'timestamptz')
    .addColumn('active_event_id', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('participant_events')
    .addColumn('participant_id', 'integer', (c) => c.notNull().references('participants.id').onDelete('cascade'))
    .addColumn('event_id', 'integer', (c) => c.notNull())
    .addColumn('joined_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('live_delivery', 'boolean', (c) => c.notNull().defaultTo(false))
    .addPrimaryKeyConstraint('pk_participant_events', ['participant_id', 'event_id'])
    .execute();
  await db.schema.createIndex('idx_participant_events_event').on('participant_events').column('event_id').execute();

  await db.schema
    .createTable('search_audit')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('event_id', 'integer', (c) => c.notNull())
    .addColumn('caller_type', 'varchar', (c) => c.notNull())
    .addColumn('caller_id', 'varchar')
    .addColumn('result_count', 'integer', (c) => c.notNull())
    .addColumn('best_similarity', 'float8')
    .addColumn('query_time_ms', 'float8', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('idx_search_audit_event').on('search_audit').columns(['event_id', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['search_audit', 'participant_events', 'participants', 'faces', 'events', 'api_keys', 'photographers']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
