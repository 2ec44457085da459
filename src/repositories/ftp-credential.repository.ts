import type { Kysely } from 'kysely';
import type { FtpCredentialRow, MainDatabase } from '../../models/index.js';

/** An FTP account as listed to its photographer (never the password or its hash). */
export interface FtpCredential {
  id: number;
  event_id: number;
  username: string;
  label: string | null;
  created_at: Date;
  last_login_at: Date | null;
  revoked_at: Date | null;
}

/** What the FTP server needs to check a login and to ingest for the account. */
export interface FtpLogin {
  credentialId: number;
  eventId: number;
  photographerId: number;
  passwordHash: string;
}

const toCredential = (row: FtpCredentialRow): FtpCredential => ({
  id: row.id,
  event_id: row.event_id,
  username: row.username,
  label: row.label,
  created_at: row.created_at,
  last_login_at: row.last_login_at,
  revoked_at: row.revoked_at,
});

/** Per-event camera FTP accounts. */
export function createFtpCredentialRepository(db: Kysely<MainDatabase>) {
  return {
    async create(input: { eventId: number; username: string; passwordHash: string; label: string | null }): Promise<FtpCredential> {
      const row = await db
        .insertInto('ftp_credentials')
        .values({ event_id: input.eventId, username: input.username, password_hash: input.passwordHash, label: input.label })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toCredential(row);
    },

    async listByEvent(eventId: number): Promise<FtpCredential[]> {
      const rows = await db.selectFrom('ftp_credentials').selectAll().where('event_id', '=', eventId).orderBy('id').execute();
      return rows.map(toCredential);
    },

    /** Revokes one account of the event; false when there is no such account (or it was revoked already). */
    async revoke(eventId: number, credentialId: number): Promise<boolean> {
      const res = await db
        .updateTable('ftp_credentials')
        .set({ revoked_at: new Date() })
        .where('id', '=', credentialId)
        .where('event_id', '=', eventId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return res.numUpdatedRows > 0n;
    },

    async exists(eventId: number, credentialId: number): Promise<boolean> {
      return Boolean(await db.selectFrom('ftp_credentials').select('id').where('id', '=', credentialId).where('event_id', '=', eventId).executeTakeFirst());
    },

    /** A live account by user name: not revoked, its event not being deleted. */
    async findLogin(username: string): Promise<FtpLogin | undefined> {
      const row = await db
        .selectFrom('ftp_credentials as c')
        .innerJoin('events as e', 'e.id', 'c.event_id')
        .select(['c.id', 'c.event_id', 'c.password_hash', 'e.photographer_id'])
        .where('c.username', '=', username)
        .where('c.revoked_at', 'is', null)
        .where('e.deleted_at', 'is', null)
        .executeTakeFirst();
      return row && { credentialId: row.id, eventId: row.event_id, photographerId: row.photographer_id, passwordHash: row.password_hash };
    },

    /** Still usable (not revoked, event alive): checked again before each file is ingested. */
    async isLive(credentialId: number): Promise<boolean> {
      const row = await db
        .selectFrom('ftp_credentials as c')
        .innerJoin('events as e', 'e.id', 'c.event_id')
        .select('c.id')
        .where('c.id', '=', credentialId)
        .where('c.revoked_at', 'is', null)
        .where('e.deleted_at', 'is', null)
        .executeTakeFirst();
      return Boolean(row);
    },

    async touchLogin(credentialId: number): Promise<void> {
      await db.updateTable('ftp_credentials').set({ last_login_at: new Date() }).where('id', '=', credentialId).execute();
    },
  };
}
export type FtpCredentialRepository = ReturnType<typeof createFtpCredentialRepository>;
