import type { Kysely } from 'kysely';
import type { InsertableSearchAuditRow, MainDatabase } from '../../models/index.js';

/** The search audit log: who searched which event, when, how many results. No image data. */
export function createSearchAuditRepository(db: Kysely<MainDatabase>) {
  return {
    async record(entry: InsertableSearchAuditRow): Promise<void> {
      await db.insertInto('search_audit').values(entry).execute();
    },
    async listByEvent(eventId: number, limit = 100) {
      return db.selectFrom('search_audit').selectAll().where('event_id', '=', eventId).orderBy('id', 'desc').limit(limit).execute();
    },
  };
}
export type SearchAuditRepository = ReturnType<typeof createSearchAuditRepository>;
