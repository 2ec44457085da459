import { sql, type Kysely } from 'kysely';
import type { MainDatabase, ParticipantRow } from '../../models/index.js';

/** A Telegram user who joined at least one event. */
export interface Participant {
  id: number;
  telegram_user_id: number;
  language: string | null;
  consent_at: Date | null;
  active_event_id: number | null;
}

/** One of a participant's events, as the bot lists them. */
export interface ParticipantEvent {
  event_id: number;
  name: string;
  event_date: Date | null;
  location: string | null;
  live_delivery: boolean;
  is_active: boolean;
}

/** A live-delivery recipient. */
export interface Subscriber {
  participant_id: number;
  telegram_user_id: number;
  language: string | null;
}

const toParticipant = (row: ParticipantRow): Participant => ({
  id: row.id,
  // bigint comes back from pg as a string.
  telegram_user_id: Number(row.telegram_user_id),
  language: row.language,
  consent_at: row.consent_at,
  active_event_id: row.active_event_id,
});

/** The moment before which a claim has expired, on the database's clock (the one claims are stamped with). */
const expiredBefore = (leaseMs: number) => sql<Date>`now() - ${Math.round(leaseMs)}::integer * interval '1 millisecond'`;

/** Participants, their event joins, live-delivery subscriptions and deliveries (db_main). */
export function createParticipantRepository(db: Kysely<MainDatabase>) {
  return {
    async findByTelegramId(telegramUserId: number): Promise<Participant | undefined> {
      const row = await db.selectFrom('participants').selectAll().where('telegram_user_id', '=', telegramUserId).executeTakeFirst();
      return row && toParticipant(row);
    },

    /** Creates the participant on first contact; an existing row is returned unchanged. */
    async upsert(telegramUserId: number, language: string | null): Promise<Participant> {
      const row = await db
        .insertInto('participants')
        .values({ telegram_user_id: telegramUserId, language })
        .onConflict((oc) => oc.column('telegram_user_id').doUpdateSet((eb) => ({ language: eb.ref('participants.language') })))
        .returningAll()
        .executeTakeFirstOrThrow();
      return toParticipant(row);
    },

    async update(id: number, patch: { language?: string; consent_at?: Date; active_event_id?: number | null }): Promise<void> {
      await db.updateTable('participants').set(patch).where('id', '=', id).execute();
    },

    /** Joins the event (idempotent) and makes it the active one. */
    async join(participantId: number, eventId: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('participant_events').values({ participant_id: participantId, event_id: eventId }).onConflict((oc) => oc.doNothing()).execute();
        await trx.updateTable('participants').set({ active_event_id: eventId }).where('id', '=', participantId).execute();
      });
    },

    async listEvents(participantId: number): Promise<ParticipantEvent[]> {
      return db
        .selectFrom('participant_events as pe')
        .innerJoin('events as e', 'e.id', 'pe.event_id')
        .select(['pe.event_id', 'e.name', 'e.event_date', 'e.location', 'pe.live_delivery', 'e.is_active'])
        .where('pe.participant_id', '=', participantId)
        .where('e.deleted_at', 'is', null)
        .orderBy('pe.joined_at', 'desc')
        .execute();
    },

    async isJoined(participantId: number, eventId: number): Promise<boolean> {
      const row = await db.selectFrom('participant_events').select('event_id').where('participant_id', '=', participantId).where('event_id', '=', eventId).executeTakeFirst();
      return row !== undefined;
    },

    async setLiveDelivery(participantId: number, eventId: number | 'all', on: boolean): Promise<void> {
      let query = db.updateTable('participant_events').set({ live_delivery: on }).where('participant_id', '=', participantId);
      if (eventId !== 'all') query = query.where('event_id', '=', eventId);
      await query.execute();
    },

    /** Participants subscribed to live delivery of this event, among the given ids. */
    async subscribers(eventId: number, participantIds: number[]): Promise<Subscriber[]> {
      if (participantIds.length === 0) return [];
      const rows = await db
        .selectFrom('participant_events as pe')
        .innerJoin('participants as p', 'p.id', 'pe.participant_id')
        .select(['p.id as participant_id', 'p.telegram_user_id', 'p.language'])
        .where('pe.event_id', '=', eventId)
        .where('pe.live_delivery', '=', true)
        .where('p.consent_at', 'is not', null)
        .where('p.id', 'in', participantIds)
        .execute();
      return rows.map((r) => ({ ...r, telegram_user_id: Number(r.telegram_user_id) }));
    },

    async hasLiveSubscribers(eventId: number): Promise<boolean> {
      const row = await db.selectFrom('participant_events').select('participant_id').where('event_id', '=', eventId).where('live_delivery', '=', true).executeTakeFirst();
      return row !== undefined;
    },

    /**
     * Records photos as shown (a search showed them): live delivery never sends them. A match still
     * waiting for its flush counts as shown too; returns the ids recorded or taken over.
     */
    async recordDeliveries(participantId: number, eventId: number, faceIds: number[]): Promise<number[]> {
      if (faceIds.length === 0) return [];
      const rows = await db
        .insertInto('participant_deliveries')
        .values(faceIds.map((face_id) => ({ participant_id: participantId, event_id: eventId, face_id, status: 'sent' as const })))
        .onConflict((oc) => oc.columns(['participant_id', 'face_id']).doUpdateSet({ status: 'sent' }).where('participant_deliveries.status', '=', 'pending'))
        .returning('face_id')
        .execute();
      return rows.map((r) => r.face_id);
    },

    /** Records a live match of the photo as pending for each participant; returns those not recorded before. */
    async recordPending(eventId: number, faceId: number, participantIds: number[]): Promise<number[]> {
      if (participantIds.length === 0) return [];
      const rows = await db
        .insertInto('participant_deliveries')
        .values(participantIds.map((participant_id) => ({ participant_id, event_id: eventId, face_id: faceId, status: 'pending' as const })))
        .onConflict((oc) => oc.doNothing())
        .returning('participant_id')
        .execute();
      return rows.map((r) => r.participant_id);
    },

    /** The event's pending deliveries, oldest photo first. */
    async pendingDeliveries(eventId: number): Promise<{ participant_id: number; face_id: number }[]> {
      return db
        .selectFrom('participant_deliveries')
        .select(['participant_id', 'face_id'])
        .where('event_id', '=', eventId)
        .where('status', '=', 'pending')
        .orderBy('participant_id')
        .orderBy('face_id')
        .execute();
    },

    async hasPendingDeliveries(eventId: number): Promise<boolean> {
      const row = await db.selectFrom('participant_deliveries').select('face_id').where('event_id', '=', eventId).where('status', '=', 'pending').executeTakeFirst();
      return row !== undefined;
    },

    /**
     * Claims pending deliveries for one send (pending → sending, stamped with the database's clock)
     * and returns the face ids claimed. Atomic per row: of two flushes racing for a row, only one gets it.
     */
    async claimDeliveries(participantId: number, faceIds: number[]): Promise<number[]> {
      if (faceIds.length === 0) return [];
      const rows = await db
        .updateTable('participant_deliveries')
        .set({ status: 'sending', claimed_at: sql<Date>`now()` })
        .where('participant_id', '=', participantId)
        .where('face_id', 'in', faceIds)
        .where('status', '=', 'pending')
        .returning('face_id')
        .execute();
      return rows.map((r) => r.face_id);
    },

    /**
     * Gives the event's deliveries claimed more than `leaseMs` ago and still `sending` back to pending:
     * the flush that claimed them died mid-send. One UPDATE, so of two flushes reclaiming at once only
     * one gets a row. Returns how many were given back.
     */
    async reclaimExpiredDeliveries(eventId: number, leaseMs: number): Promise<number> {
      const result = await db
        .updateTable('participant_deliveries')
        .set({ status: 'pending' })
        .where('event_id', '=', eventId)
        .where('status', '=', 'sending')
        .where('claimed_at', '<', expiredBefore(leaseMs))
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** Events with deliveries claimed more than `leaseMs` ago and still `sending`, with how many. */
    async expiredClaims(leaseMs: number): Promise<{ event_id: number; count: number }[]> {
      const rows = await db
        .selectFrom('participant_deliveries')
        .select(['event_id', (eb) => eb.fn.countAll<string>().as('count')])
        .where('status', '=', 'sending')
        .where('claimed_at', '<', expiredBefore(leaseMs))
        .groupBy('event_id')
        .orderBy('event_id')
        .execute();
      return rows.map((r) => ({ event_id: r.event_id, count: Number(r.count) }));
    },

    /** Settles claimed deliveries: sent, dropped, or given back (`pending`) when the send failed. */
    async settleDeliveries(participantId: number, faceIds: number[], status: 'sent' | 'dropped' | 'pending'): Promise<void> {
      if (faceIds.length === 0) return;
      await db
        .updateTable('participant_deliveries')
        .set({ status, sent_at: status === 'sent' ? new Date() : null })
        .where('participant_id', '=', participantId)
        .where('face_id', 'in', faceIds)
        .where('status', '=', 'sending')
        .execute();
    },

    /** Drops the event's pending deliveries (of these participants only, when given): they are never sent. */
    async dropPendingDeliveries(eventId: number, participantIds?: number[]): Promise<number> {
      if (participantIds?.length === 0) return 0;
      let query = db.updateTable('participant_deliveries').set({ status: 'dropped' }).where('event_id', '=', eventId).where('status', '=', 'pending');
      if (participantIds) query = query.where('participant_id', 'in', participantIds);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** Whether the participant got the photo (or a send of it was under way): their right to its original. */
    async wasDelivered(participantId: number, faceId: number): Promise<boolean> {
      const row = await db
        .selectFrom('participant_deliveries')
        .select('face_id')
        .where('participant_id', '=', participantId)
        .where('face_id', '=', faceId)
        .where('status', 'in', ['sending', 'sent'])
        .executeTakeFirst();
      return row !== undefined;
    },

    /** Removes everything db_main holds about the participant; their search audit rows stay, anonymised. */
    async deleteAll(participantId: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('participant_deliveries').where('participant_id', '=', participantId).execute();
        await trx.deleteFrom('participant_events').where('participant_id', '=', participantId).execute();
        await trx
          .updateTable('search_audit')
          .set({ caller_id: null })
          .where('caller_type', '=', 'participant')
          .where('caller_id', '=', String(participantId))
          .execute();
        await trx.deleteFrom('participants').where('id', '=', participantId).execute();
      });
    },
  };
}
export type ParticipantRepository = ReturnType<typeof createParticipantRepository>;
