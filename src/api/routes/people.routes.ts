import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { PeopleService } from '../../services/people.service.js';
import type { PersonSummary } from '../../repositories/person.repository.js';
import type { Photo } from '../../repositories/photo.repository.js';
import { photographerOf } from '../plugins/auth.js';
import { errors, Id, IdParams } from '../schemas/common.schema.js';
import { Box, PersonResponse } from '../schemas/person.schema.js';
import { PhotoResponse, toPhotoResponse } from '../schemas/photo.schema.js';

const PersonParams = Type.Object({ event_id: Id('Event id'), person_id: Id('Person id') });

/**
 * People in an event (issue #15): the persons the clustering found among its faces, and the
 * organizer's edits. Photographer-only; another photographer's event is a 404.
 */
export async function peopleRoutes(
  app: FastifyInstance,
  deps: { people: PeopleService; url: (key: string) => Promise<string>; photoById: (eventId: number, ids: number[]) => Promise<Photo[]>; requirePhotographer: preHandlerAsyncHookHandler },
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { people, requirePhotographer } = deps;
  const secured: { security: Record<string, string[]>[] } = { security: [{ bearerAuth: [] }, { sessionCookie: [] }] };
  const schema = { ...secured, tags: ['people'] };

  const toResponse = async (eventId: number, persons: PersonSummary[]) => {
    const photos = new Map((await deps.photoById(eventId, persons.flatMap((p) => (p.representative ? [p.representative.photoId] : [])))).map((p) => [p.id, p]));
    return Promise.all(
      persons.map(async (p) => {
        const photo = p.representative ? photos.get(p.representative.photoId) : undefined;
        return {
          id: p.id,
          event_id: eventId,
          hidden: p.hidden,
          face_count: p.faceCount,
          photo_count: p.photoCount,
          representative: p.representative
            ? {
                face_row: p.representative.faceRow,
                photo_id: p.representative.photoId,
                box: p.representative.box,
                thumbnail_url: photo?.thumbnail_key ? await deps.url(photo.thumbnail_key) : null,
                preview_url: photo?.preview_key ? await deps.url(photo.preview_key) : null,
              }
            : null,
        };
      }),
    );
  };

  api.get(
    '/events/:event_id/persons',
    {
      preHandler: requirePhotographer,
      schema: { ...schema, summary: 'The persons found among the event’s faces, most photographed first', params: IdParams, response: { 200: Type.Object({ items: Type.Array(PersonResponse) }), ...errors(400, 401, 404) } },
    },
    async (request) => ({ items: await toResponse(request.params.event_id, await people.list(photographerOf(request).id, request.params.event_id)) }),
  );

  api.get(
    '/events/:event_id/persons/:person_id/photos',
    {
      preHandler: requirePhotographer,
      schema: {
        ...schema,
        summary: 'One person: their faces (best first) and the photos they are in',
        params: PersonParams,
        response: { 200: Type.Object({ person: PersonResponse, faces: Type.Array(Type.Object({ face_row: Type.Integer(), photo_id: Type.Integer(), box: Box })), photos: Type.Array(PhotoResponse) }), ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { event_id: eventId, person_id: personId } = request.params;
      const r = await people.photosOf(photographerOf(request).id, eventId, personId);
      return {
        person: (await toResponse(eventId, [r.person]))[0]!,
        faces: r.faces.map((f) => ({ face_row: f.faceRow, photo_id: f.photoId, box: f.box })),
        photos: await Promise.all(r.photos.map((p) => toPhotoResponse(p, deps.url))),
      };
    },
  );

  api.post(
    '/events/:event_id/persons/:person_id/merge',
    {
      preHandler: requirePhotographer,
      schema: {
        ...schema,
        summary: 'Merge another person into this one (they are the same person); the result is hidden if either was',
        params: PersonParams,
        body: Type.Object({ person_id: Id('The person merged into this one (it disappears)') }, { additionalProperties: false }),
        response: { 200: PersonResponse, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { event_id: eventId, person_id: personId } = request.params;
      const merged = await people.merge(photographerOf(request).id, eventId, personId, request.body.person_id);
      return (await toResponse(eventId, [merged]))[0]!;
    },
  );

  api.post(
    '/events/:event_id/persons/:person_id/split',
    {
      preHandler: requirePhotographer,
      schema: {
        ...schema,
        summary: 'Split one face off this person into a new person of its own',
        params: PersonParams,
        body: Type.Object({ face_row: Id('The face (row id, see /photos) to take off') }, { additionalProperties: false }),
        response: { 201: PersonResponse, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { event_id: eventId, person_id: personId } = request.params;
      const created = await people.split(photographerOf(request).id, eventId, personId, request.body.face_row);
      return reply.code(201).send((await toResponse(eventId, [created]))[0]!);
    },
  );

  api.patch(
    '/events/:event_id/persons/:person_id',
    {
      preHandler: requirePhotographer,
      schema: {
        ...schema,
        summary: 'Hide a person ("do not find me": their faces match no search or live delivery in this event) or unhide them',
        params: PersonParams,
        body: Type.Object({ hidden: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: PersonResponse, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { event_id: eventId, person_id: personId } = request.params;
      const updated = await people.setHidden(photographerOf(request).id, eventId, personId, request.body.hidden);
      return (await toResponse(eventId, [updated]))[0]!;
    },
  );

  api.post(
    '/events/:event_id/persons/recluster',
    {
      preHandler: requirePhotographer,
      schema: {
        ...schema,
        summary: 'Re-cluster every face of the event from scratch (queued); hidden persons stay hidden, merges and splits are recomputed',
        params: IdParams,
        response: { 202: Type.Object({ queued: Type.Boolean() }), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await people.recluster(photographerOf(request).id, request.params.event_id);
      return reply.code(202).send({ queued: true });
    },
  );
}
