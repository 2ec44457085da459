import type { PeopleService } from './people.service.js';
import { DomainError } from '../errors.js';
import type { Event, EventRepository } from '../repositories/event.repository.js';
import type { Participant, ParticipantEvent, ParticipantRepository } from '../repositories/participant.repository.js';
import type { ParticipantEmbeddingRepository } from '../repositories/participant-embedding.repository.js';
import type { ParticipantCacheRepository } from '../repositories/participant-cache.repository.js';
import type { Photo, PhotoRepository } from '../repositories/photo.repository.js';
import type { PhotoStorage } from '../storage/index.js';
import { SelfiesDisagreeError, type SearchService } from './search.service.js';

/** The invite payload is unknown, or its event is inactive or deleted. */
export class EventUnavailableError extends DomainError {
  constructor() {
    super('event_unavailable', 'This event link is unknown or the event is closed');
  }
}

/** No selfie is processed before the participant agreed to biometric processing. */
export class ConsentRequiredError extends DomainError {
  constructor() {
    super('consent_required', 'Consent to biometric processing is required first');
  }
}

/** The participant has not joined an event (or it closed) yet. */
export class NoActiveEventError extends DomainError {
  constructor() {
    super('no_active_event', 'Open an event link first');
  }
}

/** Too many searches in the last minute; `retryAfterSeconds` until the next one is allowed. */
export class SearchRateLimitedError extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', `Too many searches; try again in ${retryAfterSeconds} s`, { retry_after_seconds: retryAfterSeconds });
  }
}

