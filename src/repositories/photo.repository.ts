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
  /** Times the ingest sweep queued it again after its job was lost. */
  requeues: number;
  /** Pack the faces were embedded with; null before the photo is done. */
  model_pack: string | null;
  /** Arrived live: queued ahead of the backlog and analysed progressively. */
  live: boolean;
  /** `done` after the coarse pass, the small-face pass still to come. */
  refine_pending: boolean;
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
  requeues: r.requeues,
  model_pack: r.model_pack,
  live: r.live,
  refine_pending: r.refine_pending,
  created_at: r.created_at,
  processed_at: r.processed_at,
});

const UNIQUE_VIOLATION = '23505';

/** Photos (the seed's `faces` rows). */
/** The photo, if it exists and its event is not deleted. */
const livePhoto = (db: Kysely<MainDatabase>, id: number) =>
  db.selectFrom('faces').innerJoin('events', 'events.id', 'faces.event_id').select('faces.id').where('faces.id', '=', id).where('events.deleted_at', 'is', null);

/** Photos of live events that have not moved since `before`, by id after `afterId`: one page of a sweep's scan. */
const stalePage = (db: Kysely<MainDatabase>, before: Date, page: { afterId: number; limit: number }) =>
  db
    .selectFrom('faces')
    .where(sql<Date>`coalesce(updated_at, created_at)`, '<', before)
    .where('id', '>', page.afterId)
    .where(({ exists, selectFrom }) =>
      exists(selectFrom('events').select('events.id').whereRef('events.id', '=', 'faces.event_id').where('events.deleted_at', 'is', null)),
    )
    .orderBy('id')
    .limit(page.limit);

