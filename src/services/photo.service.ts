import crypto from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { DomainError, NotFoundError, UnavailableError } from '../errors.js';
import type { EventRepository } from '../repositories/event.repository.js';
import type { Photo, PhotoRepository, EventProgress } from '../repositories/photo.repository.js';
import type { EmbeddingRepository } from '../repositories/embedding.repository.js';
import type { PhotoStorage } from '../storage/index.js';
import type { JobProducer } from '../queue/job-producer.js';
import type { PhotoStatus } from '../../models/index.js';
import { declaredPixels, DEFAULT_MAX_PIXELS } from '../vision/index.js';
import { ACCEPTED_FORMATS, HEADER_BYTES, sniffImageFormat } from './image-format.js';

/** The upload is not an image format we accept (415). */
export class UnsupportedMediaError extends DomainError {
  constructor() {
    super('unsupported_media_type', `The file is not a supported image: send ${ACCEPTED_FORMATS}`);
  }
}

/** The upload exceeds the size limit (413). */
export class PayloadTooLargeError extends DomainError {
  constructor(limitBytes: number) {
    super('payload_too_large', `The file exceeds the upload limit of ${Math.round(limitBytes / 1024 / 1024)} MB`);
  }
}

/** The image declares more pixels than the engine decodes (a decompression bomb, or a panorama past any camera) (413). */
export class ImageTooLargeError extends DomainError {
  constructor(size: { width: number; height: number }) {
    const mp = (n: number): string => `${Math.round(n / 1e6)} MP`;
    super(
      'payload_too_large',
      `The image is ${size.width}×${size.height} pixels (${mp(size.width * size.height)}): FacePass processes photos of at most ${mp(DEFAULT_MAX_PIXELS)}; send it downscaled`,
      { width: size.width, height: size.height, max_pixels: DEFAULT_MAX_PIXELS },
    );
  }
}

/** The event exists but does not take uploads (inactive) (409). */
export class EventInactiveError extends DomainError {
  constructor() {
    super('event_inactive', 'The event is inactive: activate it (PATCH is_active=true) before uploading');
  }
}

/** Only a failed photo can be processed again (409). */
export class PhotoNotFailedError extends DomainError {
  constructor(status: PhotoStatus) {
    super('photo_not_failed', `Only a failed photo can be retried; this one is ${status}`, { status });
  }
}

/** Result of an upload, in the seed's terms plus the duplicate flag. */
export interface UploadResult {
  photo: Photo;
  taskId: string | null;
  duplicate: boolean;
}

/** Reads the first `n` bytes of a stream and returns them with a stream of the whole content. */
async function peek(stream: Readable, n: number): Promise<{ head: Buffer; whole: Readable }> {
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  while (head.length < n) {
    const next = await chunks.next();
    if (next.done) break;
    head = Buffer.concat([head, next.value]);
  }
  const first = head;
  const whole = Readable.from(
    (async function* () {
      yield first;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
    })(),
  );
  return { head, whole };
}

/** Counts and hashes what flows through. */
function digestStream(): { stream: Transform; digest(): { hash: string; size: number } } {
  const hash = crypto.createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, digest: () => ({ hash: hash.digest('hex'), size }) };
}

/** Maps a job queue failure to 503, which clients retry. */
async function queued<T>(job: Promise<T>): Promise<T> {
  try {
    return await job;
  } catch (error) {
    throw new UnavailableError('Job queue', error);
  }
}

