import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

export const PHOTO_STATUSES = ['pending', 'processing', 'done', 'failed'] as const;
/** Processing state of an uploaded photo. */
export type PhotoStatus = (typeof PHOTO_STATUSES)[number];

/** The seed's `faces` table: one row per uploaded photo (name kept for API compatibility). */
export interface FaceTable {
  id: Generated<number>;
  /** No foreign key, as in the seed: the photo outlives nothing but is cleaned by the delete-event job. */
  event_id: number;
  image_url: string;
  s3_key: string;
  confidence: ColumnType<number, number | undefined, number>;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: Date | null;
  status: ColumnType<PhotoStatus, PhotoStatus | undefined, PhotoStatus>;
  face_count: ColumnType<number, number | undefined, number>;
  width: number | null;
  height: number | null;
  content_hash: string | null;
  size_bytes: number | null;
  content_type: string | null;
  original_name: string | null;
  preview_key: string | null;
  thumbnail_key: string | null;
  error: string | null;
  processed_at: Date | null;
  /** Times the ingest sweep queued the photo again after its job was lost. */
  requeues: ColumnType<number, number | undefined, number>;
  /** Model pack the faces of a done photo were embedded with (FACE_MODEL_PACK when it was processed). */
  model_pack: ColumnType<string | null, string | null | undefined, string | null>;
  /** Arrived live (camera, hot folder, `live=true` upload): queued ahead of the backlog, analysed progressively. */
  live: ColumnType<boolean, boolean | undefined, boolean>;
  /** `done` after the coarse pass; the small-face pass (`refine-photo`) has not finished yet. */
  refine_pending: ColumnType<boolean, boolean | undefined, boolean>;
}
export type FaceRow = Selectable<FaceTable>;
export type InsertableFaceRow = Insertable<FaceTable>;
export type UpdateableFaceRow = Updateable<FaceTable>;
