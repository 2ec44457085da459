// A thin typed client of /api/v1. Shapes follow the OpenAPI document (/docs/json); the console signs in
// with the session cookie and sends the session's CSRF token on every unsafe request.

export interface Photographer { id: number; email: string; name: string | null }
export interface SessionInfo { photographer: Photographer; csrf_token: string; expires_at: string }
export interface EventItem {
  id: number;
  event_uuid: string;
  name: string;
  description: string | null;
  location: string | null;
  event_date: string | null;
  is_active: boolean;
  created_at: string;
  updated_at: string | null;
}
export interface EventCounts { event_id: number; photos: number; faces: number; participants: number }
export type PhotoStatus = 'pending' | 'processing' | 'done' | 'failed';
export interface Photo {
  id: number;
  event_id: number;
  image_url: string;
  preview_url: string | null;
  thumbnail_url: string | null;
  status: PhotoStatus;
  face_count: number;
  width: number | null;
  height: number | null;
  size_bytes: number | null;
  original_name: string | null;
  error: string | null;
  created_at: string;
}
export interface FaceBox { x: number; y: number; width: number; height: number; score: number }
export interface Progress {
  total: number;
  pending: number;
  processing: number;
  done: number;
  failed: number;
  faces: number;
  photos_per_minute: number;
  eta_seconds: number | null;
  complete: boolean;
}
export interface Insights {
  photos: { total: number; done: number; failed: number };
  faces: number;
  participants: { joined: number; consented: number; searched: number; found: number; live_subscribed: number };
  searches: { total: number; matched: number; match_rate: number | null; by_participants: number; by_photographer: number; public: number };
  deliveries: { by_search: number; live: number };
  hourly: { hour: string; uploads: number; joins: number; searches: number; matched_searches: number; live_deliveries: number }[];
}
export interface SearchResult { face_id: number; event_id: number; similarity: number; image_url: string; preview_url: string | null }
export interface ApiKey { id: number; name: string | null; prefix: string; created_at: string; last_used_at: string | null }

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

async function request<T>(method: string, path: string, body?: unknown): Promise<{ data: T; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (method !== 'GET') Object.assign(headers, csrfHeaders());
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(`/api/v1${path}`, { method, headers, body: payload, credentials: 'same-origin' });
  if (res.status === 401 && !path.startsWith('/auth/')) onUnauthorized();
  if (!res.ok) {
    const err = (await res.json().catch(() => ({}))) as { error?: string; message?: string };
    throw new ApiError(res.status, err.error ?? 'error', err.message ?? `HTTP ${res.status}`);
  }
  const data = (res.status === 204 ? null : await res.json()) as T;
  return { data, headers: res.headers };
}
const get = async <T>(path: string): Promise<T> => (await request<T>('GET', path)).data;

export const api = {
  login: (email: string, password: string) => request<SessionInfo>('POST', '/auth/login', { email, password }).then((r) => r.data),
  acceptInvite: (token: string, password: string) => request<SessionInfo>('POST', '/auth/invite', { token, password }).then((r) => r.data),
  session: () => get<SessionInfo>('/auth/session'),
  logout: () => request<null>('POST', '/auth/logout'),

  async events(): Promise<EventItem[]> {
    const all: EventItem[] = [];
    for (let skip = 0; ; skip += 200) {
      const { data, headers } = await request<EventItem[]>('GET', `/events/?skip=${skip}&limit=200`);
      all.push(...data);
      if (all.length >= Number(headers.get('x-total-count') ?? 0) || data.length === 0) return all;
    }
  },
  counts: (ids: number[]) => (ids.length ? get<EventCounts[]>(`/events/counts?${ids.map((id) => `ids=${id}`).join('&')}`) : Promise.resolve([])),
  event: (id: number) => get<EventItem>(`/events/${id}`),
  createEvent: (body: Partial<EventItem>) => request<EventItem>('POST', '/events/', body).then((r) => r.data),
  updateEvent: (id: number, body: Partial<EventItem>) => request<EventItem>('PATCH', `/events/${id}`, body).then((r) => r.data),
  deleteEvent: (id: number) => request<unknown>('DELETE', `/events/${id}`),

  async photos(eventId: number): Promise<Photo[]> {
    const all: Photo[] = [];
    for (let skip = 0; ; skip += 500) {
      const { data, headers } = await request<Photo[]>('GET', `/faces/event/${eventId}?skip=${skip}&limit=500`);
      all.push(...data);
      if (all.length >= Number(headers.get('x-total-count') ?? 0) || data.length === 0) return all;
    }
  },
  photoFaces: (photoId: number) => get<{ photo: Photo; faces: FaceBox[] }>(`/faces/${photoId}/faces`),
  deletePhoto: (photoId: number) => request<null>('DELETE', `/faces/${photoId}`),
  hashes: (eventId: number) => get<{ hashes: string[] }>(`/faces/event/${eventId}/hashes`).then((r) => r.hashes),
  progress: (eventId: number) => get<Progress>(`/events/${eventId}/progress`),
  invite: (eventId: number) => get<{ deep_link: string; qr_png_base64: string }>(`/events/${eventId}/invite`),
  insights: (eventId: number) => get<Insights>(`/events/${eventId}/insights`),
  search(eventId: number, selfie: File) {
    const form = new FormData();
    form.append('event_id', String(eventId));
    form.append('file', selfie);
    return request<{ results: SearchResult[]; query_time_ms: number }>('POST', '/faces/search', form).then((r) => r.data);
  },

  keys: () => get<ApiKey[]>('/account/keys'),
  createKey: (name: string) => request<ApiKey & { key: string }>('POST', '/account/keys', { name }).then((r) => r.data),
  revokeKey: (id: number) => request<null>('DELETE', `/account/keys/${id}`),
};
