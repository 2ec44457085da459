import type { ColumnType, Insertable, Selectable } from 'kysely';

/** A photo sent to a participant by live delivery (or already shown by a search); one row per pair, written before sending. */
export interface ParticipantDeliveryTable {
  participant_id: number;
  /** The photo (`faces.id`). */
  face_id: number;
  event_id: number;
  delivered_at: ColumnType<Date, Date | string | undefined, never>;
}
export type ParticipantDeliveryRow = Selectable<ParticipantDeliveryTable>;
export type InsertableParticipantDeliveryRow = Insertable<ParticipantDeliveryTable>;