/** The selfie embedding held for opting in to live delivery expired: a new selfie is needed. */
export class SelfieExpiredError extends DomainError {
  constructor() {
    super('selfie_expired', 'Send your selfie again to subscribe');
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Turns a deep-link payload (32 hex chars, or a dashed UUID) into an event UUID; undefined when malformed. */
export function decodeEventPayload(payload: string): string | undefined {
  const p = payload.trim().toLowerCase();
  if (/^[0-9a-f]{32}$/.test(p)) return `${p.slice(0, 8)}-${p.slice(8, 12)}-${p.slice(12, 16)}-${p.slice(16, 20)}-${p.slice(20)}`;
  return UUID.test(p) ? p : undefined;
}

/** The deep-link payload of an event: its UUID without dashes (fits Telegram's 64-char start parameter). */
export const encodeEventPayload = (eventUuid: string): string => eventUuid.replace(/-/g, '').toLowerCase();

/** What a participant's search found. */
export interface ParticipantSearchResult {
  event: Event;
  /** Photo ids, best first. */
  faceIds: number[];
  /** Selfies fused so far, and whether one more would help (weak selfie or borderline answer). */
  selfie: { count: number; weak: boolean; borderline: boolean };
}

/** The participant's side of the product: joining events, consent, searching, live delivery, forgetting. */
export function createParticipantService(deps: {
  participants: ParticipantRepository;
  participantEmbeddings: ParticipantEmbeddingRepository;
  cache: ParticipantCacheRepository;
  events: EventRepository;
  photos: PhotoRepository;
  storage: PhotoStorage;
  search: Pick<SearchService, 'search'>;
  /** Searches allowed per participant in any 60 s (a sliding window). */
  searchesPerMinute: number;
  /** Similarity threshold of participant searches. */
  threshold: number;
  /** /forget's "hide me too" (issue #15): hides the person the participant's selfie matches. */
  people?: Pick<PeopleService, 'hideMatching'>;
}) {
  const { participants, participantEmbeddings, cache, events, photos, storage } = deps;

  const activeEvent = async (participant: Participant): Promise<Event> => {
    const event = participant.active_event_id === null ? undefined : await events.findById(participant.active_event_id);
    if (!event || !event.is_active) throw new NoActiveEventError();
    return event;
  };

  return {
    find: (telegramUserId: number): Promise<Participant | undefined> => participants.findByTelegramId(telegramUserId),

    /** Resolves a deep-link payload, creates the participant if new, joins the event and makes it active. */
    async join(user: { telegramUserId: number; language: string | null }, payload: string): Promise<{ participant: Participant; event: Event }> {
      const uuid = decodeEventPayload(payload);
      const event = uuid ? await events.findActiveByUuid(uuid) : undefined;
      if (!event) throw new EventUnavailableError();
      const participant = await participants.upsert(user.telegramUserId, user.language);
      await participants.join(participant.id, event.id);
      return { participant: { ...participant, active_event_id: event.id }, event };
    },

    async giveConsent(participantId: number): Promise<void> {
      await participants.update(participantId, { consent_at: new Date() });
    },

    async setLanguage(participantId: number, language: string): Promise<void> {
      await participants.update(participantId, { language });
    },

    activeEvent,
    listEvents: (participantId: number): Promise<ParticipantEvent[]> => participants.listEvents(participantId),

    /** Makes a joined, active event the one selfies search. */
    async switchEvent(participantId: number, eventId: number): Promise<Event> {
      const event = await events.findById(eventId);
      if (!event || !event.is_active || !(await participants.isJoined(participantId, eventId))) throw new EventUnavailableError();
      await participants.update(participantId, { active_event_id: eventId });
      return event;
    },

    /**
     * Searches the active event for the selfie's face. The selfie embedding is held in Redis for a
     * few minutes only, so that the participant can opt in to live delivery right after.
     */
    async search(participant: Participant, selfie: Buffer, options: { limit: number; more?: boolean }): Promise<ParticipantSearchResult> {
      if (!participant.consent_at) throw new ConsentRequiredError();
      const event = await activeEvent(participant);
      const slot = await cache.takeSearchSlot(participant.id, deps.searchesPerMinute);
      if (!slot.allowed) throw new SearchRateLimitedError(Math.ceil(slot.retryAfterMs / 1000));
      const scope = { kind: 'participant', participantId: participant.id, eventId: event.id } as const;
      const base = { threshold: deps.threshold, limit: options.limit, withEmbedding: true };
      // "One more selfie": fused with the last one held for this event, when it shows the same person.
      const held = options.more ? await cache.peekEmbedding(participant.id, event.id) : undefined;
      let outcome;
      try {
        outcome = await deps.search.search(scope, [selfie], { ...base, ...(held && { earlier: [held.vector] }) });
      } catch (error) {
        // Someone else's selfie this time: search it on its own, as a fresh start.
        if (!(held && error instanceof SelfiesDisagreeError)) throw error;
        outcome = await deps.search.search(scope, [selfie], base);
      }
      if (outcome.embedding) await cache.holdEmbedding(participant.id, event.id, outcome.embedding);
      return { event, faceIds: outcome.results.map((r) => r.face_id), selfie: outcome.selfie };
    },

    /** Opts in to live delivery for the event with the last selfie; photos already shown are never re-sent. */
    async subscribe(participantId: number, eventId: number, alreadyShown: number[]): Promise<void> {
      const selfie = await cache.takeEmbedding(participantId, eventId);
      if (!selfie) throw new SelfieExpiredError();
      await participantEmbeddings.upsert({ participantId, eventId, vector: selfie.vector, modelPack: selfie.modelPack });
      await participants.recordDeliveries(participantId, eventId, alreadyShown);
      await participants.setLiveDelivery(participantId, eventId, true);
    },

    /** Stops live delivery everywhere and drops the stored selfie embeddings. */
    async unsubscribe(participantId: number): Promise<void> {
      await participants.setLiveDelivery(participantId, 'all', false);
      await participantEmbeddings.delete(participantId);
    },

    /** Deletes everything about the participant: embeddings (db_vector, Redis), joins, deliveries, the row; audit rows are anonymised. */
    /**
     * /forget's second choice: first hides, in every event the participant's selfie is still known
     * for (live-delivery subscriptions, or the one held after a recent search), the person it
     * matches, so other people's searches never find them there; then forgets everything. Returns
     * how many events a person was hidden in.
     */
    async forgetAndHide(participant: Pick<Participant, 'id' | 'active_event_id'>): Promise<number> {
      const participantId = participant.id;
      const selfies = await participantEmbeddings.listFor(participantId);
      const active = participant.active_event_id;
      if (active !== null && !selfies.some((s) => s.eventId === active)) {
        const held = await cache.peekEmbedding(participantId, active);
        if (held) selfies.push({ eventId: active, ...held });
      }
      let hidden = 0;
      for (const s of selfies) if (deps.people && (await deps.people.hideMatching(s.eventId, s.modelPack, s.vector)) !== null) hidden++;
      await this.forget(participantId);
      return hidden;
    },

    async forget(participantId: number): Promise<void> {
      await participantEmbeddings.delete(participantId);
      await cache.dropEmbeddings(participantId);
      await participants.deleteAll(participantId);
    },

    /**
     * A photo the participant may receive: processed, in an event they joined, and either shown to
     * them in this session (`shown`) or delivered live earlier.
     */
    async photoFor(participantId: number, faceId: number, shown: boolean): Promise<Photo | undefined> {
      const photo = await photos.findById(faceId);
      if (!photo || photo.status !== 'done' || !(await participants.isJoined(participantId, photo.event_id))) return undefined;
      if (!shown && !(await participants.wasDelivered(participantId, faceId))) return undefined;
      return photo;
    },

    /** The Telegram-sized preview of a processed photo (the original when no preview exists). */
    previewBytes: (photo: Photo): Promise<Buffer> => storage.getBuffer(photo.preview_key ?? photo.s3_key),
    originalBytes: (photo: Photo): Promise<Buffer> => storage.getBuffer(photo.s3_key),
    /** Photos of one event among ids, in the given order (a page of results). */
    async photosInOrder(eventId: number, ids: number[]): Promise<Photo[]> {
      const byId = new Map((await photos.findDoneInEvent(eventId, ids)).map((p) => [p.id, p]));
      return ids.map((id) => byId.get(id)).filter((p): p is Photo => p !== undefined);
    },
  };
}
export type ParticipantService = ReturnType<typeof createParticipantService>;
