// The console's client of /api/v1, typed by the server's own OpenAPI document: `generated/openapi.d.ts`
// is made from it before every build and type check (scripts/openapi-types.ts), so a route's schema
// and the console cannot drift apart unnoticed. The console signs in with the session cookie and
// sends the session's CSRF token on every unsafe request.
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './generated/openapi';

type Method = 'get' | 'post' | 'patch' | 'delete';
/** The JSON body of a route's success answer (200, 201 or 202). */
type Success<P extends keyof paths, M extends Method> = paths[P][M] extends { responses: infer R }
  ? R extends Record<number, unknown>
    ? Extract<R[Extract<keyof R, 200 | 201 | 202>], { content: unknown }> extends { content: { 'application/json': infer T } }
      ? T
      : never
    : never
  : never;

export type SessionInfo = Success<'/api/v1/auth/session', 'get'>;
export type Photographer = SessionInfo['photographer'];
export type EventItem = Success<'/api/v1/events/{event_id}', 'get'>;
export type EventInput = NonNullable<paths['/api/v1/events/']['post']['requestBody']>['content']['application/json'];
export type EventPatch = NonNullable<paths['/api/v1/events/{event_id}']['patch']['requestBody']>['content']['application/json'];
export type EventCounts = Success<'/api/v1/events/counts', 'get'>[number];
export type Photo = Success<'/api/v1/faces/event/{event_id}', 'get'>[number];
export type PhotoStatus = Photo['status'];
export type FaceBox = Success<'/api/v1/faces/{face_id}/faces', 'get'>['faces'][number];
export type Progress = Success<'/api/v1/events/{event_id}/progress', 'get'>;
export type Insights = Success<'/api/v1/events/{event_id}/insights', 'get'>;
export type Invite = Success<'/api/v1/events/{event_id}/invite', 'get'>;
export type SearchAnswer = Success<'/api/v1/faces/search', 'post'>;
export type SearchResult = SearchAnswer['results'][number];
export type ApiKey = Success<'/api/v1/account/keys', 'get'>[number];
export type NewApiKey = Success<'/api/v1/account/keys', 'post'>;

/** An error answer of the API: status, stable code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onUnauthorized: () => void = () => {};
/** Remembers the session's CSRF token (from sign-in or GET /auth/session). */
export const setCsrf = (token: string): void => {
  csrfToken = token;
};
/** Called when any request answers 401 (the session ended). */
export const setUnauthorizedHandler = (fn: () => void): void => {
  onUnauthorized = fn;
};
/** Headers every unsafe request carries. */
export const csrfHeaders = (): Record<string, string> => ({ 'X-CSRF-Token': csrfToken });

const session: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET') request.headers.set('X-CSRF-Token', csrfToken);
    return request;
  },
  onResponse({ response, request }) {
    if (response.status === 401 && !new URL(request.url).pathname.startsWith('/api/v1/auth/')) onUnauthorized();
    return response;
  },
};
const client = createClient<paths>({ baseUrl: location.origin, credentials: 'same-origin' });
client.use(session);

/** The data of an answer, or its error as an ApiError. */
async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<{ data: T; response: Response }> {
  const { data, error, response } = await call;
  if (!response.ok) {
    const err = (error ?? {}) as { error?: string; message?: string };
    throw new ApiError(response.status, err.error ?? 'error', err.message ?? `HTTP ${response.status}`);
  }
  return { data: data as T, response };
}
const total = (response: Response): number => Number(response.headers.get('x-total-count') ?? 0);

export const api = {
  login: async (email: string, password: string) => (await ok(client.POST('/api/v1/auth/login', { body: { email, password } }))).data,
  acceptInvite: async (token: string, password: string) => (await ok(client.POST('/api/v1/auth/invite', { body: { token, password } }))).data,
  session: async () => (await ok(client.GET('/api/v1/auth/session'))).data,
  logout: () => ok(client.POST('/api/v1/auth/logout')),

  async events(): Promise<EventItem[]> {
    const all: EventItem[] = [];
    for (let skip = 0; ; skip += 200) {
      const { data, response } = await ok(client.GET('/api/v1/events/', { params: { query: { skip, limit: 200 } } }));
      all.push(...data);
      if (all.length >= total(response) || data.length === 0) return all;
    }
  },
  counts: async (ids: number[]): Promise<EventCounts[]> =>
    ids.length ? (await ok(client.GET('/api/v1/events/counts', { params: { query: { ids } } }))).data : [],
  event: async (id: number) => (await ok(client.GET('/api/v1/events/{event_id}', { params: { path: { event_id: id } } }))).data,
  createEvent: async (body: EventInput) => (await ok(client.POST('/api/v1/events/', { body }))).data,
  updateEvent: async (id: number, body: EventPatch) =>
    (await ok(client.PATCH('/api/v1/events/{event_id}', { params: { path: { event_id: id } }, body }))).data,
  deleteEvent: (id: number) => ok(client.DELETE('/api/v1/events/{event_id}', { params: { path: { event_id: id } } })),

  async photos(eventId: number): Promise<Photo[]> {
    const all: Photo[] = [];
    for (let skip = 0; ; skip += 500) {
      const { data, response } = await ok(
        client.GET('/api/v1/faces/event/{event_id}', { params: { path: { event_id: eventId }, query: { skip, limit: 500 } } }),
      );
      all.push(...data);
      if (all.length >= total(response) || data.length === 0) return all;
    }
  },
  photoFaces: async (photoId: number) => (await ok(client.GET('/api/v1/faces/{face_id}/faces', { params: { path: { face_id: photoId } } }))).data,
  deletePhoto: (photoId: number) => ok(client.DELETE('/api/v1/faces/{face_id}', { params: { path: { face_id: photoId } } })),
  retryPhoto: async (photoId: number) => (await ok(client.POST('/api/v1/faces/{face_id}/retry', { params: { path: { face_id: photoId } } }))).data,
  retryFailed: async (eventId: number) =>
    (await ok(client.POST('/api/v1/events/{event_id}/photos/retry-failed', { params: { path: { event_id: eventId } } }))).data,
  hashes: async (eventId: number) =>
    (await ok(client.GET('/api/v1/faces/event/{event_id}/hashes', { params: { path: { event_id: eventId } } }))).data.hashes,
  progress: async (eventId: number) => (await ok(client.GET('/api/v1/events/{event_id}/progress', { params: { path: { event_id: eventId } } }))).data,
  invite: async (eventId: number) => (await ok(client.GET('/api/v1/events/{event_id}/invite', { params: { path: { event_id: eventId } } }))).data,
  insights: async (eventId: number) => (await ok(client.GET('/api/v1/events/{event_id}/insights', { params: { path: { event_id: eventId } } }))).data,
  async search(eventId: number, selfie: File): Promise<SearchAnswer> {
    // Multipart: the route's body is a form (no JSON schema), so it goes as is.
    const form = new FormData();
    form.append('event_id', String(eventId));
    form.append('file', selfie);
    return (await ok(client.POST('/api/v1/faces/search', { body: form as never, bodySerializer: (b: unknown) => b as FormData }))).data;
  },

  keys: async () => (await ok(client.GET('/api/v1/account/keys'))).data,
  createKey: async (name: string) => (await ok(client.POST('/api/v1/account/keys', { body: { name } }))).data,
  revokeKey: (id: number) => ok(client.DELETE('/api/v1/account/keys/{key_id}', { params: { path: { key_id: id } } })),
};
