import { matchPolicyFor, matchSimilarity } from './match-decision.js';
import type { FaceCohortService } from './face-cohort.service.js';
import type { PeopleService } from './people.service.js';
import type { Event, EventRepository } from '../repositories/event.repository.js';
import type { ParticipantRepository, Subscriber } from '../repositories/participant.repository.js';
import type { ParticipantEmbeddingRepository } from '../repositories/participant-embedding.repository.js';
import type { Photo, PhotoRepository } from '../repositories/photo.repository.js';
import type { PhotoStorage } from '../storage/index.js';
import type { JobProducer } from '../queue/job-producer.js';

/** Photos per album: Telegram's limit for sendMediaGroup. */
export const MAX_ALBUM = 10;

/**
 * How long a live send may take, Telegram's 429 waits included (auto-retry waits up to 3 × 60 s):
 * the sender gives up (throws) after this, so a living flush never holds a claim longer.
 */
export const LIVE_SEND_TIMEOUT_MS = 4 * 60_000;

/**
 * A delivery still `sending` this long after its claim belongs to a flush that died mid-send (crash,
 * SIGKILL, deploy): it goes back to pending and is sent again. Longer than any living send, with a
 * minute's margin, so a slow send is not sent twice.
 */
export const LIVE_CLAIM_LEASE_MS = LIVE_SEND_TIMEOUT_MS + 60_000;

/** A live-delivered photo: its id and a reader of its Telegram-sized preview. */
export interface LivePhoto {
  faceId: number;
  /**
   * Reads the preview from storage. The sender calls it only for a photo Telegram does not have
   * yet (it sends the others by cached file_id), within its LIVE_SEND_TIMEOUT_MS deadline.
   */
  preview: () => Promise<Buffer>;
}

/** Sends live-delivered photos; implemented by the bot (grammY), injected into the worker. */
export interface LivePhotoSender {
  /**
   * One photo (with its "original" button) or an album of 2–10, captioned with the event's name.
   * 'unreachable' when the user blocked the bot or the chat is gone: no retry helps. Throws on
   * anything else: nothing (or nothing certain) was sent. Gives up after LIVE_SEND_TIMEOUT_MS.
   */
  sendPhotos(to: Subscriber, photos: LivePhoto[], event: Event): Promise<'sent' | 'unreachable'>;
  /** The "original" buttons of an album just sent (an album cannot carry buttons). */
  sendOriginalButtons(to: Subscriber, faceIds: number[], event: Event): Promise<'sent' | 'unreachable'>;
}

/** What a recovery sweep found: claims past their lease, and the events whose flush it scheduled. */
export interface RecoverResult {
  expired: number;
  events: number;
}

/** What a flush did: photos sent, albums (or single photos) sent, unreachable participants, rows dropped. */
export interface FlushResult {
  sent: number;
  albums: number;
  unreachable: number;
  dropped: number;
}

/** Splits photo ids into albums of at most MAX_ALBUM, as even as possible (11 → 6 + 5, never 10 + 1). */
export function albumsOf<T>(items: T[]): T[][] {
  const count = Math.ceil(items.length / MAX_ALBUM);
  const albums: T[][] = [];
  for (let i = 0, start = 0; i < count; i++) {
    const size = Math.ceil((items.length - start) / (count - i));
    albums.push(items.slice(start, start + size));
    start += size;
  }
  return albums;
}

/**
 * Live delivery, in two steps so that a burst of uploads reaches a participant as albums, not as
 * one message per photo:
 *
 * 1. `deliver` (the `deliver-photo` job, one per photo): matches the photo against the event's
 *    subscribers and records each match as a *pending* delivery (one row per participant and
 *    photo, so never twice), then schedules the event's flush.
 * 2. `flush` (the `send-live-deliveries` job): sends every pending delivery of the event, grouped
 *    per participant into albums. Each album is claimed (pending → sending) right before its send
 *    and settled after: sent; given back to pending when the send throws (the retried job sends
 *    it); dropped when the participant is unreachable.
 * 3. `recover` (the repeated `recover-live-deliveries` sweep): a crash mid-send leaves the album
 *    `sending`. Once its claim is older than LIVE_CLAIM_LEASE_MS the sweep schedules the event's
 *    flush, which gives such rows back to pending before it reads them and sends them again. At
 *    least once: an album whose send reached Telegram just before the crash comes twice, rather
 *    than never. The sweep only reads, so a crash of its own loses nothing: the next one finds the
 *    same rows.
 *
 * Unsubscribed participants (/stop) and closed or deleted events get nothing: their pending rows
 * are dropped by the flush. An unreachable participant (blocked the bot) is unsubscribed from the event.
 */
