import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import S3rver from 's3rver';
import { loadConfig, type Config } from '../../src/config.js';

/** Where the test PostgreSQL lives (a server with pgvector; see scripts/setup-services.sh). */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const uniqueName = (prefix: string): string => `${prefix}_${Date.now().toString(36)}_${crypto.randomBytes(3).toString('hex')}`;

function urlFor(database: string): string {
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Two fresh, empty PostgreSQL databases (db_main and db_vector) for one test file; `drop()` removes them. */
export async function createTestDatabases(): Promise<{ mainUrl: string; vectorUrl: string; drop(): Promise<void> }> {
  const main = uniqueName('fp_test_main');
  const vector = uniqueName('fp_test_vector');
  await admin(async (c) => {
    await c.query(`CREATE DATABASE ${main}`);
    await c.query(`CREATE DATABASE ${vector}`);
  });
  return {
    mainUrl: urlFor(main),
    vectorUrl: urlFor(vector),
    drop: () =>
      admin(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${main} WITH (FORCE)`);
        await c.query(`DROP DATABASE IF EXISTS ${vector} WITH (FORCE)`);
      }),
  };
}

/** A temporary directory removed by `remove()`. */
export async function tempDir(prefix = 'facepass-test-'): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rm(dir, { recursive: true, force: true }) };
}

/** A real S3-speaking server (s3rver) on loopback with one bucket. */
export async function startS3(): Promise<{ endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string; stop(): Promise<void> }> {
  const { dir, remove } = await tempDir('facepass-s3-');
  const bucket = 'facepass-test';
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }] });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    // s3rver's fixed credentials; requests are still signed and checked.
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    stop: async () => {
      await server.close();
      await remove();
    },
  };
}

/** A Config for tests from env-style overrides, with quiet logs and a unique queue prefix. */
export function testConfig(env: Record<string, string | undefined>): Config {
  return loadConfig({ LOG_LEVEL: 'silent', QUEUE_PREFIX: uniqueName('fpq'), REDIS_URL: TEST_REDIS_URL, PORT: '0', METRICS_PORT: '0', ...env });
}

/**
 * Environment for a FacePass process (`bin/facepass.js start --role …`) that shares a test app's
 * PostgreSQL databases, Redis queues and S3 bucket: what a separate api, worker or bot process needs.
 */
export function sharedServiceEnv(config: Config): Record<string, string> {
  if (config.storage.kind !== 's3' || config.databases.main.kind !== 'postgres' || config.databases.vector.kind !== 'postgres') {
    throw new Error('separate processes need the test app on PostgreSQL and S3');
  }
  return {
    DATABASE_MAIN_URL: config.databases.main.url,
    DATABASE_VECTOR_URL: config.databases.vector.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: config.queue.prefix,
    S3_BUCKET: config.storage.bucket,
    S3_ENDPOINT: config.storage.endpoint ?? '',
    S3_ACCESS_KEY_ID: config.storage.accessKeyId ?? '',
    S3_SECRET_ACCESS_KEY: config.storage.secretAccessKey ?? '',
  };
}
