import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** The seed's `events` table, plus owner and soft-deletion for the cascade job. */
export interface EventTable {
  id: Generated<number>;
  event_uuid: string;
  name: string;
  description: string | null;
  location: string | null;
  event_date: Date | null;
  is_active: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: Date | null;
  photographer_id: number;
  /** Set when deletion starts; the delete-event job removes the row once everything else is gone. */
  deleted_at: Date | null;
}
export type EventRow = Selectable<EventTable>;
export type InsertableEventRow = Insertable<EventTable>;
export type UpdateableEventRow = Updateable<EventTable>;
