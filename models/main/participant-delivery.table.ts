import type { ColumnType, Insertable, Selectable } from 'kysely';

/**
 * Where a live delivery stands: `pending` (matched, waiting for the event's next flush), `sending`
 * (claimed by a flush right before the Telegram call; left so if the process dies mid-send, until
 * the claim's lease expires and it goes back to `pending`), `sent` (also: shown by a search),
 * `dropped` (never to be sent: participant unreachable or unsubscribed, event closed, photo gone).
 */
export type ParticipantDeliveryStatus = 'pending' | 'sending' | 'sent' | 'dropped';

/** A photo for a participant from live delivery (or already shown by a search); one row per pair, so never twice. */
export interface ParticipantDeliveryTable {
  participant_id: number;
  /** The photo (`faces.id`). */
  face_id: number;
  event_id: number;
  /** When the row was recorded (the match, or the search that showed it). */
  delivered_at: ColumnType<Date, Date | string | undefined, never>;
  status: ColumnType<ParticipantDeliveryStatus, ParticipantDeliveryStatus | undefined, ParticipantDeliveryStatus>;
  /** When a flush sent it (null for pending, dropped and search-shown rows). */
  sent_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** When a flush last claimed it (pending → sending); null if never claimed. */
  claimed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}
export type ParticipantDeliveryRow = Selectable<ParticipantDeliveryTable>;
export type InsertableParticipantDeliveryRow = Insertable<ParticipantDeliveryTable>;
