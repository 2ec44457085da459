import { Migrator, type Kysely, type Migration, type MigrationResultSet } from 'kysely';
import { mainMigrations } from '../../migrations/main/index.js';
import { vectorMigrations } from '../../migrations/vector/index.js';

/** Which database a migration set belongs to. */
export type DatabaseName = 'main' | 'vector';

const MIGRATIONS: Record<DatabaseName, Record<string, Migration>> = { main: mainMigrations, vector: vectorMigrations };

function migratorFor(db: Kysely<unknown>, name: DatabaseName): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS[name] },
    // Separate bookkeeping tables, so both databases may live in one PostgreSQL database.
    migrationTableName: `kysely_migration_${name}`,
    migrationLockTableName: `kysely_migration_lock_${name}`,
  });
}

/** Outcome of a migration run: the names applied (or reverted). */
export interface MigrationOutcome {
  database: DatabaseName;
  applied: string[];
}

function unwrap(name: DatabaseName, { error, results }: MigrationResultSet): MigrationOutcome {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`Migration of db_${name} failed${failed ? ` at ${failed.migrationName}` : ''}: ${String(error)}`, {
      cause: error,
    });
  }
  return { database: name, applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}

/** Applies every pending migration. */
export async function migrateToLatest(db: Kysely<unknown>, name: DatabaseName): Promise<MigrationOutcome> {
  return unwrap(name, await migratorFor(db, name).migrateToLatest());
}

/** Reverts every migration (used by tests and `facepass migrate --down`). */
export async function migrateDownAll(db: Kysely<unknown>, name: DatabaseName): Promise<MigrationOutcome> {
  const migrator = migratorFor(db, name);
  const reverted: string[] = [];
  for (;;) {
    const outcome = unwrap(name, await migrator.migrateDown());
    if (outcome.applied.length === 0) break;
    reverted.push(...outcome.applied);
  }
  return { database: name, applied: reverted };
}
