import type { ColumnType, Selectable } from 'kysely';

/**
 * A partial HNSW index over one large event's embeddings of one model pack. Searches in events
 * listed here use the index; all others scan the event's rows exactly.
 */
export interface EventVectorIndexTable {
  event_id: number;
  model_pack: string;
  /** The pack's embedding length: the index covers `subvector(embedding, 1, dimensions)`. */
  dimensions: number;
  index_name: string;
  faces_at_build: number;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}
export type EventVectorIndexRow = Selectable<EventVectorIndexTable>;

/** When an event's face cohorts were last recomputed as a whole, and at what size. */
export interface EventFaceCohortTable {
  event_id: number;
  model_pack: string;
  faces: number;
  refreshed_at: ColumnType<Date, Date | string | undefined, Date | string>;
}
