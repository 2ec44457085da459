import type { Kysely } from 'kysely';
import type { VectorDatabase } from '../../models/index.js';

/** Face embeddings in db_vector. */
export function createEmbeddingRepository(db: Kysely<VectorDatabase>) {
  return {
    async deleteByPhotos(faceIds: number[]): Promise<number> {
      if (faceIds.length === 0) return 0;
      const result = await db.deleteFrom('face_embeddings').where('face_id', 'in', faceIds).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async deleteByEvent(eventId: number): Promise<number> {
      const result = await db.deleteFrom('face_embeddings').where('event_id', '=', eventId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async countByEvent(eventId: number): Promise<number> {
      const row = await db
        .selectFrom('face_embeddings')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('event_id', '=', eventId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
export type EmbeddingRepository = ReturnType<typeof createEmbeddingRepository>;
