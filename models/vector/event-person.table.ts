import type { ColumnType, Generated } from 'kysely';

/** A person of an event: a group of its faces (issue #15). */
export interface EventPersonTable {
  event_id: number;
  id: Generated<number>;
  model_pack: string;
  /** Hidden persons' faces match no search and no live delivery in the event. */
  hidden: ColumnType<boolean, boolean | undefined, boolean>;
  hidden_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** The face row (`face_embeddings.id`) that shows the person best. */
  representative_face: number | null;
  face_count: ColumnType<number, number | undefined, number>;
  photo_count: ColumnType<number, number | undefined, number>;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}

/** Which person a face row belongs to; null person: seen and left unassigned. */
export interface EventPersonFaceTable {
  event_id: number;
  face_row: number;
  person_id: number | null;
  /** Set by an organizer (merge, split): kept by incremental clustering. */
  manual: ColumnType<boolean, boolean | undefined, boolean>;
}

/** Bumped by every change of an event's persons (optimistic concurrency of the clustering job). */
export interface EventPersonStateTable {
  event_id: number;
  version: ColumnType<number, number | undefined, number>;
  clustered_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}
