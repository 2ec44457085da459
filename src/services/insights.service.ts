import { NotFoundError } from '../errors.js';
import type { EventRepository } from '../repositories/event.repository.js';
import type { FaceBox, FaceBoxRepository } from '../repositories/face-box.repository.js';
import type { EventCounts, EventInsights, InsightsRepository } from '../repositories/insights.repository.js';
import type { Photo, PhotoRepository } from '../repositories/photo.repository.js';
import type { PeopleService } from './people.service.js';

/** The hourly series covers at most this many hours back (30 days). */
export const HOURLY_WINDOW_HOURS = 720;

/** A person in at least this many photos counts as well covered. */
export const MANY_PHOTOS = 10;

/** Who is (not yet) photographed: what sends the photographer back out during the event. */
export interface EventCoverage {
  /** Persons found among the event's faces. */
  persons: number;
  /** Persons seen in one photo only. */
  single_photo: number;
  /** Persons in MANY_PHOTOS photos or more. */
  many_photos: number;
  hidden: number;
  /** Faces too small or turned to tell who they are. */
  unassigned_faces: number;
  /** Participants who joined but got no photo yet (search or live delivery). */
  participants_without_photos: number;
}

/** What the console shows beyond the API's CRUD: insights, per-event counts, a photo's face boxes. Owner only. */
export function createInsightsService(deps: { events: EventRepository; photos: PhotoRepository; insights: InsightsRepository; faceBoxes: FaceBoxRepository; people: Pick<PeopleService, 'coverage'>; now?: () => Date }) {
  const now = deps.now ?? (() => new Date());
  const owned = async (photographerId: number, eventId: number) => {
    // Another photographer's event is reported exactly like a missing one.
    if (!(await deps.events.findOwned(photographerId, eventId))) throw new NotFoundError('Event');
  };
  return {
    /** Totals and an hourly series (hours without activity left out) for one of the photographer's events. */
    async insights(photographerId: number, eventId: number): Promise<EventInsights & { coverage: EventCoverage }> {
      await owned(photographerId, eventId);
      const [totals, people] = await Promise.all([deps.insights.forEvent(eventId, new Date(now().getTime() - HOURLY_WINDOW_HOURS * 3600_000)), deps.people.coverage(eventId, MANY_PHOTOS)]);
      return {
        ...totals,
        coverage: {
          persons: people.persons,
          single_photo: people.singlePhoto,
          many_photos: people.manyPhotos,
          hidden: people.hidden,
          unassigned_faces: people.unassignedFaces,
          participants_without_photos: Math.max(0, totals.participants.joined - totals.participants.found),
        },
      };
    },

    /** Counts for the photographer's events with these ids (others' ids are silently left out). */
    async counts(photographerId: number, eventIds: number[]): Promise<EventCounts[]> {
      // One ownership query for the whole page of events (one per id made the events list wait).
      const mine = new Set(await deps.events.ownedIds(photographerId, [...new Set(eventIds)]));
      return deps.insights.countsFor([...new Set(eventIds)].filter((id) => mine.has(id)));
    },

    /** A photo of one of the photographer's events with its face boxes. */
    async photoFaces(photographerId: number, photoId: number): Promise<{ photo: Photo; faces: FaceBox[] }> {
      const photo = await deps.photos.findById(photoId);
      if (!photo || !(await deps.events.findOwned(photographerId, photo.event_id))) throw new NotFoundError('Photo');
      return { photo, faces: await deps.faceBoxes.forPhoto(photoId) };
    },
  };
}
export type InsightsService = ReturnType<typeof createInsightsService>;