export function createPhotoRepository(db: Kysely<MainDatabase>) {
  return {
    /**
     * Inserts a pending photo while the event is live; when the event already has one with the same
     * content hash (a concurrent duplicate upload), returns that one with `duplicate: true` instead.
     * Returns undefined when the event was deleted meanwhile. The event row is read FOR SHARE in the
     * insert's transaction: the deletion's UPDATE of that row waits for the insert to commit (so its
     * cascade sees the photo), and an insert after the deletion committed finds no live event.
     */
    async insertPending(input: {
      event_id: number;
      s3_key: string;
      image_url: string;
      content_hash: string;
      size_bytes: number;
      content_type: string;
      original_name: string | null;
      live?: boolean;
    }): Promise<{ photo: Photo; duplicate: boolean } | undefined> {
      try {
        return await db.transaction().execute(async (trx) => {
          const live = await trx.selectFrom('events').select('id').where('id', '=', input.event_id).where('deleted_at', 'is', null).forShare().executeTakeFirst();
          if (!live) return undefined;
          const row = await trx.insertInto('faces').values({ ...input, confidence: 0, status: 'pending' }).returningAll().executeTakeFirstOrThrow();
          return { photo: toPhoto(row), duplicate: false };
        });
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

    /**
     * Records a finished photo; false when the photo or its event was deleted meanwhile (the caller
     * then takes back what it wrote). The event row is read FOR SHARE, so a deletion either commits
     * before (nothing recorded) or waits and its cascade finds the photo done.
     */
    async markDone(
      id: number,
      result: { face_count: number; confidence: number; width: number; height: number; preview_key: string; thumbnail_key: string; model_pack: string; refine_pending?: boolean },
    ): Promise<boolean> {
      const now = new Date();
      return db.transaction().execute(async (trx) => {
        const live = await livePhoto(trx, id).forShare('events').executeTakeFirst();
        if (!live) return false;
        const res = await trx
          .updateTable('faces')
          .set({ ...result, status: 'done', error: null, processed_at: now, updated_at: now })
          .where('id', '=', id)
          .executeTakeFirst();
        return Number(res.numUpdatedRows) === 1;
      });
    },

    /**
     * Done photos of live events embedded with another pack than `modelPack`, oldest first: what
     * switching FACE_MODEL_PACK leaves to re-embed.
     */
    async listOtherPack(modelPack: string, limit: number): Promise<{ id: number; event_id: number; s3_key: string; model_pack: string | null }[]> {
      return db
        .selectFrom('faces')
        .innerJoin('events', 'events.id', 'faces.event_id')
        .select(['faces.id', 'faces.event_id', 'faces.s3_key', 'faces.model_pack'])
        .where('faces.status', '=', 'done')
        .where((eb) => eb.or([eb('faces.model_pack', 'is', null), eb('faces.model_pack', '!=', modelPack)]))
        .where('events.deleted_at', 'is', null)
        .orderBy('faces.id')
        .limit(limit)
        .execute();
    },

    /**
     * Records a re-embedded photo's new pack and face facts, only while it is still done with the
     * pack it had when the re-embedding started (a concurrent re-upload or deletion wins).
     */
    async markReembedded(id: number, from: string | null, result: { model_pack: string; face_count: number; confidence: number }): Promise<boolean> {
      let query = db.updateTable('faces').set({ ...result, updated_at: new Date() }).where('id', '=', id).where('status', '=', 'done');
      query = from === null ? query.where('model_pack', 'is', null) : query.where('model_pack', '=', from);
      const res = await query.executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },

    /**
     * Records a finished small-face pass: the photo's face count (all its stored faces), its best
     * detector score, and no refine pending. False when the photo or its event is gone.
     */
    async markRefined(id: number, result: { face_count: number; confidence: number }): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const live = await livePhoto(trx, id).forShare('events').executeTakeFirst();
        if (!live) return false;
        const res = await trx
          .updateTable('faces')
          .set({ ...result, refine_pending: false, updated_at: new Date() })
          .where('id', '=', id)
          .executeTakeFirst();
        return Number(res.numUpdatedRows) === 1;
      });
    },

    /** Gives up a photo's small-face pass (its retries are used up): it stays `done` with its coarse faces. */
    async dropRefine(id: number): Promise<boolean> {
      const res = await db.updateTable('faces').set({ refine_pending: false, updated_at: new Date() }).where('id', '=', id).where('refine_pending', '=', true).executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },

    /**
     * Live photos of live events `done` after their coarse pass whose small-face pass has not finished
     * since `before` (the ingest sweep re-queues the lost ones), by id after `afterId`.
     */
    async listRefinePending(before: Date, page: { afterId: number; limit: number }): Promise<{ id: number; event_id: number; s3_key: string }[]> {
      return stalePage(db, before, page).select(['id', 'event_id', 's3_key']).where('refine_pending', '=', true).where('status', '=', 'done').execute();
    },

    /** True while the photo exists and its event is not deleted (processing checks before writing). */
    async isLive(id: number): Promise<boolean> {
      return (await livePhoto(db, id).executeTakeFirst()) !== undefined;
    },

    /**
     * Records why a photo cannot be processed. `onlyUnfinished` leaves a photo that is done or failed
     * already as it is (a late final-failure hook must not undo a success). False when nothing changed.
     */
    async markFailed(id: number, error: string, options: { onlyUnfinished?: boolean } = {}): Promise<boolean> {
      const now = new Date();
      let query = db.updateTable('faces').set({ status: 'failed', error: error.slice(0, 1000), processed_at: now, updated_at: now }).where('id', '=', id);
      if (options.onlyUnfinished) query = query.where('status', 'in', ['pending', 'processing']);
      const res = await query.executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },

    /**
     * Puts failed photos back to `pending` for another processing run (the photographer's retry):
     * the reason is cleared and the sweep's re-queue count starts over. Only `failed` photos change,
     * so a retry racing a second one, or a photo that is done meanwhile, is left as it is. With
     * `photoId` one photo, otherwise every failed photo of the event; returns the photos reset.
     */
    async resetFailed(eventId: number, photoId?: number): Promise<{ id: number; event_id: number; s3_key: string }[]> {
      let query = db
        .updateTable('faces')
        .set({ status: 'pending', error: null, requeues: 0, processed_at: null, updated_at: new Date() })
        .where('event_id', '=', eventId)
        .where('status', '=', 'failed');
      if (photoId !== undefined) query = query.where('id', '=', photoId);
      return query.returning(['id', 'event_id', 's3_key']).execute();
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

    /**
     * Photos of live events still `pending` or `processing` that have not moved since `before`
     * (the ingest sweep's candidates), by id after `afterId`: the sweep pages through all of them.
     */
    async listUnfinished(
      before: Date,
      page: { afterId: number; limit: number },
    ): Promise<{ id: number; event_id: number; s3_key: string; requeues: number; live: boolean }[]> {
      return stalePage(db, before, page).select(['id', 'event_id', 's3_key', 'requeues', 'live']).where('status', 'in', ['pending', 'processing']).execute();
    },

    /**
     * Counts one more re-queue of an unfinished photo, if nobody did since it was read (several
     * workers may sweep at once: only one of them wins each round). Moving `updated_at` keeps
     * the photo out of the next sweeps for a lease.
     */
    async claimRequeue(id: number, seenRequeues: number): Promise<boolean> {
      const res = await db
        .updateTable('faces')
        .set({ requeues: seenRequeues + 1, updated_at: new Date() })
        .where('id', '=', id)
        .where('requeues', '=', seenRequeues)
        .where('status', 'in', ['pending', 'processing'])
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },

    /** Event ids that photos point at but no event row has (left by a crash or an old race). */
    async listOrphanEventIds(): Promise<number[]> {
      const rows = await db
        .selectFrom('faces')
        .select('event_id')
        .distinct()
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('events').select('events.id').whereRef('events.id', '=', 'faces.event_id'))))
        .execute();
      return rows.map((r) => r.event_id);
    },

    async countByEvent(eventId: number): Promise<number> {
      const row = await db.selectFrom('faces').select((eb) => eb.fn.countAll<number>().as('n')).where('event_id', '=', eventId).executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
export type PhotoRepository = ReturnType<typeof createPhotoRepository>;
