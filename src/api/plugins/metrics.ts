import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Metrics } from '../../observability/metrics.js';

/** Records request durations by route into the process's metrics; serves them at /metrics. */
export function registerMetrics(app: FastifyInstance, metrics: Metrics): Registry {
  const { registry, httpDuration: duration } = metrics;
  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  return registry;
}
