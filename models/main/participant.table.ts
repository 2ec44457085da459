import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** A Telegram user who joined at least one event. */
export interface ParticipantTable {
  id: Generated<number>;
  telegram_user_id: ColumnType<number, number, never>;
  language: string | null;
  /** When consent to biometric processing was given; null means no selfie may be processed. */
  consent_at: Date | null;
  active_event_id: number | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}
export type ParticipantRow = Selectable<ParticipantTable>;
export type InsertableParticipantRow = Insertable<ParticipantTable>;
export type UpdateableParticipantRow = Updateable<ParticipantTable>;

/** A participant's join of an event, with their live-delivery choice. */
export interface ParticipantEventTable {
  participant_id: number;
  event_id: number;
  joined_at: ColumnType<Date, Date | string | undefined, never>;
  live_delivery: ColumnType<boolean, boolean | undefined, boolean>;
}
export type ParticipantEventRow = Selectable<ParticipantEventTable>;
export type InsertableParticipantEventRow = Insertable<ParticipantEventTable>;
