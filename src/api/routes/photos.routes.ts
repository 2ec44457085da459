import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import multipart, { type MultipartFields } from '@fastify/multipart';
import Type from 'typebox';
import { DomainError, InvalidInputError } from '../../errors.js';
import type { PhotoService } from '../../services/photo.service.js';
import { jobIdOf } from '../../queue/jobs.js';
import { photographerOf } from '../plugins/auth.js';
import { errors, Id, IdParams, parseIdField } from '../schemas/common.schema.js';
import { PhotoListQuery, PhotoResponse, ProgressResponse, toPhotoResponse, toProgressResponse, UploadResponse } from '../schemas/photo.schema.js';

/** A file name as stored: no control characters (PostgreSQL text refuses NUL; the rest only garbles listings). */
// eslint-disable-next-line no-control-regex
const storedName = (name: string | undefined): string | undefined => name?.replace(/[\u0000-\u001f\u007f]/g, '');

/** The optional `live` form field: `true` or `false`, anything else is a 400 naming it. */
function parseLiveField(field: MultipartFields[string]): boolean | undefined {
  if (field === undefined) return undefined;
  const value = !Array.isArray(field) && field.type === 'field' ? String(field.value) : undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidInputError('live must be true or false', { field: 'live' });
}

/** Photo upload (the seed's /faces/upload), listing, progress and deletion. */
export async function photoRoutes(
  app: FastifyInstance,
  deps: { photos: PhotoService; requirePhotographer: onRequestAsyncHookHandler; uploadMaxBytes: number },
): Promise<void> {
  await app.register(multipart, {
    limits: { fileSize: deps.uploadMaxBytes, files: 1, fields: 10, fieldSize: 1024, parts: 12 },
  });
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { photos, requirePhotographer } = deps;
  const secured = { tags: ['photos'], security: [{ bearerAuth: [] }] };

  api.post(
    '/faces/upload',
    {
      onRequest: requirePhotographer,
      schema: {
        ...secured,
        summary: 'Upload one photo (multipart: event_id, then file)',
        description:
          'Streams the file to storage and queues face processing. `event_id` must come before `file` in the form ' +
          '(or be given as ?event_id=). Formats: JPEG, PNG, WebP, AVIF, TIFF, recognised from the bytes. The same file ' +
          'uploaded twice to one event is stored once (`duplicate: true`). A form field `live=true` (before `file`, or ' +
          '?live=true) marks a fresh shot from a live event (`facepass upload --watch` sends it).',
        consumes: ['multipart/form-data'],
        querystring: Type.Object({
          event_id: Type.Optional(Id()),
          live: Type.Optional(Type.Boolean({ description: 'A fresh shot at a live event (hot folder, camera): true' })),
        }),
        response: { 201: UploadResponse, 200: UploadResponse, ...errors(400, 401, 404, 409, 413, 415, 503) },
      },
    },
    async (request, reply) => {
      if (!request.isMultipart()) throw new InvalidInputError('Send multipart/form-data with fields event_id and file', { field: 'body' });
      const file = await request.file();
      if (!file) throw new InvalidInputError('The form has no file part', { field: 'file' });
      if (file.fieldname !== 'file') {
        file.file.resume();
        throw new InvalidInputError(`Unexpected file field "${file.fieldname}": name it "file"`, { field: 'file' });
      }
      const field = file.fields.event_id;
      const fromForm = field && !Array.isArray(field) && field.type === 'field' ? String(field.value) : undefined;
      let eventId: number;
      let live: boolean;
      try {
        live = parseLiveField(file.fields.live) ?? request.query.live ?? false;
        if (fromForm === undefined && request.query.event_id === undefined) {
          throw new InvalidInputError('event_id is required and must come before file in the form', { field: 'event_id' });
        }
        eventId = fromForm !== undefined ? parseIdField(fromForm, 'event_id') : request.query.event_id!;
      } catch (error) {
        file.file.resume();
        throw error;
      }
      // A body cut short or malformed fails the file stream mid-upload; that is the client's
      // mistake (400), not the storage failure (503) the service would otherwise report.
      let bodyError: Error | undefined;
      file.file.on('error', (error: Error) => (bodyError ??= error));
      let result: Awaited<ReturnType<PhotoService['upload']>>;
      try {
        result = await photos.upload(photographerOf(request).id, eventId, {
          stream: file.file,
          filename: storedName(file.filename),
          limitBytes: deps.uploadMaxBytes,
          truncated: () => file.file.truncated,
          live,
        });
      } catch (error) {
        if (bodyError && !(error instanceof DomainError && error.code !== 'unavailable')) throw bodyError;
        throw error;
      }
      const taskId = result.taskId ?? jobIdOf('process-photo', { faceId: result.photo.id, s3Key: result.photo.s3_key, eventId }) ?? '';
      return reply.status(result.duplicate ? 200 : 201).send({
        face_id: result.photo.id,
        image_url: await photos.url(result.photo.s3_key),
        confidence: result.photo.confidence,
        task_id: taskId,
        status: result.photo.status,
        duplicate: result.duplicate,
      });
    },
  );

  api.get(
    '/faces/event/:event_id',
    {
      onRequest: requirePhotographer,
      schema: {
        ...secured,
        summary: "The event's photos with processing status (paginated; total in X-Total-Count)",
        params: IdParams,
        querystring: PhotoListQuery,
        response: { 200: Type.Array(PhotoResponse), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { skip, limit, status } = request.query;
      const page = await photos.list(photographerOf(request).id, request.params.event_id, { offset: skip, limit, status });
      reply.header('x-total-count', page.total);
      return Promise.all(page.items.map((p) => toPhotoResponse(p, photos.url)));
    },
  );

  api.get(
    '/faces/event/:event_id/hashes',
    {
      onRequest: requirePhotographer,
      schema: {
        ...secured,
        summary: 'SHA-256 of every photo in the event (lets uploaders skip files the server has)',
        params: IdParams,
        response: { 200: Type.Object({ hashes: Type.Array(Type.String()) }), ...errors(400, 401, 404) },
      },
    },
    async (request) => ({ hashes: await photos.hashes(photographerOf(request).id, request.params.event_id) }),
  );

  api.get(
    '/events/:event_id/progress',
    {
      onRequest: requirePhotographer,
      schema: { ...secured, summary: 'Processing progress: counts by status, faces found, rate and ETA', params: IdParams, response: { 200: ProgressResponse, ...errors(400, 401, 404) } },
    },
    async (request) => toProgressResponse(request.params.event_id, await photos.progress(photographerOf(request).id, request.params.event_id)),
  );

  api.delete(
    '/faces/:face_id',
    {
      onRequest: requirePhotographer,
      schema: {
        ...secured,
        summary: 'Delete one photo with its embeddings, previews and original',
        params: Type.Object({ face_id: Id() }),
        response: { 204: Type.Null(), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await photos.remove(photographerOf(request).id, request.params.face_id);
      return reply.status(204).send(null);
    },
  );
}
