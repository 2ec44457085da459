import { sql, type Kysely } from 'kysely';
import type { MainDatabase } from '../../models/index.js';

/** One hour of an event's activity. */
export interface HourlyPoint {
  hour: Date;
  uploads: number;
  joins: number;
  searches: number;
  matched_searches: number;
  live_deliveries: number;
}

/** An event's totals, as the console's insights page shows them. */
export interface EventInsights {
  photos: { total: number; done: number; failed: number };
  faces: number;
  participants: { joined: number; consented: number; searched: number; found: number; live_subscribed: number };
  searches: { total: number; matched: number; by_participants: number; by_photographer: number; public: number };
  deliveries: { by_search: number; live: number };
  hourly: HourlyPoint[];
}

/** Counts shown next to each event in the console's list. */
export interface EventCounts {
  event_id: number;
  photos: number;
  faces: number;
  participants: number;
}

const n = (value: unknown): number => Number(value ?? 0);

/**
 * Read-only aggregates over db_main for the console: photos, participants (joins and consent),
 * the search audit log and participant deliveries. A delivery row with `sent_at` set was sent by live
 * delivery; a `sent` row without it is a photo a search showed.
 */
export function createInsightsRepository(db: Kysely<MainDatabase>) {
  return {
    async forEvent(eventId: number, hourlyFrom: Date): Promise<EventInsights> {
      const [photos, participants, searched, found, searches, deliveries] = await Promise.all([
        db
          .selectFrom('faces')
          .where('event_id', '=', eventId)
          .select((eb) => [
            eb.fn.countAll<number>().as('total'),
            eb.fn.count<number>('id').filterWhere('status', '=', 'done').as('done'),
            eb.fn.count<number>('id').filterWhere('status', '=', 'failed').as('failed'),
            eb.fn.coalesce(eb.fn.sum<number>('face_count'), sql<number>`0`).as('faces'),
          ])
          .executeTakeFirstOrThrow(),
        db
          .selectFrom('participant_events as pe')
          .innerJoin('participants as p', 'p.id', 'pe.participant_id')
          .where('pe.event_id', '=', eventId)
          .select((eb) => [
            eb.fn.countAll<number>().as('joined'),
            eb.fn.count<number>('p.id').filterWhere('p.consent_at', 'is not', null).as('consented'),
            eb.fn.count<number>('p.id').filterWhere('pe.live_delivery', '=', true).as('live'),
          ])
          .executeTakeFirstOrThrow(),
        db
          .selectFrom('search_audit')
          .where('event_id', '=', eventId)
          .where('caller_type', '=', 'participant')
          .where('caller_id', 'is not', null)
          .select((eb) => eb.fn.count<number>('caller_id').distinct().as('n'))
          .executeTakeFirstOrThrow(),
        // Found: a search of theirs matched, or a photo reached them (search or live).
        sql<{ n: number }>`
          select count(*) as n from (
            select caller_id::int as id from search_audit
              where event_id = ${eventId} and caller_type = 'participant' and caller_id is not null and result_count > 0
            union
            select participant_id from participant_deliveries where event_id = ${eventId} and status = 'sent'
          ) found`.execute(db),
        db
          .selectFrom('search_audit')
          .where('event_id', '=', eventId)
          .select((eb) => [
            eb.fn.countAll<number>().as('total'),
            eb.fn.count<number>('id').filterWhere('result_count', '>', 0).as('matched'),
            eb.fn.count<number>('id').filterWhere('caller_type', '=', 'participant').as('participant'),
            eb.fn.count<number>('id').filterWhere('caller_type', '=', 'photographer').as('photographer'),
            eb.fn.count<number>('id').filterWhere('caller_type', '=', 'public').as('public'),
          ])
          .executeTakeFirstOrThrow(),
        db
          .selectFrom('participant_deliveries')
          .where('event_id', '=', eventId)
          .where('status', '=', 'sent')
          .select((eb) => [
            eb.fn.count<number>('face_id').filterWhere('sent_at', 'is', null).as('by_search'),
            eb.fn.count<number>('face_id').filterWhere('sent_at', 'is not', null).as('live'),
          ])
          .executeTakeFirstOrThrow(),
      ]);
      const hourly = await sql<{ hour: Date; kind: string; n: number }>`
        select date_trunc('hour', at) as hour, kind, count(*) as n from (
          select created_at as at, 'uploads' as kind from faces where event_id = ${eventId} and created_at >= ${hourlyFrom}
          union all select joined_at, 'joins' from participant_events where event_id = ${eventId} and joined_at >= ${hourlyFrom}
          union all select created_at, 'searches' from search_audit where event_id = ${eventId} and created_at >= ${hourlyFrom}
          union all select created_at, 'matched_searches' from search_audit where event_id = ${eventId} and created_at >= ${hourlyFrom} and result_count > 0
          union all select sent_at, 'live_deliveries' from participant_deliveries where event_id = ${eventId} and sent_at >= ${hourlyFrom}
        ) activity group by 1, 2 order by 1`.execute(db);
      const byHour = new Map<number, HourlyPoint>();
      for (const row of hourly.rows) {
        const hour = new Date(row.hour);
        const point = byHour.get(hour.getTime()) ?? { hour, uploads: 0, joins: 0, searches: 0, matched_searches: 0, live_deliveries: 0 };
        point[row.kind as keyof Omit<HourlyPoint, 'hour'>] = n(row.n);
        byHour.set(hour.getTime(), point);
      }
      return {
        photos: { total: n(photos.total), done: n(photos.done), failed: n(photos.failed) },
        faces: n(photos.faces),
        participants: {
          joined: n(participants.joined),
          consented: n(participants.consented),
          searched: n(searched.n),
          found: n(found.rows[0]?.n),
          live_subscribed: n(participants.live),
        },
        searches: {
          total: n(searches.total),
          matched: n(searches.matched),
          by_participants: n(searches.participant),
          by_photographer: n(searches.photographer),
          public: n(searches.public),
        },
        deliveries: { by_search: n(deliveries.by_search), live: n(deliveries.live) },
        hourly: [...byHour.values()],
      };
    },

    /** Photos, faces and participants per event, for the events given. */
    async countsFor(eventIds: number[]): Promise<EventCounts[]> {
      if (eventIds.length === 0) return [];
      const [photos, participants] = await Promise.all([
        db
          .selectFrom('faces')
          .where('event_id', 'in', eventIds)
          .groupBy('event_id')
          .select((eb) => ['event_id', eb.fn.countAll<number>().as('photos'), eb.fn.coalesce(eb.fn.sum<number>('face_count'), sql<number>`0`).as('faces')])
          .execute(),
        db
          .selectFrom('participant_events')
          .where('event_id', 'in', eventIds)
          .groupBy('event_id')
          .select((eb) => ['event_id', eb.fn.countAll<number>().as('participants')])
          .execute(),
      ]);
      return eventIds.map((id) => {
        const p = photos.find((r) => r.event_id === id);
        return { event_id: id, photos: n(p?.photos), faces: n(p?.faces), participants: n(participants.find((r) => r.event_id === id)?.participants) };
      });
    },
  };
}
export type InsightsRepository = ReturnType<typeof createInsightsRepository>;
