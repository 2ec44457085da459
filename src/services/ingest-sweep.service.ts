import type { EventRepository } from '../repositories/event.repository.js';
import type { PhotoRepository } from '../repositories/photo.repository.js';
import type { EmbeddingRepository } from '../repositories/embedding.repository.js';
import type { PhotoStorage } from '../storage/index.js';
import type { JobProducer } from '../queue/job-producer.js';
import type { EventCleanupService } from './event-cleanup.service.js';

/** Unfinished photos read per page (the sweep pages through all of them). */
const BATCH = 500;

/** What one sweep found and did. */
export interface SweepReport {
  /** Unfinished photos past their lease whose job is still waiting or running: left alone. */
  queued: number;
  /** Unfinished photos without a live job, queued again. */
  requeued: number;
  /** Unfinished photos re-queued too often already, marked `failed`. */
  failed: number;
  /** Live photos done after their coarse pass whose lost small-face pass was queued again. */
  refinesRequeued: number;
  /** Events gone (or deleted long ago) whose photos, embeddings or objects were purged. */
  purgedEvents: number[];
  /** Done photos embedded with another model pack than FACE_MODEL_PACK, queued for re-embedding. */
  reembedQueued: number;
}

/**
 * Finds what a crash, a lost job or an old race left behind, and repairs it:
 * - photos `pending`/`processing` longer than a lease with no live job are queued again, at most
 *   `maxRequeues` times, then marked `failed` with the reason (a live photo keeps its place at the
 *   head of the queue); live photos whose small-face pass was lost get it queued again;
 * - photos, embeddings and stored objects of events that no longer exist, and events deleted longer
 *   than a lease ago whose cascade never finished, are purged by the deletion cascade.
 * Idempotent and safe to run in several workers at once: each re-queue is claimed with a conditional
 * update, BullMQ keeps one job per photo, and the cascade may run twice.
 */
export function createIngestSweepService(deps: {
  events: Pick<EventRepository, 'existingIds' | 'listDeletedBefore'>;
  photos: Pick<PhotoRepository, 'listUnfinished' | 'claimRequeue' | 'markFailed' | 'listOrphanEventIds' | 'listRefinePending' | 'listOtherPack'>;
  embeddings: Pick<EmbeddingRepository, 'listEventIds'>;
  storage: Pick<PhotoStorage, 'listFolders'>;
  jobs: Pick<JobProducer, 'isLive' | 'requeue'>;
  cleanup: Pick<EventCleanupService, 'purgeEvent'>;
  /** How long a photo may sit unfinished before the sweep looks at its job (SWEEP_LEASE_SECONDS). */
  leaseMs: number;
  /** Re-queues per photo before it is marked failed (SWEEP_MAX_REQUEUES). */
  maxRequeues: number;
  /** FACE_MODEL_PACK: done photos embedded with another pack are queued for re-embedding. */
  modelPack: string;
  /** Re-embedding jobs queued per sweep at most (the next sweep queues the next ones). */
  reembedBatch?: number;
}) {
  const { events, photos, embeddings, storage, jobs, cleanup, leaseMs, maxRequeues, modelPack } = deps;
  const reembedBatch = deps.reembedBatch ?? BATCH;

  /**
   * After FACE_MODEL_PACK changed, every done photo is embedded again with the new pack, oldest
   * first, a bounded batch per sweep so the queue never holds a whole archive. Jobs have stable ids:
   * photos queued by an earlier sweep and not yet done are not queued twice.
   */
  const queueReembedding = async (report: SweepReport): Promise<void> => {
    for (const photo of await photos.listOtherPack(modelPack, reembedBatch)) {
      const { added } = await jobs.requeue('reembed-photo', { faceId: photo.id, eventId: photo.event_id, modelPack });
      if (added) report.reembedQueued += 1;
    }
  };

  const repairUnfinished = async (report: SweepReport, before: Date): Promise<void> => {
    // A long backlog of photos whose jobs wait is normal: every page is read, so one stuck photo
    // behind thousands of queued ones is still found.
    for (let afterId = 0; ; ) {
      const page = await photos.listUnfinished(before, { afterId, limit: BATCH });
      if (page.length === 0) return;
      afterId = page[page.length - 1]!.id;
      await repairPage(report, page);
    }
  };

  const repairPage = async (report: SweepReport, page: Awaited<ReturnType<typeof photos.listUnfinished>>): Promise<void> => {
    for (const photo of page) {
      // A live photo stays live: queued again at the head of the queue, and progressive.
      const job = { faceId: photo.id, s3Key: photo.s3_key, eventId: photo.event_id, ...(photo.live && { live: true }) };
      if (await jobs.isLive('process-photo', job)) {
        report.queued += 1;
        continue;
      }
      if (photo.requeues >= maxRequeues) {
        const reason = `Processing never finished: its job was lost ${photo.requeues + 1} times`;
        if (await photos.markFailed(photo.id, reason, { onlyUnfinished: true })) report.failed += 1;
        continue;
      }
      // Another sweep may have taken this photo since it was read: only the claim's winner queues it.
      if (!(await photos.claimRequeue(photo.id, photo.requeues))) continue;
      await jobs.requeue('process-photo', job);
      report.requeued += 1;
    }
  };

  /**
   * Live photos `done` after their coarse pass whose small-face pass has no job waiting or running
   * (lost with Redis, or a crash between the two jobs): queued again. Not counted against
   * `maxRequeues`: the photo is done and searchable, and a pass that fails for good clears the flag.
   */
  const repairRefines = async (report: SweepReport, before: Date): Promise<void> => {
    for (let afterId = 0; ; ) {
      const page = await photos.listRefinePending(before, { afterId, limit: BATCH });
      if (page.length === 0) return;
      afterId = page[page.length - 1]!.id;
      for (const photo of page) {
        const job = { faceId: photo.id, s3Key: photo.s3_key, eventId: photo.event_id };
        if (await jobs.isLive('refine-photo', job)) continue;
        if ((await jobs.requeue('refine-photo', job)).added) report.refinesRequeued += 1;
      }
    }
  };

  /** Event ids that photos, embeddings or objects still use but whose event row is gone. */
  const orphanEvents = async (): Promise<number[]> => {
    const fromStorage = (await storage.listFolders('events/')).filter((name) => /^[1-9][0-9]{0,9}$/.test(name)).map(Number);
    const candidates = [...new Set([...(await embeddings.listEventIds()), ...fromStorage])];
    const existing = await events.existingIds(candidates);
    const gone = candidates.filter((id) => !existing.has(id));
    return [...new Set([...(await photos.listOrphanEventIds()), ...gone])];
  };

  return {
    async sweep(now = new Date()): Promise<SweepReport> {
      const before = new Date(now.getTime() - leaseMs);
      const report: SweepReport = { queued: 0, requeued: 0, failed: 0, refinesRequeued: 0, purgedEvents: [], reembedQueued: 0 };
      await repairUnfinished(report, before);
      await repairRefines(report, before);
      await queueReembedding(report);
      const purge = [...new Set([...(await orphanEvents()), ...(await events.listDeletedBefore(before))])].sort((a, b) => a - b);
      for (const eventId of purge) {
        await cleanup.purgeEvent(eventId);
        report.purgedEvents.push(eventId);
      }
      return report;
    },
  };
}
export type IngestSweepService = ReturnType<typeof createIngestSweepService>;
