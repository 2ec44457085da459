import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Dependencies } from '../../dependencies.js';

const CHECK_TIMEOUT_MS = 3000;

async function check(fn: () => Promise<unknown>): Promise<'ok' | string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.message || error.name : String(error);
  } finally {
    clearTimeout(timer);
  }
}

/** Liveness (`/healthz`: the process answers) and readiness (`/readyz`: every backing service answers). */
export async function healthRoutes(app: FastifyInstance, deps: Pick<Dependencies, 'dbs' | 'redis' | 'storage'>): Promise<void> {
  app.get('/healthz', { schema: { tags: ['health'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { tags: ['health'], summary: 'Readiness: both databases, Redis and storage' } }, async (_request, reply) => {
    const [db_main, db_vector, redis, storage] = await Promise.all([
      check(() => sql`select 1`.execute(deps.dbs.main)),
      check(() => sql`select 1`.execute(deps.dbs.vector)),
      check(() => deps.redis.ping()),
      check(() => deps.storage.ping()),
    ]);
    const checks = { db_main, db_vector, redis, storage };
    const ready = Object.values(checks).every((c) => c === 'ok');
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks });
  });
}
