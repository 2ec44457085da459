import type { FastifyInstance } from 'fastify';
import { createDependencies, type Dependencies } from '../../src/dependencies.js';
import { buildApi } from '../../src/api/app.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabases, startS3, tempDir, testConfig } from './services.js';

/** A full API on real services: fresh PostgreSQL databases, Redis, and S3 (s3rver) or local disk. */
export interface TestApp {
  app: FastifyInstance;
  deps: Dependencies;
  /** Creates a photographer and returns an Authorization header for them. */
  photographer(email?: string): Promise<{ id: number; headers: { authorization: string } }>;
  close(): Promise<void>;
}

let counter = 0;

export async function createTestApp(
  options: { storage?: 's3' | 'local'; env?: Record<string, string>; api?: Parameters<typeof buildApi>[1] } = {},
): Promise<TestApp> {
  const dbs = await createTestDatabases();
  const data = await tempDir();
  const s3 = options.storage === 'local' ? undefined : await startS3();
  const config = testConfig({
    FACEPASS_DATA_DIR: data.dir,
    DATABASE_MAIN_URL: dbs.mainUrl,
    DATABASE_VECTOR_URL: dbs.vectorUrl,
    ...(s3 && { S3_BUCKET: s3.bucket, S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY_ID: s3.accessKeyId, S3_SECRET_ACCESS_KEY: s3.secretAccessKey }),
    ...options.env,
  });
  const deps = await createDependencies(config, createLogger('silent'));
  const app = await buildApi(deps, options.api);
  await app.ready();
  return {
    app,
    deps,
    async photographer(email) {
      const { photographer, apiKey } = await deps.services.photographers.create({ email: email ?? `p${++counter}-${Date.now()}@example.com` });
      return { id: photographer.id, headers: { authorization: `Bearer ${apiKey}` } };
    },
    async close() {
      await app.close();
      for (const name of ['photos', 'maintenance'] as const) await deps.jobs.queue(name).obliterate({ force: true });
      await deps.close();
      await s3?.stop();
      await dbs.drop();
      await data.remove();
    },
  };
}
