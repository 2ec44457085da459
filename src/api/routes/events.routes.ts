import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { EventService } from '../../services/event.service.js';
import { photographerOf } from '../plugins/auth.js';
import { errors, IdParams, PageQuery, parseDateTime } from '../schemas/common.schema.js';
import {
  CreateEventBody,
  DeleteEventResponse,
  EventResponse,
  PublicEventResponse,
  toEventResponse,
  toPublicEventResponse,
  UpdateEventBody,
  UuidParams,
} from '../schemas/event.schema.js';

const toDate = (value: string | null | undefined): Date | null | undefined =>
  value === undefined ? undefined : value === null ? null : parseDateTime(value, 'body.event_date');

/** The seed's event endpoints. All but the public UUID lookup need a photographer's key and see only their events. */
export async function eventRoutes(
  app: FastifyInstance,
  deps: { events: EventService; requirePhotographer: onRequestAsyncHookHandler },
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { events, requirePhotographer } = deps;
  const secured = { tags: ['events'], security: [{ bearerAuth: [] }] };

  api.post(
    '/events/',
    {
      onRequest: requirePhotographer,
      schema: { ...secured, summary: 'Create an event', body: CreateEventBody, response: { 201: EventResponse, ...errors(400, 401, 409) } },
    },
    async (request, reply) => {
      const { event_date, ...rest } = request.body;
      const event = await events.create(photographerOf(request).id, { ...rest, event_date: toDate(event_date) });
      return reply.status(201).send(toEventResponse(event));
    },
  );

  api.get(
    '/events/',
    {
      onRequest: requirePhotographer,
      schema: {
        ...secured,
        summary: "List the caller's events, newest first",
        querystring: Type.Intersect([PageQuery, Type.Object({ is_active: Type.Optional(Type.Boolean()) })]),
        response: { 200: Type.Array(EventResponse), ...errors(400, 401) },
      },
    },
    async (request, reply) => {
      const { skip, limit, is_active } = request.query;
      const page = await events.list(photographerOf(request).id, { offset: skip, limit, active: is_active });
      reply.header('x-total-count', page.total);
      return page.items.map(toEventResponse);
    },
  );

  api.get(
    '/events/uuid/:event_uuid',
    {
      schema: {
        tags: ['events'],
        summary: 'Public view of an active event, for participants (no key needed)',
        params: UuidParams,
        response: { 200: PublicEventResponse, ...errors(400, 404) },
      },
    },
    async (request) => toPublicEventResponse(await events.getPublic(request.params.event_uuid)),
  );

  api.get(
    '/events/:event_id',
    { onRequest: requirePhotographer, schema: { ...secured, summary: 'Get an event', params: IdParams, response: { 200: EventResponse, ...errors(400, 401, 404) } } },
    async (request) => toEventResponse(await events.get(photographerOf(request).id, request.params.event_id)),
  );

  api.patch(
    '/events/:event_id',
    {
      onRequest: requirePhotographer,
      schema: { ...secured, summary: 'Update an event', params: IdParams, body: UpdateEventBody, response: { 200: EventResponse, ...errors(400, 401, 404) } },
    },
    async (request) => {
      const { event_date, ...rest } = request.body;
      return toEventResponse(await events.update(photographerOf(request).id, request.params.event_id, { ...rest, event_date: toDate(event_date) }));
    },
  );

  api.delete(
    '/events/:event_id',
    {
      onRequest: requirePhotographer,
      schema: {
        ...secured,
        summary: 'Delete an event with its photos, embeddings and stored objects',
        description: 'The event disappears at once; a delete-event job removes the rest and can be rerun safely.',
        params: IdParams,
        response: { 202: DeleteEventResponse, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const id = request.params.event_id;
      const taskId = await events.remove(photographerOf(request).id, id);
      return reply.status(202).send({ id, status: 'deleting' as const, task_id: taskId });
    },
  );
}
