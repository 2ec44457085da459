import type { FastifyError, FastifyInstance } from 'fastify';
import { DomainError } from '../../errors.js';

const STATUS: Record<string, number> = {
  not_found: 404,
  conflict: 409,
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  too_many_attempts: 429,
  unavailable: 503,
  unsupported_media_type: 415,
  payload_too_large: 413,
  event_inactive: 409,
  no_face: 422,
  multiple_faces: 422,
  search_timeout: 504,
};

/**
 * The API's one error boundary: schema failures become 400 with the fields that failed, domain
 * errors their status, and anything else a 500 whose details stay in the log.
 */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | DomainError, request, reply) => {
    if (error instanceof DomainError) {
      return reply.status(STATUS[error.code] ?? 400).send({ error: error.code, message: error.message, details: error.details });
    }
    if (error.validation) {
      const where = error.validationContext ?? 'request';
      let details = error.validation.map((v) => {
        const missing = (v.params as { missingProperty?: string } | undefined)?.missingProperty;
        const path = [where, ...v.instancePath.split('/').filter(Boolean), ...(missing ? [missing] : [])].join('.');
        return { field: path, message: v.message ?? 'is invalid' };
      });
      // One message per field: a failed union (e.g. date-time or null) otherwise reports every branch.
      const seen = new Set<string>();
      details = details.filter((d) => !seen.has(d.field) && seen.add(d.field) !== undefined);
      const message = details.map((d) => `${d.field} ${d.message}`).join('; ');
      return reply.status(400).send({ error: 'validation_error', message, details });
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      // Fastify's own client errors: malformed JSON, wrong content type, body too large…
      return reply.status(status).send({ error: error.code?.toLowerCase() ?? 'bad_request', message: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send({ error: 'internal_error', message: 'Internal server error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'not_found', message: `Route ${request.method} ${request.url.split('?')[0]} not found` }),
  );
}
