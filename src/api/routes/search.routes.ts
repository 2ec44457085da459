import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import rateLimit from '@fastify/rate-limit';
import multipart from '@fastify/multipart';
import type { Redis } from 'ioredis';
import Type from 'typebox';
import { InvalidInputError } from '../../errors.js';
import type { SearchService, SearchScope } from '../../services/search.service.js';
import type { PhotographerService } from '../../services/photographer.service.js';
import { hasCredentials, photographerOf } from '../plugins/auth.js';
import { errors } from '../schemas/common.schema.js';

/** Telegram's own download limit; a selfie larger than this is not a selfie. */
const SELFIE_MAX_BYTES = 20 * 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const SearchResponse = Type.Object({
  results: Type.Array(
    Type.Object({
      face_id: Type.Integer({ description: 'The matching photo' }),
      event_id: Type.Integer(),
      similarity: Type.Number({ description: 'Calibrated similarity of the photo’s best face, 0..1' }),
      image_url: Type.String({ description: 'Time-limited URL of the original' }),
      preview_url: Type.Union([Type.String(), Type.Null()], { description: 'Time-limited URL of the 2048 px preview' }),
    }),
  ),
  query_time_ms: Type.Number(),
  task_id: Type.String(),
  timings: Type.Object({ queue_ms: Type.Number(), decode_detect_embed_ms: Type.Number(), db_ms: Type.Number() }),
});

interface SearchForm {
  eventId?: number;
  eventUuid?: string;
  threshold: number;
  limit: number;
  faceIndex?: number;
  selfie?: Buffer;
}

function numberField(name: string, raw: string, min: number, max: number, integer: boolean): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new InvalidInputError(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(raw)}`, { field: name });
  }
  return value;
}

/** Reads the whole form in any field order; the selfie is buffered (bounded by SELFIE_MAX_BYTES). */
async function readForm(request: FastifyRequest): Promise<SearchForm> {
  if (!request.isMultipart()) throw new InvalidInputError('Send multipart/form-data with event_id (or event_uuid) and file', { field: 'body' });
  const form: SearchForm = { threshold: 0.7, limit: 10 };
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      if (part.fieldname !== 'file') throw new InvalidInputError(`Unexpected file field "${part.fieldname}": name it "file"`, { field: 'file' });
      form.selfie = await part.toBuffer();
      continue;
    }
    const raw = String(part.value);
    switch (part.fieldname) {
      case 'event_id':
        form.eventId = numberField('event_id', raw, 1, 2147483647, true);
        break;
      case 'event_uuid':
        if (!UUID.test(raw)) throw new InvalidInputError('event_uuid must be a UUID', { field: 'event_uuid' });
        form.eventUuid = raw.toLowerCase();
        break;
      case 'threshold':
        form.threshold = numberField('threshold', raw, 0.3, 1, false);
        break;
      case 'limit':
        form.limit = numberField('limit', raw, 1, 100, true);
        break;
      case 'face_index':
        form.faceIndex = numberField('face_index', raw, 0, 50, true);
        break;
      default:
        throw new InvalidInputError(`Unknown field "${part.fieldname}"`, { field: part.fieldname });
    }
  }
  return form;
}

/**
 * The seed's main endpoint. A photographer searches their own event by `event_id` with their key;
 * anyone may search an active event by `event_uuid` (rate limited per client address).
 */
export async function searchRoutes(
  app: FastifyInstance,
  deps: { search: SearchService; photographers: PhotographerService; url: (key: string) => Promise<string>; redis: Redis; queuePrefix: string; publicPerMinute: number; requirePhotographer: (request: FastifyRequest) => Promise<void> },
): Promise<void> {
  await app.register(multipart, { limits: { fileSize: SELFIE_MAX_BYTES, files: 1, fields: 10, fieldSize: 1024, parts: 12 } });
  await app.register(rateLimit, { global: false, redis: deps.redis, nameSpace: `${deps.queuePrefix}-ratelimit-` });
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post(
    '/faces/search',
    {
      config: {
        rateLimit: {
          max: deps.publicPerMinute,
          timeWindow: '1 minute',
          // Photographers (authenticated by key or console session) are not limited; participants are, per client address.
          allowList: (request) => hasCredentials(request),
        },
      },
      schema: {
        tags: ['search'],
        summary: 'Find the event’s photos of the person in a selfie',
        description:
          'multipart/form-data: `file` (selfie), and either `event_id` with a photographer key, or `event_uuid` without one. ' +
          'Optional `threshold` (0.3–1, default 0.7), `limit` (1–100, default 10), `face_index` (pick a face after a multiple_faces answer). ' +
          'One result per photo (its best face), best first, only from that event.',
        consumes: ['multipart/form-data'],
        security: [{ bearerAuth: [] }, {}],
        response: { 200: SearchResponse, ...errors(400, 401, 404, 413, 422, 429, 504) },
      },
    },
    async (request) => {
      const form = await readForm(request);
      if (!form.selfie || form.selfie.length === 0) throw new InvalidInputError('The form has no selfie in field "file"', { field: 'file' });
      let scope: SearchScope;
      if (hasCredentials(request)) {
        await deps.requirePhotographer(request);
        if (form.eventId === undefined) throw new InvalidInputError('event_id is required', { field: 'event_id' });
        scope = { kind: 'photographer', photographerId: photographerOf(request).id, eventId: form.eventId };
      } else {
        if (form.eventUuid === undefined) {
          throw new InvalidInputError(
            form.eventId !== undefined ? 'Searching by event_id needs a photographer key; participants search by event_uuid' : 'event_uuid is required',
            { field: 'event_uuid' },
          );
        }
        scope = { kind: 'public', eventUuid: form.eventUuid, clientId: request.ip };
      }
      const outcome = await deps.search.search(scope, form.selfie, { threshold: form.threshold, limit: form.limit, faceIndex: form.faceIndex });
      return {
        results: await Promise.all(
          outcome.results.map(async (r) => ({
            face_id: r.face_id,
            event_id: r.event_id,
            similarity: r.similarity,
            image_url: await deps.url(r.s3_key),
            preview_url: r.preview_key ? await deps.url(r.preview_key) : null,
          })),
        ),
        query_time_ms: outcome.query_time_ms,
        task_id: outcome.task_id,
        timings: outcome.timings,
      };
    },
  );
}
