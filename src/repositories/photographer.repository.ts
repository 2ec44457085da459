import type { Kysely } from 'kysely';
import type { MainDatabase, PhotographerRow } from '../../models/index.js';

/** A photographer as the rest of the code sees it. */
export interface Photographer {
  id: number;
  email: string;
  name: string | null;
  created_at: Date;
}

export interface PhotographerWithKeys extends Photographer {
  active_keys: number;
}

/** Maps a row (or any row with its columns) to the shared `Photographer`. */
export const toPhotographer = (row: Pick<PhotographerRow, 'id' | 'email' | 'name' | 'created_at'>): Photographer => ({
  id: row.id,
  email: row.email,
  name: row.name,
  created_at: row.created_at,
});

/** How fresh `api_keys.last_used_at` is kept. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** Photographers and their hashed API keys. */
export function createPhotographerRepository(db: Kysely<MainDatabase>) {
  return {
    async findByEmail(email: string): Promise<Photographer | undefined> {
      const row = await db.selectFrom('photographers').selectAll().where('email', '=', email).executeTakeFirst();
      return row && toPhotographer(row);
    },

    async findById(id: number): Promise<Photographer | undefined> {
      const row = await db.selectFrom('photographers').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toPhotographer(row);
    },

    /** Creates the photographer and a first key in one transaction. */
    async createWithKey(input: { email: string; name: string | null }, key: { prefix: string; hash: string }): Promise<Photographer> {
      return db.transaction().execute(async (trx) => {
        const row = await trx.insertInto('photographers').values(input).returningAll().executeTakeFirstOrThrow();
        await trx.insertInto('api_keys').values({ photographer_id: row.id, prefix: key.prefix, key_hash: key.hash }).execute();
        return toPhotographer(row);
      });
    },

    async addKey(photographerId: number, key: { prefix: string; hash: string }): Promise<void> {
      await db.insertInto('api_keys').values({ photographer_id: photographerId, prefix: key.prefix, key_hash: key.hash }).execute();
    },

    async revokeKeys(photographerId: number): Promise<number> {
      const result = await db
        .updateTable('api_keys')
        .set({ revoked_at: new Date() })
        .where('photographer_id', '=', photographerId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /**
     * The owner of a live key with this hash; records its use to the minute (LAST_USED_RESOLUTION_MS):
     * an upload of a thousand photos would otherwise rewrite the key's row a thousand times.
     */
    async findByKeyHash(hash: string): Promise<Photographer | undefined> {
      const row = await db
        .selectFrom('api_keys as k')
        .innerJoin('photographers as p', 'p.id', 'k.photographer_id')
        .select(['k.id as key_id', 'k.last_used_at', 'p.id', 'p.email', 'p.name', 'p.created_at'])
        .where('k.key_hash', '=', hash)
        .where('k.revoked_at', 'is', null)
        .executeTakeFirst();
      if (!row) return undefined;
      const now = new Date();
      if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() >= LAST_USED_RESOLUTION_MS) {
        await db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', row.key_id).execute();
      }
      return toPhotographer(row);
    },

    async list(): Promise<PhotographerWithKeys[]> {
      const rows = await db
        .selectFrom('photographers as p')
        .leftJoin('api_keys as k', (join) => join.onRef('k.photographer_id', '=', 'p.id').on('k.revoked_at', 'is', null))
        .select(['p.id', 'p.email', 'p.name', 'p.created_at'])
        .select((eb) => eb.fn.count<number>('k.id').as('active_keys'))
        .groupBy(['p.id', 'p.email', 'p.name', 'p.created_at'])
        .orderBy('p.id')
        .execute();
      return rows.map((r) => ({ ...toPhotographer(r), active_keys: Number(r.active_keys) }));
    },
  };
}
export type PhotographerRepository = ReturnType<typeof createPhotographerRepository>;
