import type { Kysely } from 'kysely';
import type { MainDatabase, VectorDatabase } from '../../models/index.js';
import type { Config } from '../config.js';
import { openDatabase } from './database.js';
import { migrateToLatest, type MigrationOutcome } from './migrator.js';
import { assertPgvectorVersion } from './pgvector-version.js';

/** Both databases of the seed: db_main (events, photos, people) and db_vector (embeddings). */
export interface Databases {
  main: Kysely<MainDatabase>;
  vector: Kysely<VectorDatabase>;
  close(): Promise<void>;
}

/**
 * Opens both databases (two Kysely instances, even when the URLs point at one server). A db_vector
 * whose pgvector is missing or too old is refused here, before anything runs on it.
 */
export async function openDatabases(config: Pick<Config, 'databases'>): Promise<Databases> {
  const main = await openDatabase<MainDatabase>(config.databases.main);
  const vector = await openDatabase<VectorDatabase>(config.databases.vector).catch(async (error: unknown) => {
    await main.destroy();
    throw error;
  });
  try {
    await assertPgvectorVersion(vector as Kysely<unknown>);
  } catch (error) {
    await Promise.allSettled([main.destroy(), vector.destroy()]);
    throw error;
  }
  return {
    main,
    vector,
    close: async () => {
      await Promise.allSettled([main.destroy(), vector.destroy()]);
    },
  };
}

/** Applies pending migrations to both databases. */
export async function migrateDatabases(dbs: Databases): Promise<MigrationOutcome[]> {
  return [
    await migrateToLatest(dbs.main as Kysely<unknown>, 'main'),
    await migrateToLatest(dbs.vector as Kysely<unknown>, 'vector'),
  ];
}