/** Photo upload, listing, progress and deletion, scoped to the event's owner. */
export function createPhotoService(deps: {
  events: EventRepository;
  photos: PhotoRepository;
  embeddings: EmbeddingRepository;
  storage: PhotoStorage;
  jobs: Pick<JobProducer, 'enqueue' | 'requeue'>;
  imageUrlTtlSeconds: number;
}) {
  const { events, photos, embeddings, storage, jobs } = deps;

  const ownedEvent = async (photographerId: number, eventId: number) => {
    const event = await events.findOwned(photographerId, eventId);
    if (!event) throw new NotFoundError('Event');
    return event;
  };

  /**
   * A duplicate of a photo still waiting for processing: its job may be gone (the queue failed after
   * the row was written, or Redis lost it), and the client's retry is the moment to queue it again.
   * A job still waiting or running is left alone.
   */
  const resumeIfStalled = async (photo: Photo): Promise<string | null> => {
    if (photo.status !== 'pending' && photo.status !== 'processing') return null;
    const { id } = await jobs.requeue('process-photo', { faceId: photo.id, s3Key: photo.s3_key, eventId: photo.event_id, ...(photo.live && { live: true }) });
    return id;
  };

  return {
    /**
     * Streams an upload to storage (never whole in memory), then records it and queues processing.
     * Order keeps the databases honest: the object is written first and the row only after, so a
     * storage failure leaves no row; a row failure removes the object.
     */
    async upload(
      photographerId: number,
      eventId: number,
      file: { stream: Readable; filename: string | undefined; limitBytes: number; truncated: () => boolean },
      /**
       * `live`: the photo arrives at a running event (camera FTP, hot folder, `live=true` upload):
       * it is processed ahead of any backlog, progressively (see README "Live events").
       */
      options: { live?: boolean } = {},
    ): Promise<UploadResult> {
      const event = await ownedEvent(photographerId, eventId);
      if (!event.is_active) throw new EventInactiveError();

      const tooLarge = (error?: unknown): boolean =>
        file.truncated() || (error as { code?: string } | undefined)?.code === 'FST_REQ_FILE_TOO_LARGE';
      let head: Buffer;
      let whole: Readable;
      try {
        ({ head, whole } = await peek(file.stream, HEADER_BYTES));
      } catch (error) {
        if (tooLarge(error)) throw new PayloadTooLargeError(file.limitBytes);
        throw error;
      }
      // The format comes from the bytes, never from the file name or the client's content type.
      const format = sniffImageFormat(head);
      if (!format) {
        file.stream.resume();
        throw new UnsupportedMediaError();
      }
      // Refused before it is stored: a file whose header declares more pixels than any worker will
      // decode would only fail later, and the photographer would learn it from a failed photo.
      const declared = await declaredPixels(head);
      if (declared && declared.width * declared.height > DEFAULT_MAX_PIXELS) {
        file.stream.resume();
        throw new ImageTooLargeError(declared);
      }

      const key = `events/${eventId}/${crypto.randomUUID()}.${format.ext}`;
      const digest = digestStream();
      try {
        whole.on('error', (error) => digest.stream.destroy(error));
        await storage.put(key, whole.pipe(digest.stream), format.mime);
      } catch (error) {
        await storage.delete(key).catch(() => undefined);
        if (tooLarge(error)) throw new PayloadTooLargeError(file.limitBytes);
        throw new UnavailableError('Photo storage', error);
      }
      if (file.truncated()) {
        await storage.delete(key).catch(() => undefined);
        throw new PayloadTooLargeError(file.limitBytes);
      }
      const { hash, size } = digest.digest();

      const existing = await photos.findByHash(eventId, hash);
      if (existing) {
        await storage.delete(key).catch(() => undefined);
        return { photo: existing, taskId: await queued(resumeIfStalled(existing)), duplicate: true };
      }

      let inserted: { photo: Photo; duplicate: boolean } | undefined;
      try {
        inserted = await photos.insertPending({
          event_id: eventId,
          s3_key: key,
          image_url: key,
          content_hash: hash,
          size_bytes: size,
          content_type: format.mime,
          original_name: file.filename?.slice(0, 255) ?? null,
          live: options.live === true,
        });
      } catch (error) {
        await storage.delete(key).catch(() => undefined);
        throw new UnavailableError('Database', error);
      }
      if (!inserted) {
        // The event was deleted while the file streamed in: its cascade has run or will run without
        // this photo, so nothing of it may stay behind.
        await storage.delete(key).catch(() => undefined);
        throw new NotFoundError('Event');
      }
      if (inserted.duplicate) {
        await storage.delete(key).catch(() => undefined);
        return { photo: inserted.photo, taskId: await queued(resumeIfStalled(inserted.photo)), duplicate: true };
      }
      // The row is written: a queue failure now answers 503, and the client's retry (a duplicate)
      // or the worker's sweep queues the photo again.
      const taskId = await queued(jobs.enqueue('process-photo', { faceId: inserted.photo.id, s3Key: key, eventId, ...(options.live && { live: true }) }));
      return { photo: inserted.photo, taskId, duplicate: false };
    },

    async list(photographerId: number, eventId: number, page: { offset: number; limit: number; status?: PhotoStatus }) {
      await ownedEvent(photographerId, eventId);
      return photos.listByEvent(eventId, page);
    },

    async hashes(photographerId: number, eventId: number): Promise<string[]> {
      await ownedEvent(photographerId, eventId);
      return photos.hashesByEvent(eventId);
    },

    async progress(photographerId: number, eventId: number): Promise<EventProgress> {
      await ownedEvent(photographerId, eventId);
      return photos.progress(eventId);
    },

    /** Deletes one photo: embeddings first, then objects, then the row (a rerun finishes a partial delete). */
    async remove(photographerId: number, photoId: number): Promise<void> {
      const photo = await photos.findById(photoId);
      if (!photo || !(await events.findOwned(photographerId, photo.event_id))) throw new NotFoundError('Photo');
      await embeddings.deleteByPhotos(photo.event_id, [photo.id]);
      for (const key of [photo.s3_key, photo.preview_key, photo.thumbnail_key]) if (key) await storage.delete(key);
      await photos.deleteByIds([photo.id]);
    },

    /**
     * Processes a failed photo again (the photographer's retry, for a cause that has gone away: an
     * engine that ran out of memory, storage that was unreachable). The row goes back to `pending`
     * first, then the job is queued through the same stable-id re-queue the ingest sweep uses; if
     * the queue fails in between, the photo is pending without a job and the sweep queues it.
     */
    async retry(photographerId: number, photoId: number): Promise<{ photo: Photo; taskId: string }> {
      const photo = await photos.findById(photoId);
      if (!photo || !(await events.findOwned(photographerId, photo.event_id))) throw new NotFoundError('Photo');
      const [reset] = await photos.resetFailed(photo.event_id, photo.id);
      if (!reset) throw new PhotoNotFailedError(photo.status);
      const { id } = await queued(jobs.requeue('process-photo', { faceId: reset.id, s3Key: reset.s3_key, eventId: reset.event_id }));
      return { photo: { ...photo, status: 'pending', error: null, requeues: 0, processed_at: null }, taskId: id };
    },

    /** Processes every failed photo of the event again (see `retry`); returns how many were queued. */
    async retryFailed(photographerId: number, eventId: number): Promise<{ requeued: number }> {
      await ownedEvent(photographerId, eventId);
      const reset = await photos.resetFailed(eventId);
      for (const p of reset) await queued(jobs.requeue('process-photo', { faceId: p.id, s3Key: p.s3_key, eventId: p.event_id }));
      return { requeued: reset.length };
    },

    /** A time-limited URL of an object. */
    url(key: string): Promise<string> {
      return storage.url(key, deps.imageUrlTtlSeconds);
    },
  };
}
export type PhotoService = ReturnType<typeof createPhotoService>;
