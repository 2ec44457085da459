import Type, { type Static } from 'typebox';
import { PHOTO_STATUSES } from '../../../models/index.js';
import type { Photo, EventProgress } from '../../repositories/photo.repository.js';
import { DateTime, Limit, NullableDateTime, Skip } from './common.schema.js';

const Status = Type.Union([Type.Literal('pending'), Type.Literal('processing'), Type.Literal('done'), Type.Literal('failed')], {
  description: `Processing status: ${PHOTO_STATUSES.join(', ')}`,
});

/** The seed's upload answer, plus whether the file was already in the event. */
export const UploadResponse = Type.Object({
  face_id: Type.Integer({ description: 'Id of the photo (the seed calls photos "faces")' }),
  image_url: Type.String({ description: 'Time-limited URL of the original' }),
  confidence: Type.Number({ description: 'Best face detection score; 0 until processed' }),
  task_id: Type.String({ description: 'Id of the process-photo job' }),
  status: Status,
  duplicate: Type.Boolean({ description: 'True when the same file was already uploaded to this event; nothing new was stored' }),
});

export const PhotoResponse = Type.Object({
  id: Type.Integer(),
  face_id: Type.Integer(),
  event_id: Type.Integer(),
  image_url: Type.String(),
  preview_url: Type.Union([Type.String(), Type.Null()]),
  thumbnail_url: Type.Union([Type.String(), Type.Null()]),
  s3_key: Type.String(),
  confidence: Type.Number(),
  status: Status,
  face_count: Type.Integer(),
  width: Type.Union([Type.Integer(), Type.Null()]),
  height: Type.Union([Type.Integer(), Type.Null()]),
  size_bytes: Type.Union([Type.Integer(), Type.Null()]),
  original_name: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  live: Type.Boolean({ description: 'Arrived live (camera, hot folder, `live=true` upload): processed ahead of the backlog, progressively.' }),
  refining: Type.Boolean({
    description: '`done` after the fast first pass; the small-face pass is still running and may add faces (face_count grows).',
  }),
  created_at: DateTime,
  processed_at: NullableDateTime,
});

export const PhotoListQuery = Type.Object({
  skip: Skip,
  limit: Limit(500, 100),
  status: Type.Optional(Status),
});

export const ProgressResponse = Type.Object({
  event_id: Type.Integer(),
  total: Type.Integer(),
  pending: Type.Integer(),
  processing: Type.Integer(),
  done: Type.Integer(),
  failed: Type.Integer(),
  faces: Type.Integer({ description: 'Faces found in processed photos' }),
  photos_per_minute: Type.Number({ description: 'Photos finished per minute over the last 5 minutes (or since the first upload, when sooner)' }),
  eta_seconds: Type.Union([Type.Number(), Type.Null()], { description: 'Time until every photo is processed at the current rate; null when idle' }),
  complete: Type.Boolean(),
});

export function toProgressResponse(eventId: number, p: EventProgress, now = new Date()): Static<typeof ProgressResponse> {
  const remaining = p.counts.pending + p.counts.processing;
  // The rate is over the last 5 minutes, or since the first upload when that is sooner: a minute
  // into a new event, one photo done is 1/min, not 0.2/min (which promised hours that never came).
  const sinceFirst = p.first_upload_at ? (now.getTime() - p.first_upload_at.getTime()) / 60_000 : 5;
  const perMinute = p.recent_finished / Math.min(5, Math.max(0.5, sinceFirst));
  return {
    event_id: eventId,
    total: p.total,
    ...p.counts,
    faces: p.faces,
    photos_per_minute: Math.round(perMinute * 10) / 10,
    eta_seconds: remaining === 0 ? 0 : perMinute > 0 ? Math.round((remaining / perMinute) * 60) : null,
    complete: remaining === 0,
  };
}

export async function toPhotoResponse(p: Photo, url: (key: string) => Promise<string>): Promise<Static<typeof PhotoResponse>> {
  return {
    id: p.id,
    face_id: p.id,
    event_id: p.event_id,
    image_url: await url(p.s3_key),
    preview_url: p.preview_key ? await url(p.preview_key) : null,
    thumbnail_url: p.thumbnail_key ? await url(p.thumbnail_key) : null,
    s3_key: p.s3_key,
    confidence: p.confidence,
    status: p.status,
    face_count: p.face_count,
    width: p.width,
    height: p.height,
    size_bytes: p.size_bytes,
    original_name: p.original_name,
    error: p.error,
    live: p.live,
    refining: p.refine_pending,
    created_at: p.created_at.toISOString(),
    processed_at: p.processed_at ? p.processed_at.toISOString() : null,
  };
}
