import type { ColumnType, Insertable, Selectable } from 'kysely';
import type { VectorColumn } from './face-embedding.table.js';

/** A participant's selfie embedding for one event; exists only while they subscribe to live delivery. */
export interface ParticipantEmbeddingTable {
  participant_id: number;
  event_id: number;
  embedding: VectorColumn;
  /** Live matches compare only embeddings of the same model pack. */
  model_pack: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}
export type ParticipantEmbeddingRow = Selectable<ParticipantEmbeddingTable>;
export type InsertableParticipantEmbeddingRow = Insertable<ParticipantEmbeddingTable>;
