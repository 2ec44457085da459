import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { InsightsService } from '../../services/insights.service.js';
import { HOURLY_WINDOW_HOURS } from '../../services/insights.service.js';
import { photographerOf } from '../plugins/auth.js';
import { DateTime, errors, IdParams } from '../schemas/common.schema.js';
import { PhotoResponse, toPhotoResponse } from '../schemas/photo.schema.js';

const Count = Type.Integer({ minimum: 0 });
const InsightsResponse = Type.Object({
  event_id: Type.Integer(),
  photos: Type.Object({ total: Count, done: Count, failed: Count }),
  faces: Type.Integer({ minimum: 0, description: 'Faces found in processed photos' }),
  participants: Type.Object({
    joined: Type.Integer({ minimum: 0, description: 'Participants who opened the event in the bot' }),
    consented: Type.Integer({ minimum: 0, description: 'Of those, who agreed to biometric processing' }),
    searched: Type.Integer({ minimum: 0, description: 'Who sent at least one selfie' }),
    found: Type.Integer({ minimum: 0, description: 'Who got at least one photo (search or live delivery)' }),
    live_subscribed: Type.Integer({ minimum: 0, description: 'Who asked for new photos as they are processed' }),
  }),
  searches: Type.Object({
    total: Count,
    matched: Type.Integer({ minimum: 0, description: 'Searches with at least one result' }),
    match_rate: Type.Union([Type.Null(), Type.Number({ minimum: 0, maximum: 1 })], { description: 'matched / total; null without searches' }),
    by_participants: Count,
    by_photographer: Count,
    public: Count,
  }),
  deliveries: Type.Object({
    by_search: Type.Integer({ minimum: 0, description: 'Photos shown to participants by their searches' }),
    live: Type.Integer({ minimum: 0, description: 'Photos sent by live delivery' }),
  }),
  coverage: Type.Object(
    {
      persons: Type.Integer({ minimum: 0, description: 'Persons the clustering found among the faces' }),
      single_photo: Type.Integer({ minimum: 0, description: 'Persons seen in one photo only' }),
      many_photos: Type.Integer({ minimum: 0, description: 'Persons in 10 photos or more' }),
      hidden: Type.Integer({ minimum: 0, description: 'Hidden persons (never found by searches)' }),
      unassigned_faces: Type.Integer({ minimum: 0, description: 'Faces too small or turned to assign to a person' }),
      participants_without_photos: Type.Integer({ minimum: 0, description: 'Participants who joined but got no photo yet' }),
    },
    { description: 'Who is photographed: send the photographer back for the single-photo persons and the participants without photos' },
  ),
  hourly: Type.Array(
    Type.Object({ hour: DateTime, uploads: Count, joins: Count, searches: Count, matched_searches: Count, live_deliveries: Count }),
    { description: `Hours with activity, oldest first, over the last ${HOURLY_WINDOW_HOURS} hours (hours without activity are left out)` },
  ),
});

const FaceBoxResponse = Type.Object({
  x: Type.Number(),
  y: Type.Number(),
  width: Type.Number(),
  height: Type.Number(),
  score: Type.Number({ description: 'Detection score' }),
});

/** The console's read models: an event's insights, counts for the events list, a photo's face boxes. Owner only. */
export async function insightsRoutes(
  app: FastifyInstance,
  deps: { insights: InsightsService; url: (key: string) => Promise<string>; requirePhotographer: preHandlerAsyncHookHandler },
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { insights, requirePhotographer } = deps;
  const secured: { security: Record<string, string[]>[] } = { security: [{ bearerAuth: [] }, { sessionCookie: [] }] };

  api.get(
    '/events/:event_id/insights',
    {
      preHandler: requirePhotographer,
      schema: {
        ...secured,
        tags: ['events'],
        summary: "An event's insights: photos, faces, participants, searches and deliveries, with an hourly series",
        params: IdParams,
        response: { 200: InsightsResponse, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const i = await insights.insights(photographerOf(request).id, request.params.event_id);
      return {
        event_id: request.params.event_id,
        ...i,
        searches: { ...i.searches, match_rate: i.searches.total > 0 ? i.searches.matched / i.searches.total : null },
        hourly: i.hourly.map((h) => ({ ...h, hour: h.hour.toISOString() })),
      };
    },
  );

  api.get(
    '/events/counts',
    {
      preHandler: requirePhotographer,
      schema: {
        ...secured,
        tags: ['events'],
        summary: 'Photos, faces and participants of the given events (ids=1&ids=2…); ids of others’ events are left out',
        querystring: Type.Object({ ids: Type.Array(Type.Integer({ minimum: 1, maximum: 2147483647 }), { maxItems: 200 }) }),
        response: {
          200: Type.Array(Type.Object({ event_id: Type.Integer(), photos: Count, faces: Count, participants: Count })),
          ...errors(400, 401),
        },
      },
    },
    async (request) => insights.counts(photographerOf(request).id, request.query.ids),
  );

  api.get(
    '/faces/:face_id/faces',
    {
      preHandler: requirePhotographer,
      schema: {
        ...secured,
        tags: ['photos'],
        summary: 'One photo with the boxes of the faces found in it (original pixels)',
        params: Type.Object({ face_id: Type.Integer({ minimum: 1, maximum: 2147483647 }) }),
        response: { 200: Type.Object({ photo: PhotoResponse, faces: Type.Array(FaceBoxResponse) }), ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { photo, faces } = await insights.photoFaces(photographerOf(request).id, request.params.face_id);
      return { photo: await toPhotoResponse(photo, deps.url), faces };
    },
  );
}
