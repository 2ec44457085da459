import type { Kysely } from 'kysely';
import type { MainDatabase } from '../../models/index.js';

/** Photos (the seed's `faces` rows). This foundation needs only what the delete cascade uses; ingest adds the rest. */
export function createPhotoRepository(db: Kysely<MainDatabase>) {
  return {
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
