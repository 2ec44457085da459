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
/** How long opening one PostgreSQL connection may take. */
const CONNECT_TIMEOUT_MS = 10_000;

export async function openDatabase<T>(target: DatabaseTarget): Promise<Kysely<T>> {
  let dialect: Dialect;
  if (target.kind === 'postgres') {
    const types = {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID || oid === NUMERIC_OID ? toNumber : pg.types.getTypeParser(oid, format),
    };
    // A connection attempt cut off mid-handshake (server restart, network drop) would otherwise wait
    // forever, and with it the job that asked: time it out so the job fails and is retried.
    const pool = new pg.Pool({ connectionString: target.url, max: target.poolSize, types, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    // A client losing its server must not crash the process: an idle one is reported by the pool
    // ('error'), a busy one by the client itself, whose query rejects anyway (the job is retried).
    // Without a listener that client-level 'error' is an uncaught exception (seen when the database
    // went away in the middle of a worker's query).
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
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
