import type { Kysely } from 'kysely';
import type { VectorDatabase } from '../../models/index.js';

/** A detected face's box in the original photo's pixels. */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

/** Face boxes of a photo from db_vector (one row per detected face). */
export function createFaceBoxRepository(db: Kysely<VectorDatabase>) {
  return {
    async forPhoto(photoId: number): Promise<FaceBox[]> {
      const rows = await db
        .selectFrom('face_embeddings')
        .select(['bbox_x', 'bbox_y', 'bbox_width', 'bbox_height', 'detection_score'])
        .where('face_id', '=', photoId)
        .orderBy('id')
        .execute();
      return rows.map((r) => ({ x: r.bbox_x, y: r.bbox_y, width: r.bbox_width, height: r.bbox_height, score: r.detection_score }));
    },
  };
}
export type FaceBoxRepository = ReturnType<typeof createFaceBoxRepository>;
