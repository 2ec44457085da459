import { similarityToCosine } from '../vision/index.js';
import type { Event, EventRepository } from '../repositories/event.repository.js';
import type { ParticipantRepository, Subscriber } from '../repositories/participant.repository.js';
import type { ParticipantEmbeddingRepository } from '../repositories/participant-embedding.repository.js';
import type { PhotoRepository } from '../repositories/photo.repository.js';
import type { PhotoStorage } from '../storage/index.js';

/** Sends one live-delivered photo; implemented by the bot (grammY), injected into the worker. */
export interface LivePhotoSender {
  /** 'unreachable' when the user blocked the bot or deleted the chat: no retry helps. */
  send(to: Subscriber, photo: { faceId: number; preview: Buffer }, event: Event): Promise<'sent' | 'unreachable'>;
}

/** New photos to subscribed participants: match, record the delivery, then send, so nothing is sent twice. */
export function createLiveDeliveryService(deps: {
  photos: PhotoRepository;
  events: EventRepository;
  participants: ParticipantRepository;
  participantEmbeddings: ParticipantEmbeddingRepository;
  storage: PhotoStorage;
  sender: LivePhotoSender;
  /** Similarity threshold, calibrated per pack like searches. */
  threshold: number;
}) {
  const { photos, events, participants, participantEmbeddings, storage, sender } = deps;
  return {
    async deliver(job: { faceId: number; eventId: number }): Promise<{ sent: number; unreachable: number }> {
      const photo = await photos.findById(job.faceId);
      if (!photo || photo.status !== 'done' || photo.event_id !== job.eventId) return { sent: 0, unreachable: 0 };
      const event = await events.findById(job.eventId);
      if (!event || !event.is_active) return { sent: 0, unreachable: 0 };

      const matches = (await participantEmbeddings.matchPhoto(job)).filter((m) => m.distance <= similarityToCosine(deps.threshold, m.modelPack));
      const recipients = await participants.subscribers(event.id, matches.map((m) => m.participantId));
      let preview: Buffer | undefined;
      let sent = 0;
      let unreachable = 0;
      for (const to of recipients) {
        // The row goes in first: a second run (retry, duplicate job) finds it and skips this participant.
        const fresh = await participants.recordDeliveries(to.participant_id, event.id, [photo.id]);
        if (fresh.length === 0) continue;
        preview ??= await storage.getBuffer(photo.preview_key ?? photo.s3_key);
        try {
          const result = await sender.send(to, { faceId: photo.id, preview }, event);
          if (result === 'sent') sent++;
          else unreachable++;
        } catch (error) {
          // Not sent: take the row back so the retried job delivers it.
          await participants.forgetDelivery(to.participant_id, photo.id);
          throw error;
        }
      }
      return { sent, unreachable };
    },
  };
}
export type LiveDeliveryService = ReturnType<typeof createLiveDeliveryService>;
