import { sql, type Kysely } from 'kysely';

/**
 * The oldest pgvector FacePass runs on: event indexes use `subvector` (0.7) and searches use
 * iterative index scans (0.8). Older versions fail only once an event passes VECTOR_INDEX_MIN_FACES,
 * so the version is checked when db_vector is opened instead.
 */
export const MIN_PGVECTOR_VERSION = '0.8.0';

/** What a database reports about pgvector: the version installed in it and the one the server would install. */
export interface PgvectorVersions {
  /** `pg_extension.extversion`, or null when `CREATE EXTENSION vector` has not run in this database yet. */
  installed: string | null;
  /** `pg_available_extensions.default_version`, or null when the server has no pgvector at all. */
  available: string | null;
}

/** Thrown when db_vector cannot run FacePass's vector search; the message says what to do. */
export class PgvectorVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PgvectorVersionError';
  }
}

/** Compares dotted versions numerically ("0.10.0" > "0.8.1"); a missing part counts as 0. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** Why these versions cannot serve FacePass, or undefined when they can. */
export function pgvectorProblem({ installed, available }: PgvectorVersions): string | undefined {
  const min = MIN_PGVECTOR_VERSION;
  const usable = (v: string | null): v is string => v !== null && compareVersions(v, min) >= 0;
  if (installed !== null) {
    if (usable(installed)) return undefined;
    const fix = usable(available)
      ? `the server has ${available}: run \`ALTER EXTENSION vector UPDATE;\` in db_vector as its owner`
      : 'upgrade pgvector on the server (scripts/setup-services.sh, or the pgvector/pgvector image), then run `ALTER EXTENSION vector UPDATE;` in db_vector';
    return `db_vector has pgvector ${installed}, FacePass needs ${min} or newer (subvector, iterative index scans); ${fix}.`;
  }
  if (available === null) {
    return `pgvector is not installed on db_vector's PostgreSQL server; FacePass needs pgvector ${min} or newer (scripts/setup-services.sh installs it on Debian/Ubuntu, or use the pgvector/pgvector image).`;
  }
  if (usable(available)) return undefined;
  return `db_vector's PostgreSQL server has pgvector ${available}, FacePass needs ${min} or newer (subvector, iterative index scans); upgrade pgvector on the server (scripts/setup-services.sh, or the pgvector/pgvector image).`;
}

/** Reads the pgvector versions of a database (PostgreSQL or PGlite). */
export async function readPgvectorVersions(db: Kysely<unknown>): Promise<PgvectorVersions> {
  const { rows } = await sql<PgvectorVersions>`
    SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS installed,
           (SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS available`.execute(db);
  return rows[0] ?? { installed: null, available: null };
}

/** Refuses a db_vector whose pgvector is missing or older than {@link MIN_PGVECTOR_VERSION}. */
export async function assertPgvectorVersion(db: Kysely<unknown>): Promise<PgvectorVersions> {
  const versions = await readPgvectorVersions(db);
  const problem = pgvectorProblem(versions);
  if (problem) throw new PgvectorVersionError(problem);
  return versions;
}
