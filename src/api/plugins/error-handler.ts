import type { FastifyError, FastifyInstance } from 'fastify';
import { DomainError, RateLimitedError } from '../../errors.js';
import { fieldErrors, type SchemaError } from './validation-messages.js';

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
  photo_not_failed: 409,
  no_face: 422,
  multiple_faces: 422,
  unreadable_image: 422,
  selfies_disagree: 422,
  search_timeout: 504,
  rate_limited: 429,
};

/**
 * @fastify/multipart's errors (by code) and its parser's (busboy: plain `Error`s, by message): a
 * malformed or oversized form is the client's mistake, never a 500.
 */
const MULTIPART_CODES: Record<string, { status: number; code: string }> = {
  FST_PARTS_LIMIT: { status: 413, code: 'payload_too_large' },
  FST_FILES_LIMIT: { status: 413, code: 'payload_too_large' },
  FST_FIELDS_LIMIT: { status: 413, code: 'payload_too_large' },
  FST_REQ_FILE_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  FST_PROTO_VIOLATION: { status: 400, code: 'invalid_multipart' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { status: 400, code: 'invalid_multipart' },
  FST_INVALID_JSON_FIELD_ERROR: { status: 400, code: 'invalid_multipart' },
  FST_MP_PREMATURE_CLOSE: { status: 400, code: 'invalid_multipart' },
};
const BUSBOY_MESSAGES = [
  /^Multipart: Boundary not found$/,
  /^Boundary required$/,
  /^Unexpected end of multipart data$/,
  /terminated early due to unexpected end of multipart data$/,
  /^The needle cannot (be an empty|have a length bigger)/,
  /^Malformed part header$/,
];

/** The status and code of a multipart parsing error, or undefined when the error is something else. */
export function multipartError(error: { code?: string; message?: string; statusCode?: number }): { status: number; code: string; message: string } | undefined {
  const known = error.code ? MULTIPART_CODES[error.code] : undefined;
  if (known) return { ...known, message: known.status === 413 ? `The form is too large: ${error.message}` : `The multipart form is malformed: ${error.message}` };
  if (error.statusCode === undefined && BUSBOY_MESSAGES.some((m) => m.test(error.message ?? ''))) {
    return { status: 400, code: 'invalid_multipart', message: `The multipart form is malformed: ${error.message}` };
  }
  return undefined;
}

/**
 * The API's one error boundary: schema failures become 400 with the fields that failed, domain
 * errors their status, and anything else a 500 whose details stay in the log.
 */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | DomainError, request, reply) => {
    if (error instanceof DomainError) {
      if (error instanceof RateLimitedError) reply.header('retry-after', String(error.retryAfterSeconds));
      return reply.status(STATUS[error.code] ?? 400).send({ error: error.code, message: error.message, details: error.details });
    }
    if (error.validation) {
      const details = fieldErrors(error.validation as SchemaError[], error.validationContext ?? 'request');
      const message = details.map((d) => `${d.field} ${d.message}`).join('; ');
      return reply.status(400).send({ error: 'validation_error', message, details });
    }
    const multipart = multipartError(error);
    if (multipart) return reply.status(multipart.status).send({ error: multipart.code, message: multipart.message });
    const status = error.statusCode ?? 500;
    if (status < 500) {
      // Fastify's own client errors: malformed JSON, wrong content type, body too large…
      const code = status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : (error.code?.toLowerCase() ?? 'bad_request');
      return reply.status(status).send({ error: code, message: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send({ error: 'internal_error', message: 'Internal server error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'not_found', message: `Route ${request.method} ${request.url.split('?')[0]} not found` }),
  );
}
