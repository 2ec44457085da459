import type { Kysely } from 'kysely';
import type { EventRow, MainDatabase } from '../../models/index.js';

/** An event with the seed's fields. */
export interface Event {
  id: number;
  event_uuid: string;
  name: string;
  description: string | null;
  location: string | null;
  event_date: Date | null;
  is_active: boolean;
  created_at: Date;
  updated_at: Date | null;
}

/** Fields a photographer may set. */
export interface EventInput {
  name: string;
  description?: string | null;
  location?: string | null;
  event_date?: Date | null;
  is_active?: boolean;
}

const toEvent = (row: EventRow): Event => ({
  id: row.id,
  event_uuid: row.event_uuid,
  name: row.name,
  description: row.description,
  location: row.location,
  event_date: row.event_date,
  is_active: row.is_active,
  created_at: row.created_at,
  updated_at: row.updated_at,
});

const UNIQUE_VIOLATION = '23505';
export const isUniqueViolation = (error: unknown): boolean => (error as { code?: string }).code === UNIQUE_VIOLATION;

/**
 * Events. Every photographer-facing query takes the owner's id, so ownership is enforced in SQL:
 * another photographer's event is simply not found.
 */
export function createEventRepository(db: Kysely<MainDatabase>) {
  const owned = (photographerId: number) =>
    db.selectFrom('events').selectAll().where('photographer_id', '=', photographerId).where('deleted_at', 'is', null);

  return {
    async create(photographerId: number, eventUuid: string, input: EventInput): Promise<Event> {
      const row = await db
        .insertInto('events')
        .values({ ...input, event_uuid: eventUuid, photographer_id: photographerId })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toEvent(row);
    },

    async listOwned(photographerId: number, page: { offset: number; limit: number; active?: boolean }): Promise<{ items: Event[]; total: number }> {
      let query = owned(photographerId);
      if (page.active !== undefined) query = query.where('is_active', '=', page.active);
      const [rows, count] = await Promise.all([
        query.orderBy('id', 'desc').offset(page.offset).limit(page.limit).execute(),
        query.clearSelect().select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { items: rows.map(toEvent), total: Number(count.n) };
    },

    async findOwned(photographerId: number, id: number): Promise<Event | undefined> {
      const row = await owned(photographerId).where('id', '=', id).executeTakeFirst();
      return row && toEvent(row);
    },

    /** Which of these ids are the photographer's live events (one query, for list views). */
    async ownedIds(photographerId: number, ids: number[]): Promise<number[]> {
      if (ids.length === 0) return [];
      const rows = await owned(photographerId).where('id', 'in', ids).select('id').execute();
      return rows.map((r) => r.id);
    },

    /** An active, not deleted event by UUID (the participants' view). */
    async findActiveByUuid(eventUuid: string): Promise<Event | undefined> {
      const row = await db
        .selectFrom('events')
        .selectAll()
        .where('event_uuid', '=', eventUuid)
        .where('is_active', '=', true)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      return row && toEvent(row);
    },

    /** Any live event by id, regardless of owner (workers). */
    async findById(id: number): Promise<Event | undefined> {
      const row = await db.selectFrom('events').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
      return row && toEvent(row);
    },

    async updateOwned(photographerId: number, id: number, patch: Partial<EventInput>): Promise<Event | undefined> {
      const row = await db
        .updateTable('events')
        .set({ ...patch, updated_at: new Date() })
        .where('id', '=', id)
        .where('photographer_id', '=', photographerId)
        .where('deleted_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      return row && toEvent(row);
    },

    /** Hides the event at once and deactivates it; the delete-event job removes the rest. */
    async markDeleted(photographerId: number, id: number): Promise<boolean> {
      const result = await db
        .updateTable('events')
        .set({ deleted_at: new Date(), is_active: false, updated_at: new Date() })
        .where('id', '=', id)
        .where('photographer_id', '=', photographerId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** True while the event row exists (deleted or not): the cascade job keeps going until it is gone. */
    async exists(id: number): Promise<boolean> {
      return (await db.selectFrom('events').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
    },

    /** Events marked deleted whose cascade has not finished (re-enqueued at start). */
    async listPendingDeletion(): Promise<number[]> {
      const rows = await db.selectFrom('events').select('id').where('deleted_at', 'is not', null).execute();
      return rows.map((r) => r.id);
    },

    /** Which of these ids have an event row (deleted or not). */
    async existingIds(ids: number[]): Promise<Set<number>> {
      if (ids.length === 0) return new Set();
      const rows = await db.selectFrom('events').select('id').where('id', 'in', ids).execute();
      return new Set(rows.map((r) => r.id));
    },

    /** Events marked deleted before `before` whose cascade has not finished (its job was lost or failed). */
    async listDeletedBefore(before: Date): Promise<number[]> {
      const rows = await db.selectFrom('events').select('id').where('deleted_at', '<', before).execute();
      return rows.map((r) => r.id);
    },

    async purge(id: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('participant_events').where('event_id', '=', id).execute();
        await trx.deleteFrom('participant_deliveries').where('event_id', '=', id).execute();
        await trx.updateTable('participants').set({ active_event_id: null }).where('active_event_id', '=', id).execute();
        await trx.deleteFrom('events').where('id', '=', id).where('deleted_at', 'is not', null).execute();
      });
    },
  };
}
export type EventRepository = ReturnType<typeof createEventRepository>;
