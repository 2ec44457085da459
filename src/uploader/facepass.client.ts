import fs from 'node:fs';
import path from 'node:path';
import type { Static } from 'typebox';
import type { CreatedFtpCredential, FtpCredentialResponse } from '../api/schemas/ftp-credential.schema.js';
import type { PersonResponse } from '../api/schemas/person.schema.js';
import type { PhotoResponse, ProgressResponse, UploadResponse } from '../api/schemas/photo.schema.js';
import type { EventCoverage } from '../services/insights.service.js';

/** The FacePass API answered with an error (or could not be reached: `status` 0). */
export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 for a network error. */
    readonly status: number,
    /** The API's error code (`unauthorized`, `not_found`, …) or `network_error`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Worth retrying: the service or the network is briefly unavailable. */
  get transient(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

// The answers' types come from the API's own response schemas (type-only imports: nothing of the
// server is loaded), so the client cannot drift from what the server sends.

/** The upload endpoint's answer. */
export type UploadAnswer = Static<typeof UploadResponse>;

/** GET /events/{id}/progress. */
export type EventProgressAnswer = Static<typeof ProgressResponse>;

type PhotoAnswer = Static<typeof PhotoResponse>;

/** A photo whose processing failed, as listed by the API. */
export type FailedPhoto = Pick<PhotoAnswer, 'id' | 'original_name' | 'error'>;

/** A photo still waiting for or in processing. */
export type UnfinishedPhoto = Pick<PhotoAnswer, 'id' | 'original_name'> & { status: 'pending' | 'processing' };

/** A camera FTP account as the API lists it; `password` and `server` only when just created. */
export type FtpAccountAnswer = Static<typeof FtpCredentialResponse> & Partial<Pick<Static<typeof CreatedFtpCredential>, 'password' | 'server'>>;

/** A person (face cluster) of an event, as GET /events/{id}/persons lists it. */
export type PersonAnswer = Static<typeof PersonResponse>;

/** The event's coverage, from GET /events/{id}/insights. */
export type CoverageAnswer = EventCoverage;

/** The few calls the uploader makes, authenticated with a photographer's API key. */
export interface FacePassClient {
  /** SHA-256 (hex) of every photo already in the event. */
  hashes(eventId: number): Promise<Set<string>>;
  /** Uploads one file, streamed from disk; `live` marks a fresh shot from a live event (hot folder). */
  upload(eventId: number, file: string, options?: { live?: boolean }): Promise<UploadAnswer>;
  progress(eventId: number): Promise<EventProgressAnswer>;
  /** Every photo of the event whose processing failed. */
  failedPhotos(eventId: number): Promise<FailedPhoto[]>;
  /** Every photo of the event still pending or processing. */
  unfinishedPhotos(eventId: number): Promise<UnfinishedPhoto[]>;
  /** Queues every failed photo of the event again; how many were requeued. */
  retryFailed(eventId: number): Promise<number>;
  /** Queues one failed photo again (409 `photo_not_failed` when it is not failed). */
  retryPhoto(photoId: number): Promise<void>;
  /** The event's persons (face clusters). */
  persons(eventId: number): Promise<PersonAnswer[]>;
  /** How well the event's people are covered (from its insights). */
  coverage(eventId: number): Promise<CoverageAnswer>;
  /** Camera FTP accounts of the event. */
  ftpAccounts: {
    create(eventId: number, label?: string): Promise<FtpAccountAnswer>;
    list(eventId: number): Promise<FtpAccountAnswer[]>;
    revoke(eventId: number, accountId: number): Promise<void>;
  };
}

/** Accepts `http://host:8000`, with or without a trailing slash or `/api/v1`. */
export function apiBase(url: string): string {
  return `${url.replace(/\/+$/, '').replace(/\/api\/v1$/, '')}/api/v1`;
}

const PAGE = 500;

/** A fetch-based client of the FacePass API. */
export function createFacePassClient(options: { url: string; apiKey: string }): FacePassClient {
  const base = apiBase(options.url);
  const auth = { authorization: `Bearer ${options.apiKey}` };

  const call = async <T>(method: string, route: string, body?: FormData | object): Promise<{ status: number; json: T; headers: Headers }> => {
    let res: Response;
    try {
      const json = body !== undefined && !(body instanceof FormData);
      res = await fetch(`${base}${route}`, {
        method,
        headers: json ? { ...auth, 'content-type': 'application/json' } : auth,
        body: json ? JSON.stringify(body) : body,
      });
    } catch (error) {
      // fetch hides the socket error in `cause`; that is the part worth showing.
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiError(0, 'network_error', `Cannot reach ${base}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const err = (json ?? {}) as { error?: string; message?: string };
      throw new ApiError(res.status, err.error ?? `http_${res.status}`, err.message ?? `HTTP ${res.status} ${res.statusText}`);
    }
    return { status: res.status, json: json as T, headers: res.headers };
  };

  const byStatus = async <T>(eventId: number, status: string): Promise<T[]> => {
    const all: T[] = [];
    for (let skip = 0; ; skip += PAGE) {
      const page = (await call<T[]>('GET', `/faces/event/${eventId}?status=${status}&limit=${PAGE}&skip=${skip}`)).json;
      all.push(...page);
      if (page.length < PAGE) return all;
    }
  };

  return {
    async hashes(eventId) {
      return new Set((await call<{ hashes: string[] }>('GET', `/faces/event/${eventId}/hashes`)).json.hashes);
    },
    async upload(eventId, file, uploadOptions) {
      const form = new FormData();
      // The server reads event_id (and live) before the file part, so they must be appended first.
      form.append('event_id', String(eventId));
      if (uploadOptions?.live) form.append('live', 'true');
      // openAsBlob streams from disk when the form is sent: a file is never read whole into memory.
      form.append('file', await fs.openAsBlob(file), path.basename(file));
      return (await call<UploadAnswer>('POST', '/faces/upload', form)).json;
    },
    async progress(eventId) {
      return (await call<EventProgressAnswer>('GET', `/events/${eventId}/progress`)).json;
    },
    failedPhotos: (eventId) => byStatus<FailedPhoto>(eventId, 'failed'),
    persons: async (eventId) => (await call<{ items: PersonAnswer[] }>('GET', `/events/${eventId}/persons`)).json.items,
    coverage: async (eventId) => (await call<{ coverage: CoverageAnswer }>('GET', `/events/${eventId}/insights`)).json.coverage,
    ftpAccounts: {
      create: async (eventId, label) => (await call<FtpAccountAnswer>('POST', `/events/${eventId}/ftp-credentials`, label ? { label } : {})).json,
      list: async (eventId) => (await call<FtpAccountAnswer[]>('GET', `/events/${eventId}/ftp-credentials`)).json,
      revoke: async (eventId, accountId) => {
        await call('DELETE', `/events/${eventId}/ftp-credentials/${accountId}`);
      },
    },
    retryFailed: async (eventId) => (await call<{ requeued: number }>('POST', `/events/${eventId}/photos/retry-failed`)).json.requeued,
    retryPhoto: async (photoId) => {
      await call('POST', `/faces/${photoId}/retry`);
    },
    async unfinishedPhotos(eventId) {
      const photos = [...(await byStatus<UnfinishedPhoto>(eventId, 'pending')), ...(await byStatus<UnfinishedPhoto>(eventId, 'processing'))];
      // By name, as the folder lists them: parallel uploads finish (and get ids) in any order.
      return photos.sort((a, b) => (a.original_name ?? '').localeCompare(b.original_name ?? '') || a.id - b.id);
    },
  };
}