export function createLiveDeliveryService(deps: {
  photos: PhotoRepository;
  events: EventRepository;
  participants: ParticipantRepository;
  participantEmbeddings: ParticipantEmbeddingRepository;
  cohorts: Pick<FaceCohortService, 'cohortIn'>;
  /** Hidden persons' faces are never delivered (issue #15). */
  people?: Pick<PeopleService, 'withoutHidden'>;
  storage: PhotoStorage;
  sender: LivePhotoSender;
  jobs: Pick<JobProducer, 'enqueue'>;
  /** Match score a live photo needs: the strictest decision (LIVE_THRESHOLD), scored like searches. */
  threshold: number;
  /** How long an event's matches are gathered before they are sent (the flush job's delay). */
  batchMs: number;
}) {
  const { photos, events, participants, participantEmbeddings, storage, sender, jobs, batchMs } = deps;

  /**
   * Schedules the event's flush, debounced: one job per event and time bucket of `batchMs`, delayed
   * by `batchMs`, so every match of a bucket waits for the same job (BullMQ ignores an add whose id
   * exists) and a burst of photos becomes one send.
   *
   * Races: the bucket is taken *after* the match rows are committed, and a bucket's job runs
   * `batchMs` after its first add, i.e. only once its bucket is over. So a match recorded while a
   * flush runs always lands in a later bucket whose job is not started yet: it is sent by that job,
   * never lost to a job that already read the pending rows. The flush also reschedules itself when
   * pending rows remain after it: a safety net for clock skew between worker hosts (or a job promoted
   * by hand), where a match could map to a bucket whose job already ran. Rows of a flush that failed
   * for good stay pending and go with the event's next flush. Two flushes of one event running at
   * once cannot send a photo twice: claiming a row is one atomic UPDATE … WHERE status = 'pending'.
   */
  const scheduleFlush = async (eventId: number): Promise<void> => {
    const bucket = Math.floor(Date.now() / batchMs);
    await jobs.enqueue('send-live-deliveries', { eventId, bucket }, { delay: batchMs });
  };

  const previewOf = (photo: Photo): Promise<Buffer> => storage.getBuffer(photo.preview_key ?? photo.s3_key);

  /** Sends one participant's pending photos as albums; throws after giving back an album whose send failed. */
  const sendTo = async (to: Subscriber, faceIds: number[], event: Event, result: FlushResult): Promise<void> => {
    const byId = new Map((await photos.findDoneInEvent(event.id, faceIds)).map((p) => [p.id, p]));
    // Photos deleted (or no longer done) since the match: nothing to send.
    const gone = await participants.claimDeliveries(to.participant_id, faceIds.filter((id) => !byId.has(id)));
    await participants.settleDeliveries(to.participant_id, gone, 'dropped');
    result.dropped += gone.length;

    for (const album of albumsOf(faceIds.filter((id) => byId.has(id)))) {
      // Claimed right before the send: a concurrent flush skips these rows. Previews are read by the
      // sender, only for photos Telegram lacks (a photo sent to 200 participants is read and
      // uploaded once) and within its LIVE_SEND_TIMEOUT_MS deadline, so a claim stays within its lease.
      const taken = new Set(await participants.claimDeliveries(to.participant_id, album));
      const items: LivePhoto[] = album.filter((faceId) => taken.has(faceId)).map((faceId) => ({ faceId, preview: () => previewOf(byId.get(faceId)!) }));
      const claimed = items.map((p) => p.faceId);
      if (claimed.length === 0) continue;
      let outcome: 'sent' | 'unreachable';
      try {
        outcome = await sender.sendPhotos(to, items, event);
      } catch (error) {
        // Not sent: give the album back so the retried job sends it.
        await participants.settleDeliveries(to.participant_id, claimed, 'pending');
        throw error;
      }
      if (outcome === 'unreachable') {
        // Blocked the bot or gone: nothing is retried, and no more matches are recorded for them here.
        await participants.settleDeliveries(to.participant_id, claimed, 'dropped');
        await participants.setLiveDelivery(to.participant_id, event.id, false);
        result.unreachable++;
        result.dropped += claimed.length + (await participants.dropPendingDeliveries(event.id, [to.participant_id]));
        return;
      }
      await participants.settleDeliveries(to.participant_id, claimed, 'sent');
      result.sent += claimed.length;
      result.albums++;
      // The album is sent for good; should its buttons fail, the job is retried but sends nothing again.
      if (claimed.length > 1) await sender.sendOriginalButtons(to, claimed, event);
    }
  };

  return {
    scheduleFlush,

    /** The `deliver-photo` job: records the photo's matches as pending and schedules the event's flush. Idempotent. */
    async deliver(job: { faceId: number; eventId: number }): Promise<{ matched: number; recorded: number }> {
      const photo = await photos.findById(job.faceId);
      if (!photo || photo.status !== 'done' || photo.event_id !== job.eventId) return { matched: 0, recorded: 0 };
      const event = await events.findById(job.eventId);
      if (!event || !event.is_active) return { matched: 0, recorded: 0 };

      // Scored exactly like a search (cohorts, quality gates), against the stricter live threshold.
      const close = await participantEmbeddings.matchPhoto(job, (pack) => matchPolicyFor(pack).rawFloor);
      const matches = [];
      for (const m of close) {
        if (deps.people) m.faces = await deps.people.withoutHidden(job.eventId, m.modelPack, m.faces);
        if (m.faces.length === 0) continue;
        const policy = matchPolicyFor(m.modelPack);
        const queryCohort = await deps.cohorts.cohortIn({ eventId: job.eventId, modelPack: m.modelPack }, m.vector);
        const best = Math.max(...m.faces.map((f) => matchSimilarity({ cosine: f.cosine, queryCohort, faceCohort: f.cohort, quality: f }, policy)));
        if (best >= deps.threshold) matches.push(m);
      }
      const recipients = await participants.subscribers(event.id, matches.map((m) => m.participantId));
      const recorded = await participants.recordPending(event.id, photo.id, recipients.map((r) => r.participant_id));
      // A rerun whose rows were all sent schedules nothing; one that died before scheduling does it now.
      if (recorded.length > 0 || (recipients.length > 0 && (await participants.hasPendingDeliveries(event.id)))) await scheduleFlush(event.id);
      return { matched: recipients.length, recorded: recorded.length };
    },

    /**
     * The `recover-live-deliveries` sweep: schedules the flush of every event with claims past their
     * lease (the flush gives them back and sends them). Idempotent: flushes are deduplicated per bucket.
     */
    async recover(): Promise<RecoverResult> {
      const expired = await participants.expiredClaims(LIVE_CLAIM_LEASE_MS);
      for (const { event_id } of expired) await scheduleFlush(event_id);
      return { expired: expired.reduce((sum, e) => sum + e.count, 0), events: expired.length };
    },

    /**
     * The `send-live-deliveries` job: sends the event's pending deliveries, one album (or photo) per
     * participant and up to 10 photos. A failed send is given back and rethrown after the other
     * participants were served, so the retried job sends only what is left. Albums a crashed flush
     * left `sending` past their lease are given back first and go with the others.
     */
    async flush(eventId: number): Promise<FlushResult> {
      const result: FlushResult = { sent: 0, albums: 0, unreachable: 0, dropped: 0 };
      await participants.reclaimExpiredDeliveries(eventId, LIVE_CLAIM_LEASE_MS);
      const event = await events.findById(eventId);
      if (!event || !event.is_active) {
        result.dropped = await participants.dropPendingDeliveries(eventId);
        return result;
      }
      const pending = new Map<number, number[]>();
      for (const row of await participants.pendingDeliveries(eventId)) {
        const ids = pending.get(row.participant_id) ?? [];
        ids.push(row.face_id);
        pending.set(row.participant_id, ids);
      }
      if (pending.size === 0) return result;
      // Still subscribed (no /stop since the match, consent kept); the others' rows are never sent.
      const recipients = await participants.subscribers(eventId, [...pending.keys()]);
      const subscribed = new Set(recipients.map((r) => r.participant_id));
      result.dropped += await participants.dropPendingDeliveries(eventId, [...pending.keys()].filter((id) => !subscribed.has(id)));

      let failure: unknown;
      for (const to of recipients) {
        try {
          await sendTo(to, pending.get(to.participant_id)!, event, result);
        } catch (error) {
          failure ??= error;
        }
      }
      if (failure !== undefined) throw failure;
      // Matches recorded while this flush ran normally have their own later job; make sure of it.
      if (await participants.hasPendingDeliveries(eventId)) await scheduleFlush(eventId);
      return result;
    },
  };
}
export type LiveDeliveryService = ReturnType<typeof createLiveDeliveryService>;
