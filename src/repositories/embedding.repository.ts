import type { Kysely } from 'kysely';
import type { VectorDatabase } from '../../models/index.js';

/** One face to store: its storage-width vector, box and detector score. */
export interface FaceEmbeddingInput {
  vector: number[];
  box: { x: number; y: number; width: number; height: number };
  score: number;
}

const toVectorLiteral = (v: number[]): string => `[${v.join(',')}]`;

/** Face embeddings in db_vector. */
export function createEmbeddingRepository(db: Kysely<VectorDatabase>) {
  return {
    /**
     * Replaces all embeddings of one photo in one transaction, so a rerun of the same job leaves
     * exactly the same rows: never duplicates, never a half-written set.
     */
    async replaceForPhoto(photo: { faceId: number; eventId: number; modelPack: string }, faces: FaceEmbeddingInput[]): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('face_embeddings').where('face_id', '=', photo.faceId).execute();
        if (faces.length === 0) return;
        await trx
          .insertInto('face_embeddings')
          .values(
            faces.map((f) => ({
              face_id: photo.faceId,
              event_id: photo.eventId,
              embedding: toVectorLiteral(f.vector),
              bbox_x: f.box.x,
              bbox_y: f.box.y,
              bbox_width: f.box.width,
              bbox_height: f.box.height,
              detection_score: f.score,
              model_pack: photo.modelPack,
            })),
          )
          .execute();
      });
    },

    async deleteByPhotos(faceIds: number[]): Promise<number> {
      if (faceIds.length === 0) return 0;
      const result = await db.deleteFrom('face_embeddings').where('face_id', 'in', faceIds).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    /** Every embedding of the event: its photos' faces and its participants' stored selfies. */
    async deleteByEvent(eventId: number): Promise<number> {
      const result = await db.deleteFrom('face_embeddings').where('event_id', '=', eventId).executeTakeFirst();
      await db.deleteFrom('participant_embeddings').where('event_id', '=', eventId).execute();
      return Number(result.numDeletedRows);
    },

    /** Every event id that has photo or participant embeddings (the orphan sweep checks them against db_main). */
    async listEventIds(): Promise<number[]> {
      const rows = await db
        .selectFrom('face_embeddings')
        .select('event_id')
        .union(db.selectFrom('participant_embeddings').select('event_id'))
        .execute();
      return rows.map((r) => r.event_id);
    },

    async countByEvent(eventId: number): Promise<number> {
      const row = await db
        .selectFrom('face_embeddings')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('event_id', '=', eventId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async countByPhoto(faceId: number): Promise<number> {
      const row = await db
        .selectFrom('face_embeddings')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('face_id', '=', faceId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
export type EmbeddingRepository = ReturnType<typeof createEmbeddingRepository>;
