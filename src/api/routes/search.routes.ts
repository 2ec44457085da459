import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import rateLimit from '@fastify/rate-limit';
import multipart from '@fastify/multipart';
import type { Redis } from 'ioredis';
import type { UrlSigner } from '../../storage/index.js';
import Type from 'typebox';
import { InvalidInputError, RateLimitedError } from '../../errors.js';
import type { EventService } from '../../services/event.service.js';
import type { SearchService, SearchScope } from '../../services/search.service.js';
import type { PhotographerService } from '../../services/photographer.service.js';
import { hasCredentials, photographerOf } from '../plugins/auth.js';
import { DECIMAL_INTEGER, errors, parseIdField } from '../schemas/common.schema.js';

/** Telegram's own download limit; a selfie larger than this is not a selfie. */
const SELFIE_MAX_BYTES = 20 * 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** At most this many selfies per search: they are fused into one template of the person. */
const MAX_SELFIES = 3;

const SearchResponse = Type.Object({
  results: Type.Array(
    Type.Object({
      photo_ref: Type.String({ description: 'Opaque, stable reference of the photo within its event' }),
      face_id: Type.Optional(Type.Integer({ description: 'The matching photo (photographer searches only)' })),
      event_id: Type.Optional(Type.Integer({ description: 'Photographer searches only' })),
      similarity: Type.Number({ description: 'Calibrated match score of the photo’s best face, 0..1 (0.7 = operating point)' }),
      image_url: Type.String({ description: 'Time-limited URL of the original' }),
      preview_url: Type.Union([Type.String(), Type.Null()], { description: 'Time-limited URL of the 2048 px preview' }),
    }),
  ),
  applied: Type.Object(
    { threshold: Type.Number(), limit: Type.Integer() },
    { description: 'The threshold and limit used: searches without a photographer key are held to ≥ 0.7 and ≤ 50' },
  ),
  selfie: Type.Object(
    {
      count: Type.Integer({ description: 'Selfies fused into the search template' }),
      weak: Type.Boolean({ description: 'The selfie’s face is small, turned or unclear: another selfie would help' }),
      borderline: Type.Boolean({ description: 'Results or near misses sit close to the threshold: another selfie would settle them' }),
    },
  ),
  query_time_ms: Type.Number(),
  task_id: Type.String(),
  timings: Type.Object({ queue_ms: Type.Number(), decode_detect_embed_ms: Type.Number(), db_ms: Type.Number() }),
});

/** An opaque, stable photo reference for public results: an HMAC of the event and photo, not a sequential id. */
export function photoRef(signer: UrlSigner, eventUuid: string, faceId: number): string {
  return `p_${signer.sign(`photo-ref:${eventUuid}:${faceId}`, 0).slice(0, 22)}`;
}

interface SearchForm {
  eventId?: number;
  eventUuid?: string;
  threshold: number;
  limit: number;
  faceIndex?: number;
  selfies: Buffer[];
}

function numberField(name: string, raw: string, min: number, max: number, integer: boolean): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || (integer && !DECIMAL_INTEGER.test(raw)) || value < min || value > max) {
    throw new InvalidInputError(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(raw)}`, { field: name });
  }
  return value;
}

/**
 * Reads the whole form in any field order; the selfie is buffered (bounded by SELFIE_MAX_BYTES).
 * `beforeFile` sees the fields sent before the file, so a form for a missing event is refused
 * before its selfie is read.
 */
async function readForm(request: FastifyRequest, beforeFile: (form: SearchForm) => Promise<void>): Promise<SearchForm> {
  if (!request.isMultipart()) throw new InvalidInputError('Send multipart/form-data with event_id (or event_uuid) and file', { field: 'body' });
  const form: SearchForm = { threshold: 0.7, limit: 10, selfies: [] };
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      if (part.fieldname !== 'file') throw new InvalidInputError(`Unexpected file field "${part.fieldname}": name it "file"`, { field: 'file' });
      // One file past the limit is read (the multipart limit is one higher) only to refuse it clearly.
      if (form.selfies.length === MAX_SELFIES) throw new InvalidInputError(`At most ${MAX_SELFIES} selfies per search`, { field: 'file' });
      if (form.selfies.length === 0) await beforeFile(form);
      const bytes = await part.toBuffer();
      if (bytes.length > 0) form.selfies.push(bytes);
      continue;
    }
    const raw = String(part.value);
    switch (part.fieldname) {
      case 'event_id':
        form.eventId = parseIdField(raw, 'event_id');
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
  deps: {
    search: SearchService;
    events: Pick<EventService, 'get' | 'getPublic'>;
    photographers: PhotographerService;
    signer: UrlSigner;
    url: (key: string) => Promise<string>;
    redis: Redis;
    queuePrefix: string;
    publicPerMinute: number;
    requirePhotographer: (request: FastifyRequest) => Promise<void>;
  },
): Promise<void> {
  await app.register(multipart, { limits: { fileSize: SELFIE_MAX_BYTES, files: MAX_SELFIES + 1, fields: 10, fieldSize: 1024, parts: 15 } });
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
          errorResponseBuilder: (_request, context) => new RateLimitedError(Math.max(1, Math.ceil(context.ttl / 1000))),
        },
      },
      schema: {
        tags: ['search'],
        summary: 'Find the event’s photos of the person in a selfie',
        description:
          'multipart/form-data: `file` (a selfie; repeat the field for up to 3 selfies of the same person, fused into one template), ' +
          'and either `event_id` with a photographer key, or `event_uuid` without one. ' +
          'Optional `threshold` (0.3–1, default 0.7), `limit` (1–100, default 10), `face_index` (pick a face in the first selfie after a multiple_faces answer). ' +
          'Without a photographer key the threshold is never below 0.7 and the limit never above 50, and results carry only an opaque `photo_ref`. ' +
          'One result per photo (its best face), best first, only from that event.',
        consumes: ['multipart/form-data'],
        security: [{ bearerAuth: [] }, {}],
        response: { 200: SearchResponse, ...errors(400, 401, 404, 413, 422, 429, 504) },
      },
    },
    async (request) => {
      // Refusal order: the key, then the event named before the file, and only then the selfie's bytes.
      const authenticated = hasCredentials(request);
      if (authenticated) await deps.requirePhotographer(request);
      const form = await readForm(request, async (early) => {
        if (authenticated && early.eventId !== undefined) await deps.events.get(photographerOf(request).id, early.eventId);
        if (!authenticated && early.eventUuid !== undefined) await deps.events.getPublic(early.eventUuid);
      });
      if (form.selfies.length === 0) throw new InvalidInputError('The form has no selfie in field "file"', { field: 'file' });
      let scope: SearchScope;
      if (authenticated) {
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
      const outcome = await deps.search.search(scope, form.selfies, { threshold: form.threshold, limit: form.limit, faceIndex: form.faceIndex });
      const internalIds = scope.kind === 'photographer';
      return {
        results: await Promise.all(
          outcome.results.map(async (r) => ({
            photo_ref: photoRef(deps.signer, outcome.event.event_uuid, r.face_id),
            ...(internalIds && { face_id: r.face_id, event_id: r.event_id }),
            similarity: r.similarity,
            image_url: await deps.url(r.s3_key),
            preview_url: r.preview_key ? await deps.url(r.preview_key) : null,
          })),
        ),
        applied: outcome.applied,
        selfie: outcome.selfie,
        query_time_ms: outcome.query_time_ms,
        task_id: outcome.task_id,
        timings: outcome.timings,
      };
    },
  );
}
