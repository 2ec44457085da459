import type { Kysely } from 'kysely';
import type { MainDatabase } from '../../models/index.js';
import { toPhotographer, type Photographer } from './photographer.repository.js';

/** What sign-in needs to know about an account. */
export interface Credentials {
  photographer: Photographer;
  passwordHash: string | null;
  failedLogins: number;
  lockedUntil: Date | null;
}

/** A live console session. */
export interface Session {
  id: number;
  photographer: Photographer;
  csrfToken: string;
  expiresAt: Date;
}

/** An API key as the settings page lists it (never the key or its hash). */
export interface ApiKeyInfo {
  id: number;
  name: string | null;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
}

/** Console accounts: passwords and lockout, sessions, invite links and named API keys. */
export function createAccountRepository(db: Kysely<MainDatabase>) {
  return {
    async credentialsByEmail(email: string): Promise<Credentials | undefined> {
      const row = await db.selectFrom('photographers').selectAll().where('email', '=', email).executeTakeFirst();
      return row && { photographer: toPhotographer(row), passwordHash: row.password_hash, failedLogins: row.failed_logins, lockedUntil: row.locked_until };
    },

    /** Counts a bad password atomically (parallel guesses each count) and locks at `maxFailures`. */
    async recordFailure(photographerId: number, maxFailures: number, lockUntil: Date): Promise<{ failedLogins: number; lockedUntil: Date | null }> {
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable('photographers')
          .set((eb) => ({ failed_logins: eb('failed_logins', '+', 1) }))
          .where('id', '=', photographerId)
          .returning(['failed_logins', 'locked_until'])
          .executeTakeFirstOrThrow();
        if (row.failed_logins < maxFailures) return { failedLogins: row.failed_logins, lockedUntil: row.locked_until };
        await trx.updateTable('photographers').set({ failed_logins: 0, locked_until: lockUntil }).where('id', '=', photographerId).execute();
        return { failedLogins: row.failed_logins, lockedUntil: lockUntil };
      });
    },

    async clearFailures(photographerId: number): Promise<void> {
      await db.updateTable('photographers').set({ failed_logins: 0, locked_until: null }).where('id', '=', photographerId).execute();
    },

    /** Sets the password and ends every session: a new password signs out whoever had the old one. */
    async setPassword(photographerId: number, passwordHash: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('photographers').set({ password_hash: passwordHash, failed_logins: 0, locked_until: null }).where('id', '=', photographerId).execute();
        await trx.deleteFrom('sessions').where('photographer_id', '=', photographerId).execute();
      });
    },

    async createSession(input: { photographerId: number; tokenHash: string; csrfToken: string; expiresAt: Date }): Promise<void> {
      await db
        .insertInto('sessions')
        .values({ photographer_id: input.photographerId, token_hash: input.tokenHash, csrf_token: input.csrfToken, expires_at: input.expiresAt })
        .execute();
      // Expired sessions of this photographer go as new ones come: the table never grows without bound.
      await db.deleteFrom('sessions').where('photographer_id', '=', input.photographerId).where('expires_at', '<', new Date()).execute();
    },

    async sessionByTokenHash(tokenHash: string): Promise<Session | undefined> {
      const row = await db
        .selectFrom('sessions as s')
        .innerJoin('photographers as p', 'p.id', 's.photographer_id')
        .select(['s.id as session_id', 's.csrf_token', 's.expires_at', 'p.id', 'p.email', 'p.name', 'p.created_at'])
        .where('s.token_hash', '=', tokenHash)
        .where('s.expires_at', '>', new Date())
        .executeTakeFirst();
      return row && { id: row.session_id, photographer: toPhotographer(row), csrfToken: row.csrf_token, expiresAt: row.expires_at };
    },

    async deleteSession(id: number): Promise<void> {
      await db.deleteFrom('sessions').where('id', '=', id).execute();
    },

    async createInvite(input: { photographerId: number; tokenHash: string; expiresAt: Date }): Promise<void> {
      await db.insertInto('photographer_invites').values({ photographer_id: input.photographerId, token_hash: input.tokenHash, expires_at: input.expiresAt }).execute();
    },

    /** Marks a live invite used and returns its photographer; undefined when unknown, used or expired. */
    async consumeInvite(tokenHash: string): Promise<number | undefined> {
      const row = await db
        .updateTable('photographer_invites')
        .set({ used_at: new Date() })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', new Date())
        .returning('photographer_id')
        .executeTakeFirst();
      return row?.photographer_id;
    },

    async listKeys(photographerId: number): Promise<ApiKeyInfo[]> {
      return db
        .selectFrom('api_keys')
        .select(['id', 'name', 'prefix', 'created_at', 'last_used_at'])
        .where('photographer_id', '=', photographerId)
        .where('revoked_at', 'is', null)
        .orderBy('id')
        .execute();
    },

    async addNamedKey(photographerId: number, key: { name: string; prefix: string; hash: string }): Promise<ApiKeyInfo> {
      return db
        .insertInto('api_keys')
        .values({ photographer_id: photographerId, name: key.name, prefix: key.prefix, key_hash: key.hash })
        .returning(['id', 'name', 'prefix', 'created_at', 'last_used_at'])
        .executeTakeFirstOrThrow();
    },

    /** Revokes one of the photographer's live keys; false when it is not theirs or already revoked. */
    async revokeKey(photographerId: number, keyId: number): Promise<boolean> {
      const result = await db
        .updateTable('api_keys')
        .set({ revoked_at: new Date() })
        .where('id', '=', keyId)
        .where('photographer_id', '=', photographerId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}
export type AccountRepository = ReturnType<typeof createAccountRepository>;
