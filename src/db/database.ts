import fs from 'node:fs/promises';
import { Kysely, PostgresDialect, type Dialect } from 'kysely';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite/vector';
import { PGliteDialect } from 'kysely-pglite-dialect';
import type { DatabaseTarget } from '../config.js';

const INT8_OID = 20;
const NUMERIC_OID = 1700;
// bigint and numeric columns (sizes, Telegram ids, counts) fit in a double; read them as numbers on both drivers.
const toNumber = (value: string): number => Number(value);

/** Opens a Kysely instance on PostgreSQL or on an embedded, file-backed PGlite with pgvector. */
export async function openDatabase<T>(target: DatabaseTarget): Promise<Kysely<T>> {
  let dialect: Dialect;
  if (target.kind === 'postgres') {
    const types = {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID || oid === NUMERIC_OID ? toNumber : pg.types.getTypeParser(oid, format),
    };
    const pool = new pg.Pool({ connectionString: target.url, max: target.poolSize, types });
    // An idle client losing its server must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    dialect = new PostgresDialect({ pool });
  } else {
    await fs.mkdir(target.dir, { recursive: true });
    const db = await PGlite.create(target.dir, {
      extensions: { vector },
      parsers: { [INT8_OID]: toNumber, [NUMERIC_OID]: toNumber },
    });
    dialect = new PGliteDialect(db);
  }
  return new Kysely<T>({ dialect });
}
