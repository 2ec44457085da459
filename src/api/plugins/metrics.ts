import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Metrics } from '../../observability/metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The process's Prometheus registry; served on its own listener (METRICS_PORT), never on the API port. */
    metrics: Registry;
  }
}

/** Records request durations by route into the process's metrics (served by the metrics listener, not here). */
export function registerMetrics(app: FastifyInstance, metrics: Metrics): Registry {
  const { registry, httpDuration: duration } = metrics;
  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.decorate('metrics', registry);
  return registry;
}
