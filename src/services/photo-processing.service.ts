import sharp from 'sharp';
import { DEFAULT_MAX_PIXELS, ImageDecodeError, toStorageVector, type FaceEngine } from '../vision/index.js';
import type { PhotoRepository } from '../repositories/photo.repository.js';
import type { EmbeddingRepository } from '../repositories/embedding.repository.js';
import { faceQuality } from '../vision/face-quality.js';
import type { FaceCohortService } from './face-cohort.service.js';
import { ObjectNotFoundError, type PhotoStorage } from '../storage/index.js';

/** Telegram shows photos up to 2560 px and takes uploads under 10 MB; 2048 px JPEG stays well under 5 MB. */
const PREVIEW_SIDE = 2048;
const PREVIEW_MAX_BYTES = 5 * 1024 * 1024;
const THUMBNAIL_SIDE = 400;

/** Time spent per stage, for logs and the ingest benchmark. */
export interface ProcessingTimings {
  fetch_ms: number;
  analyze_ms: number;
  previews_ms: number;
  db_ms: number;
}

export type ProcessingOutcome =
  | { status: 'done'; faces: number; timings: ProcessingTimings }
  | { status: 'failed'; reason: string }
  | { status: 'skipped'; reason: string };

export type RefineOutcome = { status: 'done'; faces: number; added: number } | { status: 'skipped'; reason: string };

/** Previews are derived from the original's key, so a rerun overwrites rather than adds objects. */
export function derivedKeys(s3Key: string): { preview: string; thumbnail: string } {
  const slash = s3Key.lastIndexOf('/');
  const dir = s3Key.slice(0, slash);
  const base = s3Key.slice(slash + 1).replace(/\.[^.]+$/, '');
  return { preview: `${dir}/previews/${base}.jpg`, thumbnail: `${dir}/thumbs/${base}.jpg` };
}

/** The previews cannot be made from this image: a retry renders the same bytes the same way. */
class PreviewRenderError extends Error {
  constructor(cause: unknown) {
    super(`could not render previews: ${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}`, { cause });
    this.name = 'PreviewRenderError';
  }
}

