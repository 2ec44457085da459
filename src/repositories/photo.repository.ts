import { sql, type Kysely } from 'kysely';
import type { FaceRow, MainDatabase, PhotoStatus } from '../../models/index.js';
import { PHOTO_STATUSES } from '../../models/index.js';

/** An uploaded photo (a row of the seed's `faces` table). */
export interface Photo {
  id: number;
  event_id: number;
  s3_key: string;
  confidence: number;
  status: PhotoStatus;
  face_count: number;
  width: number | null;
  height: number | null;
  content_hash: string | null;
  size_bytes: number | null;
  content_type: string | null;
  original_name: string | null;
  preview_key: string | null;
  thumbnail_key: string | null;
  error: string | null;
  created_at: Date;
  processed_at: Date | null;
}

/** Per-status counts and throughput of an event's processing. */
export interface EventProgress {
  counts: Record<PhotoStatus, number>;
  total: number;
  faces: number;
  /** Photos finished (done or failed) in the last 5 minutes. */
  recent_finished: number;
  first_upload_at: Date | null;
  last_processed_at: Date | null;
}

const toPhoto = (r: FaceRow): Photo => ({
  id: r.id,
  event_id: r.event_id,
  s3_key: r.s3_key,
  confidence: r.confidence,
  status: r.status,
  face_count: r.face_count,
  width: r.width,
  height: r.height,
  content_hash: r.content_hash,
  size_bytes: r.size_bytes,
  content_type: r.content_type,
  original_name: r.original_name,
  preview_key: r.preview_key,
  thumbnail_key: r.thumbnail_key,
  error: r.error,
  created_at: r.created_at,
  processed_at: r.processed_at,
});

const UNIQUE_VIOLATION = '23505';

/** Photos (the seed's `faces` rows). */
export function createPhotoRepository(db: Kysely<MainDatabase>) {
  return {
    /**
     * Inserts a pending photo; when the event already has one with the same content hash
     * (a concurrent duplicate upload), returns that one with `duplicate: true` instead.
     */
    async insertPending(input: {
      event_id: number;
      s3_key: string;
      image_url: string;
      content_hash: string;
      size_bytes: number;
      content_type: string;
      original_name: string | null;
    }): Promise<{ photo: Photo; duplicate: boolean }> {
      try {
        const row = await db.insertInto('faces').values({ ...input, confidence: 0, status: 'pending' }).returningAll().executeTakeFirstOrThrow();
        return { photo: toPhoto(row), duplicate: false };
      } catch (error) {
        if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
        const existing = await this.findByHash(input.event_id, input.content_hash);
        if (!existing) throw error;
        return { photo: existing, duplicate: true };
      }
    },

    async findByHash(eventId: number, contentHash: string): Promise<Photo | undefined> {
      const row = await db.selectFrom('faces').selectAll().where('event_id', '=', eventId).where('content_hash', '=', contentHash).executeTakeFirst();
      return row && toPhoto(row);
    },

    /** Processed photos of one event among the given ids (search results pass through here). */
    async findDoneInEvent(eventId: number, ids: number[]): Promise<Photo[]> {
      if (ids.length === 0) return [];
      const rows = await db.selectFrom('faces').selectAll().where('event_id', '=', eventId).where('id', 'in', ids).where('status', '=', 'done').execute();
      return rows.map(toPhoto);
    },

    async findById(id: number): Promise<Photo | undefined> {
      const row = await db.selectFrom('faces').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toPhoto(row);
    },

    async listByEvent(eventId: number, page: { offset: number; limit: number; status?: PhotoStatus }): Promise<{ items: Photo[]; total: number }> {
      let query = db.selectFrom('faces').where('event_id', '=', eventId);
      if (page.status) query = query.where('status', '=', page.status);
      const [rows, count] = await Promise.all([
        query.selectAll().orderBy('id').offset(page.offset).limit(page.limit).execute(),
        query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { items: rows.map(toPhoto), total: Number(count.n) };
    },

    /** Every content hash of the event (lets the uploader skip what the server has). */
    async hashesByEvent(eventId: number): Promise<string[]> {
      const rows = await db.selectFrom('faces').select('content_hash').where('event_id', '=', eventId).where('content_hash', 'is not', null).execute();
      return rows.map((r) => r.content_hash as string);
    },

    async markProcessing(id: number): Promise<void> {
      await db.updateTable('faces').set({ status: 'processing', updated_at: new Date() }).where('id', '=', id).where('status', '!=', 'done').execute();
    },

    /** Records a finished photo; false when the photo was deleted meanwhile. */
    async markDone(
      id: number,
      result: { face_count: number; confidence: number; width: number; height: number; preview_key: string; thumbnail_key: string },
    ): Promise<boolean> {
      const now = new Date();
      const res = await db
        .updateTable('faces')
        .set({ ...result, status: 'done', error: null, processed_at: now, updated_at: now })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },

    async markFailed(id: number, error: string): Promise<void> {
      const now = new Date();
      await db.updateTable('faces').set({ status: 'failed', error: error.slice(0, 1000), processed_at: now, updated_at: now }).where('id', '=', id).execute();
    },

    async progress(eventId: number): Promise<EventProgress> {
      const rows = await db
        .selectFrom('faces')
        .select(['status'])
        .select((eb) => [
          eb.fn.countAll<number>().as('n'),
          eb.fn.sum<number>('face_count').as('faces'),
          eb.fn.min('created_at').as('first'),
          eb.fn.max('processed_at').as('last'),
          sql<number>`count(*) filter (where processed_at > now() - interval '5 minutes')`.as('recent'),
        ])
        .where('event_id', '=', eventId)
        .groupBy('status')
        .execute();
      const counts = Object.fromEntries(PHOTO_STATUSES.map((s) => [s, 0])) as Record<PhotoStatus, number>;
      const progress: EventProgress = { counts, total: 0, faces: 0, recent_finished: 0, first_upload_at: null, last_processed_at: null };
      for (const r of rows) {
        counts[r.status] = Number(r.n);
        progress.total += Number(r.n);
        progress.faces += Number(r.faces ?? 0);
        if (r.status === 'done' || r.status === 'failed') progress.recent_finished += Number(r.recent);
        const first = r.first as Date | null;
        const last = r.last as Date | null;
        if (first && (!progress.first_upload_at || first < progress.first_upload_at)) progress.first_upload_at = first;
        if (last && (!progress.last_processed_at || last > progress.last_processed_at)) progress.last_processed_at = last;
      }
      return progress;
    },

    /** A batch of the event's photos with their object keys, for deletion. */
    async listKeysBatch(eventId: number, limit: number): Promise<{ id: number; keys: string[] }[]> {
      const rows = await db
        .selectFrom('faces')
        .select(['id', 's3_key', 'preview_key', 'thumbnail_key'])
        .where('event_id', '=', eventId)
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ id: r.id, keys: [r.s3_key, r.preview_key, r.thumbnail_key].filter((k): k is string => !!k) }));
    },

    async deleteByIds(ids: number[]): Promise<number> {
      if (ids.length === 0) return 0;
      const result = await db.deleteFrom('faces').where('id', 'in', ids).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async countByEvent(eventId: number): Promise<number> {
      const row = await db.selectFrom('faces').select((eb) => eb.fn.countAll<number>().as('n')).where('event_id', '=', eventId).executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
export type PhotoRepository = ReturnType<typeof createPhotoRepository>;
