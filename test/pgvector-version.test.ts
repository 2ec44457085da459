import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { openDatabase } from '../src/db/database.js';
import { openDatabases } from '../src/db/databases.js';
import {
  compareVersions,
  MIN_PGVECTOR_VERSION,
  PgvectorVersionError,
  pgvectorProblem,
  readPgvectorVersions,
} from '../src/db/pgvector-version.js';
import { createTestDatabases, tempDir } from './helpers/services.js';

describe('pgvector version: the rule', () => {
  it('compares dotted versions numerically', () => {
    assert.equal(compareVersions('0.8.0', '0.8.0'), 0);
    assert.equal(compareVersions('0.8', '0.8.0'), 0);
    assert.equal(compareVersions('0.7.4', '0.8.0'), -1);
    assert.equal(compareVersions('0.8.1', '0.8.0'), 1);
    assert.equal(compareVersions('0.10.0', '0.8.1'), 1, 'not a string comparison');
    assert.equal(compareVersions('1.0.0', '0.99.9'), 1);
  });

  it('accepts 0.8 and newer, installed or about to be', () => {
    assert.equal(MIN_PGVECTOR_VERSION, '0.8.0');
    for (const v of ['0.8.0', '0.8.1', '0.10.2', '1.0.0']) {
      assert.equal(pgvectorProblem({ installed: v, available: v }), undefined, v);
      assert.equal(pgvectorProblem({ installed: null, available: v }), undefined, `${v} not yet created`);
    }
  });

  it('refuses older versions and says how to fix each case', () => {
    const updatable = pgvectorProblem({ installed: '0.7.4', available: '0.8.0' });
    assert.match(updatable ?? '', /db_vector has pgvector 0\.7\.4, FacePass needs 0\.8\.0 or newer/);
    assert.match(updatable ?? '', /server has 0\.8\.0: run `ALTER EXTENSION vector UPDATE;`/);
    const old = pgvectorProblem({ installed: '0.5.1', available: '0.5.1' });
    assert.match(old ?? '', /pgvector 0\.5\.1.*upgrade pgvector on the server/);
    const oldServer = pgvectorProblem({ installed: null, available: '0.6.0' });
    assert.match(oldServer ?? '', /server has pgvector 0\.6\.0, FacePass needs 0\.8\.0/);
    const none = pgvectorProblem({ installed: null, available: null });
    assert.match(none ?? '', /pgvector is not installed.*scripts\/setup-services\.sh/);
  });
});

describe('pgvector version: real databases', () => {
  let dbs: Awaited<ReturnType<typeof createTestDatabases>>;
  before(async () => (dbs = await createTestDatabases()));
  after(() => dbs.drop());

  const postgres = { main: { kind: 'postgres', url: '', poolSize: 2 }, vector: { kind: 'postgres', url: '', poolSize: 2 } } as const;
  const config = () => ({ databases: { main: { ...postgres.main, url: dbs.mainUrl }, vector: { ...postgres.vector, url: dbs.vectorUrl } } });

  it('reads the test server: pgvector available, 0.8 or newer, passes the check', async () => {
    const db = await openDatabase<unknown>({ kind: 'postgres', url: dbs.vectorUrl, poolSize: 1 });
    try {
      const versions = await readPgvectorVersions(db);
      assert.equal(versions.installed, null, 'a fresh database has no extension yet');
      assert.ok(versions.available !== null && compareVersions(versions.available, MIN_PGVECTOR_VERSION) >= 0, `server has ${versions.available}`);
      await sql`CREATE EXTENSION IF NOT EXISTS vector`.execute(db);
      assert.equal((await readPgvectorVersions(db)).installed, versions.available);
    } finally {
      await db.destroy();
    }
    const opened = await openDatabases(config());
    await opened.close();
  });

  it("passes PGlite's bundled pgvector", async () => {
    const tmp = await tempDir();
    try {
      const opened = await openDatabases({ databases: { main: { kind: 'pglite', dir: path.join(tmp.dir, 'main') }, vector: { kind: 'pglite', dir: path.join(tmp.dir, 'vector') } } });
      try {
        const versions = await readPgvectorVersions(opened.vector as Kysely<unknown>);
        assert.ok(versions.available !== null && compareVersions(versions.available, MIN_PGVECTOR_VERSION) >= 0, `PGlite has ${versions.available}`);
      } finally {
        await opened.close();
      }
    } finally {
      await tmp.remove();
    }
  });

  describe('a db_vector whose extension is 0.7.4', () => {
    // The catalog says 0.7.4, as in a database created before the server's pgvector was upgraded.
    before(async () => {
      const client = new pg.Client({ connectionString: dbs.vectorUrl });
      await client.connect();
      try {
        await client.query('CREATE EXTENSION IF NOT EXISTS vector');
        await client.query("UPDATE pg_extension SET extversion = '0.7.4' WHERE extname = 'vector'");
      } finally {
        await client.end();
      }
    });

    it('is refused when the databases are opened', async () => {
      await assert.rejects(openDatabases(config()), (error: unknown) => {
        assert.ok(error instanceof PgvectorVersionError);
        assert.match(error.message, /db_vector has pgvector 0\.7\.4, FacePass needs 0\.8\.0 or newer.*ALTER EXTENSION vector UPDATE/);
        return true;
      });
    });

    it('stops `facepass migrate` with that message, before any migration runs', async () => {
      const { NODE_OPTIONS: _, ...env } = process.env;
      const child = spawn(process.execPath, [path.resolve('bin/facepass.js'), 'migrate'], {
        env: { ...env, LOG_LEVEL: 'silent', DATABASE_MAIN_URL: dbs.mainUrl, DATABASE_VECTOR_URL: dbs.vectorUrl },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 1);
      assert.match(stderr, /^facepass: db_vector has pgvector 0\.7\.4, FacePass needs 0\.8\.0 or newer/);
      const main = await openDatabase<unknown>({ kind: 'postgres', url: dbs.mainUrl, poolSize: 1 });
      try {
        const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`.execute(main);
        assert.equal(rows[0]?.n, 0, 'db_main untouched');
      } finally {
        await main.destroy();
      }
    });
  });
});