async function renderJpeg(image: Buffer, side: number, maxBytes: number): Promise<Buffer> {
  for (const quality of [85, 75, 60]) {
    // failOn 'error' as in the engine's decoder: libjpeg's warnings (extraneous bytes before a
    // marker, a premature end with the picture whole) must not fail a photo the engine has read.
    const out = await sharp(image, { limitInputPixels: DEFAULT_MAX_PIXELS, failOn: 'error' })
      .rotate()
      .resize(side, side, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .toColorspace('srgb')
      .jpeg({ quality, progressive: true })
      .toBuffer();
    if (out.length <= maxBytes) return out;
  }
  throw new Error(`preview stays above ${maxBytes} bytes`);
}

const elapsed = (since: number): number => Math.round((performance.now() - since) * 10) / 10;

/**
 * The seed's process_face_embedding: fetch → previews → detect, align, embed → replace the
 * photo's embeddings in db_vector → record the result in db_main. Every step overwrites what a
 * previous, interrupted attempt left, so the job can run any number of times.
 */
export function createPhotoProcessingService(deps: {
  photos: PhotoRepository;
  embeddings: EmbeddingRepository;
  storage: PhotoStorage;
  engine: FaceEngine;
  /** Gives each new face its cohort value within the event (match decision). */
  cohorts: Pick<FaceCohortService, 'forNewFaces'>;
  /** FACE_MAX_TILES: the detector's tile budget per photo. */
  maxTiles?: number;
  /**
   * Awaited between the detector's runs: holds analysis while selfie searches need the CPU (the
   * worker's search gate, src/queue/search-gate.ts). Absent: analysis never waits.
   */
  yieldToSearches?: () => Promise<void>;
}) {
  const { photos, embeddings, storage, engine, cohorts, maxTiles, yieldToSearches } = deps;
  const engineOptions = { mode: 'photo' as const, ...(maxTiles && { maxTiles }), ...(yieldToSearches && { yieldPoint: yieldToSearches }) };
  return {
    /** Marks a photo whose processing was given up as failed; false when it was done, failed or gone already. */
    giveUp(faceId: number, reason: string): Promise<boolean> {
      return photos.markFailed(faceId, `Processing failed after every retry: ${reason}`, { onlyUnfinished: true });
    },

    /** Gives up a live photo's small-face pass: it stays `done` with its coarse faces. */
    dropRefine(faceId: number): Promise<boolean> {
      return photos.dropRefine(faceId);
    },

    /**
     * A live photo (`job.live`) gets the coarse pass only and is `done` with `refine_pending` set:
     * searchable and deliverable now, the small faces follow with `refine`. Others get every pass.
     */
    async process(job: { faceId: number; s3Key: string; eventId: number; live?: boolean }): Promise<ProcessingOutcome> {
      const photo = await photos.findById(job.faceId);
      if (!photo || photo.event_id !== job.eventId) return { status: 'skipped', reason: 'photo no longer exists' };
      if (!(await photos.isLive(photo.id))) return { status: 'skipped', reason: 'event deleted' };
      await photos.markProcessing(photo.id);

      let t = performance.now();
      let original: Buffer;
      try {
        original = await storage.getBuffer(photo.s3_key);
      } catch (error) {
        if (error instanceof ObjectNotFoundError) {
          await photos.markFailed(photo.id, 'The original file is missing from storage');
          return { status: 'failed', reason: 'original missing' };
        }
        throw error;
      }
      const fetch_ms = elapsed(t);

      // Previews render while the engine works: both only read the original.
      t = performance.now();
      const keys = derivedKeys(photo.s3_key);
      const rendering = Promise.all([
        renderJpeg(original, PREVIEW_SIDE, PREVIEW_MAX_BYTES),
        renderJpeg(original, THUMBNAIL_SIDE, PREVIEW_MAX_BYTES),
      ]).catch((error: unknown) => {
        throw new PreviewRenderError(error);
      });
      rendering.catch(() => undefined); // awaited below; an undecodable image is reported by analyze()
      let analysis;
      try {
        analysis = await engine.analyze(original, { ...engineOptions, pass: job.live ? 'coarse' : 'all' });
      } catch (error) {
        if (error instanceof ImageDecodeError) {
          await photos.markFailed(photo.id, `Not a readable image: ${error.message}`);
          return { status: 'failed', reason: error.message };
        }
        throw error;
      }
      const analyze_ms = elapsed(t);

      t = performance.now();
      let preview: Buffer;
      let thumbnail: Buffer;
      try {
        [preview, thumbnail] = await rendering;
      } catch (error) {
        if (!(error instanceof PreviewRenderError)) throw error;
        await photos.markFailed(photo.id, error.message);
        return { status: 'failed', reason: error.message };
      }
      // A photo of an event deleted meanwhile is the cascade's to remove: write nothing for it.
      if (!(await photos.isLive(photo.id))) return { status: 'skipped', reason: 'event deleted during processing' };
      await Promise.all([storage.put(keys.preview, preview, 'image/jpeg'), storage.put(keys.thumbnail, thumbnail, 'image/jpeg')]);
      const previews_ms = elapsed(t);

      t = performance.now();
      const target = { faceId: photo.id, eventId: photo.event_id, modelPack: engine.packId };
      const vectors = analysis.faces.map((f) => toStorageVector(f.embedding));
      const faceCohorts = await cohorts.forNewFaces(target, vectors);
      await embeddings.replaceForPhoto(
        target,
        analysis.faces.map((f, i) => ({ vector: vectors[i]!, box: f.box, score: f.score, yaw: faceQuality(f).yaw, cohort: faceCohorts[i]! })),
      );
      const stillThere = await photos.markDone(photo.id, {
        face_count: analysis.faces.length,
        confidence: analysis.faces.reduce((best, f) => Math.max(best, f.score), 0),
        width: analysis.width,
        height: analysis.height,
        preview_key: keys.preview,
        thumbnail_key: keys.thumbnail,
        model_pack: engine.packId,
        refine_pending: job.live === true,
      });
      if (!stillThere) {
        // The photo or its event was deleted while we worked: take back what this run wrote.
        await embeddings.deleteByPhotos(photo.event_id, [photo.id]);
        await Promise.all([storage.delete(keys.preview), storage.delete(keys.thumbnail)]);
        return { status: 'skipped', reason: 'photo deleted during processing' };
      }
      return { status: 'done', faces: analysis.faces.length, timings: { fetch_ms, analyze_ms, previews_ms, db_ms: elapsed(t) } };
    },

    /**
     * The small-face pass of a live photo `done` after its coarse pass: runs the tiled passes, keeps
     * the faces none of the stored boxes covers and adds them (the first pass's rows stay as they
     * are). Idempotent: a rerun finds its own earlier additions stored and adds nothing again.
     * `added` is 0 when there was nothing to refine (not pending, deleted, or gone meanwhile).
     */
    async refine(job: { faceId: number; s3Key: string; eventId: number }): Promise<RefineOutcome> {
      const photo = await photos.findById(job.faceId);
      if (!photo || photo.event_id !== job.eventId) return { status: 'skipped', reason: 'photo no longer exists' };
      if (photo.status !== 'done' || !photo.refine_pending) return { status: 'skipped', reason: 'nothing to refine' };
      if (!(await photos.isLive(photo.id))) return { status: 'skipped', reason: 'event deleted' };
      let original: Buffer;
      try {
        original = await storage.getBuffer(photo.s3_key);
      } catch (error) {
        // The coarse pass read it; without the original now there is nothing more to find.
        if (error instanceof ObjectNotFoundError) {
          await photos.dropRefine(photo.id);
          return { status: 'skipped', reason: 'original missing' };
        }
        throw error;
      }
      const target = { faceId: photo.id, eventId: photo.event_id, modelPack: engine.packId };
      const stored = await embeddings.facesOfPhoto({ faceId: photo.id, eventId: photo.event_id });
      let analysis;
      try {
        analysis = await engine.analyze(original, { ...engineOptions, pass: 'fine', knownBoxes: stored.map((f) => f.box) });
      } catch (error) {
        if (!(error instanceof ImageDecodeError)) throw error;
        await photos.dropRefine(photo.id);
        return { status: 'skipped', reason: error.message };
      }
      if (analysis.faces.length > 0) {
        if (!(await photos.isLive(photo.id))) return { status: 'skipped', reason: 'event deleted during processing' };
        const vectors = analysis.faces.map((f) => toStorageVector(f.embedding));
        const faceCohorts = await cohorts.forNewFaces(target, vectors);
        await embeddings.addForPhoto(
          target,
          analysis.faces.map((f, i) => ({ vector: vectors[i]!, box: f.box, score: f.score, yaw: faceQuality(f).yaw, cohort: faceCohorts[i]! })),
        );
      }
      const faces = stored.length + analysis.faces.length;
      const confidence = Math.max(photo.confidence, ...analysis.faces.map((f) => f.score));
      if (!(await photos.markRefined(photo.id, { face_count: faces, confidence }))) {
        // Deleted while we worked: the deletion cascade removes every embedding of the photo.
        await embeddings.deleteByPhotos(photo.event_id, [photo.id]);
        return { status: 'skipped', reason: 'photo deleted during processing' };
      }
      return { status: 'done', faces, added: analysis.faces.length };
    },

    /**
     * Embeds a done photo again with this engine's pack (FACE_MODEL_PACK was switched): its faces
     * are replaced by the new pack's in one transaction, so searches (which read only their own
     * pack) see the photo as soon as it is re-embedded. Previews, status and live delivery are left
     * alone: the photo is not new. Skipped when the photo changed meanwhile.
     */
    async reembed(job: { faceId: number; eventId: number; modelPack: string }): Promise<ProcessingOutcome> {
      if (job.modelPack !== engine.packId) return { status: 'skipped', reason: `this worker runs pack ${engine.packId}` };
      const photo = await photos.findById(job.faceId);
      if (!photo || photo.event_id !== job.eventId || photo.status !== 'done') return { status: 'skipped', reason: 'photo no longer done' };
      if (photo.model_pack === engine.packId) return { status: 'skipped', reason: 'already embedded with this pack' };
      if (!(await photos.isLive(photo.id))) return { status: 'skipped', reason: 'event deleted' };
      const t = performance.now();
      let original: Buffer;
      try {
        original = await storage.getBuffer(photo.s3_key);
      } catch (error) {
        if (error instanceof ObjectNotFoundError) return { status: 'failed', reason: 'original missing' };
        throw error;
      }
      const analysis = await engine.analyze(original, { ...engineOptions, pass: 'all' });
      const analyze_ms = elapsed(t);
      const target = { faceId: photo.id, eventId: photo.event_id, modelPack: engine.packId };
      const vectors = analysis.faces.map((f) => toStorageVector(f.embedding));
      const faceCohorts = await cohorts.forNewFaces(target, vectors);
      const db0 = performance.now();
      await embeddings.replaceForPhoto(
        target,
        analysis.faces.map((f, i) => ({ vector: vectors[i]!, box: f.box, score: f.score, yaw: faceQuality(f).yaw, cohort: faceCohorts[i]! })),
      );
      const recorded = await photos.markReembedded(photo.id, photo.model_pack, {
        model_pack: engine.packId,
        face_count: analysis.faces.length,
        confidence: analysis.faces.reduce((best, f) => Math.max(best, f.score), 0),
      });
      // Deleted or re-processed meanwhile: whatever now holds the photo wrote (or purges) its rows.
      if (!recorded && !(await photos.isLive(photo.id))) await embeddings.deleteByPhotos(photo.event_id, [photo.id]);
      return { status: 'done', faces: analysis.faces.length, timings: { fetch_ms: 0, analyze_ms, previews_ms: 0, db_ms: elapsed(db0) } };
    },
  };
}
export type PhotoProcessingService = ReturnType<typeof createPhotoProcessingService>;
