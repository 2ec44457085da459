import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** pgvector's text form ("[0.1,0.2,...]") on write; read back as the same text. */
export type VectorColumn = ColumnType<string, string, string>;

/** One row per detected face. `face_id` is the photo (`faces.id` in db_main); no foreign keys across databases. */
export interface FaceEmbeddingTable {
  id: Generated<number>;
  face_id: number;
  /** Denormalised from the photo so every search filters on it without a join. */
  event_id: number;
  embedding: VectorColumn;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  bbox_x: number;
  bbox_y: number;
  bbox_width: number;
  bbox_height: number;
  detection_score: number;
  /** The model pack that produced the embedding; searches compare only within one pack. */
  model_pack: string;
  /** Sideways turn from the landmarks, in inter-eye distances (0 = frontal); the quality gate reads it. */
  yaw: ColumnType<number, number | undefined, number>;
  /** Mean of the face's K highest similarities to other people's faces in its event; null until computed. */
  cohort_mean: ColumnType<number | null, number | null | undefined, number | null>;
}
export type FaceEmbeddingRow = Selectable<FaceEmbeddingTable>;
export type InsertableFaceEmbeddingRow = Insertable<FaceEmbeddingTable>;
