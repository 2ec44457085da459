import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export type SearchCaller = 'photographer' | 'participant' | 'public';

/** One row per search: who, which event, how many results. Never image data. */
export interface SearchAuditTable {
  id: Generated<number>;
  event_id: number;
  caller_type: SearchCaller;
  /** Photographer id, participant id or a hashed client address; null once a participant is forgotten. */
  caller_id: string | null;
  result_count: number;
  best_similarity: number | null;
  query_time_ms: number;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}
export type SearchAuditRow = Selectable<SearchAuditTable>;
export type InsertableSearchAuditRow = Insertable<SearchAuditTable>;
