import crypto from 'node:crypto';
import { ConflictError, NotFoundError } from '../errors.js';
import { isUniqueViolation, type Event, type EventInput, type EventRepository } from '../repositories/event.repository.js';
import type { JobProducer } from '../queue/job-producer.js';

/** What participants may see of an event. */
export interface PublicEvent {
  event_uuid: string;
  name: string;
  description: string | null;
  location: string | null;
  event_date: Date | null;
  is_active: boolean;
}

/** Events as a photographer manages them; every call is scoped to the calling photographer. */
export function createEventService(deps: { events: EventRepository; jobs: Pick<JobProducer, 'enqueue'> }) {
  const { events, jobs } = deps;
  const owned = async (photographerId: number, id: number): Promise<Event> => {
    const event = await events.findOwned(photographerId, id);
    // Another photographer's event is reported exactly like a missing one.
    if (!event) throw new NotFoundError('Event');
    return event;
  };
  return {
    async create(photographerId: number, input: EventInput & { event_uuid?: string }): Promise<Event> {
      const { event_uuid: requested, ...fields } = input;
      const eventUuid = requested?.toLowerCase() ?? crypto.randomUUID();
      try {
        return await events.create(photographerId, eventUuid, fields);
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError(`An event with event_uuid ${eventUuid} already exists`, { field: 'event_uuid' });
        throw error;
      }
    },

    list(photographerId: number, page: { offset: number; limit: number; active?: boolean }) {
      return events.listOwned(photographerId, page);
    },

    get: owned,

    async update(photographerId: number, id: number, patch: Partial<EventInput>): Promise<Event> {
      const event = await events.updateOwned(photographerId, id, patch);
      if (!event) throw new NotFoundError('Event');
      return event;
    },

    /** Hides the event now and queues the cascade (photos, embeddings, objects). Returns the job id. */
    async remove(photographerId: number, id: number): Promise<string> {
      if (!(await events.markDeleted(photographerId, id))) throw new NotFoundError('Event');
      return jobs.enqueue('delete-event', { eventId: id });
    },

    /** The participants' view of an active event. */
    async getPublic(eventUuid: string): Promise<PublicEvent> {
      const event = await events.findActiveByUuid(eventUuid.toLowerCase());
      if (!event) throw new NotFoundError('Event');
      const { event_uuid, name, description, location, event_date, is_active } = event;
      return { event_uuid, name, description, location, event_date, is_active };
    },
  };
}
export type EventService = ReturnType<typeof createEventService>;
