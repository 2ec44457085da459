import type { PersonRepository, PersonSummary, ClusteringWrite } from '../repositories/person.repository.js';
import type { JobProducer } from '../queue/job-producer.js';
import type { VectorSearchRepository } from '../repositories/vector-search.repository.js';
import type { EventRepository } from '../repositories/event.repository.js';
import type { Photo, PhotoRepository } from '../repositories/photo.repository.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { matchPolicyFor } from './match-decision.js';
import { clusterFaces, DEFAULT_CLUSTERING, type ClusterFace } from './person-clustering.js';

/** Delay of the clustering job after a photo: a burst of uploads is one run. */
export const PERSON_CLUSTER_DELAY_MS = 30_000;

/** A clustering run: how many faces, persons, new faces assigned. */
export interface ClusterRunResult {
  faces: number;
  persons: number;
  newFaces: number;
  attempts: number;
}

/**
 * People in an event (issue #15): keeps every face of an event assigned to a person (see
 * person-clustering.ts for the method), and the organizer's edits of them.
 *
 * Incremental runs (the debounced job after uploads) keep existing persons as they are, organizer
 * edits included, and only place faces not seen yet: into an existing person, a new one, or
 * nowhere (a face the match decision would never match). A full run re-clusters every face from
 * scratch; a person that held a hidden face makes its new person hidden (a hide request survives
 * re-clustering), but merges and splits are recomputed.
 *
 * Concurrency: a run reads the event, clusters, and writes only if no edit (or other run) came
 * in between (a version number); otherwise it reads again.
 */
export function createPeopleService(deps: {
  persons: PersonRepository;
  events: Pick<EventRepository, 'findOwned'>;
  photos: Pick<PhotoRepository, 'findDoneInEvent'>;
  jobs?: Pick<JobProducer, 'enqueue'>;
  /** For /forget's "hide me too": the event's face closest to a selfie. */
  vectors?: Pick<VectorSearchRepository, 'nearestFaces'>;
}) {
  const { persons, jobs } = deps;
  /** Another photographer's event is reported exactly like a missing one. */
  const owned = async (photographerId: number, eventId: number): Promise<void> => {
    if (!(await deps.events.findOwned(photographerId, eventId))) throw new NotFoundError('Event');
  };
  const person = async (eventId: number, personId: number): Promise<PersonSummary> => {
    const found = await persons.find(eventId, personId);
    if (!found) throw new NotFoundError('Person');
    return found;
  };

  async function clusterPack(eventId: number, modelPack: string, dimensions: number, full: boolean): Promise<Omit<ClusterRunResult, 'attempts'> | undefined> {
    const policy = matchPolicyFor(modelPack);
    const version = await persons.version(eventId);
    const [rows, assignments] = await Promise.all([persons.eventFaces(eventId, modelPack, dimensions), persons.assignments(eventId, modelPack)]);
    const index = new Map(rows.map((r, i) => [r.rowId, i]));
    const faces: ClusterFace[] = rows.map((r) => ({ vector: r.vector, photo: r.photoId, cohort: r.cohort, size: r.size, yaw: r.yaw, score: r.score }));

    const seen = new Set<number>();
    const fixedIds: number[] = [];
    const fixed: number[][] = [];
    const hiddenFaces = new Set<number>();
    for (const a of assignments) {
      const i = index.get(a.faceRow);
      if (i === undefined) continue;
      if (a.hidden) hiddenFaces.add(i);
      if (full) continue;
      seen.add(i);
      if (a.personId === null) continue;
      let k = fixedIds.indexOf(a.personId);
      if (k < 0) {
        k = fixedIds.push(a.personId) - 1;
        fixed.push([]);
      }
      fixed[k]!.push(i);
    }
    // Faces seen before and left unassigned stay so (they are not offered again).
    const fresh = rows.map((_, i) => i).filter((i) => !seen.has(i));
    if (!full && fresh.length === 0) return { faces: rows.length, persons: fixed.length, newFaces: 0 };
    const { groups } = await clusterFaces(faces, policy, DEFAULT_CLUSTERING, fixed, true);

    const write: ClusteringWrite = { modelPack, replaceAll: full, newPersons: [], faces: [] };
    const personOf = new Map<number, number>();
    groups.forEach((members, g) => {
      if (members.length === 0) return;
      let id: number;
      if (g < fixed.length) id = fixedIds[g]!;
      else {
        id = -(write.newPersons.length + 1);
        write.newPersons.push({ tempId: id, hidden: members.some((i) => hiddenFaces.has(i)) });
      }
      for (const i of members) personOf.set(i, id);
    });
    for (const i of full ? rows.map((_, k) => k) : fresh) write.faces.push({ faceRow: rows[i]!.rowId, personId: personOf.get(i) ?? null });
    if (!(await persons.applyClustering(eventId, version, write))) return undefined;
    return { faces: rows.length, persons: groups.filter((g) => g.length > 0).length, newFaces: fresh.length };
  }

  return {
    /** The clustering job: places the event's new faces (or, `full`, re-clusters every face). */
    async cluster(job: { eventId: number; full?: boolean }): Promise<ClusterRunResult> {
      const total: ClusterRunResult = { faces: 0, persons: 0, newFaces: 0, attempts: 0 };
      for (const { modelPack, dimensions } of await persons.packs(job.eventId)) {
        for (let attempt = 1; ; attempt++) {
          total.attempts++;
          const result = await clusterPack(job.eventId, modelPack, dimensions, job.full ?? false);
          if (result) {
            total.faces += result.faces;
            total.persons += result.persons;
            total.newFaces += result.newFaces;
            break;
          }
          // An edit came in meanwhile: read again (edits are rare, a few tries always do).
          if (attempt >= 5) throw new Error(`event ${job.eventId}: persons kept changing during clustering`);
        }
      }
      return total;
    },

    /**
     * After a photo's faces are stored: schedules the event's clustering, debounced. One job per
     * event and time bucket, delayed by a bucket: uploads of a bucket share its job, and a job
     * runs only once its bucket is over, so faces stored while it runs go to the next bucket's job.
     */
    async afterPhotoStored(photo: { eventId: number; faces: number }): Promise<boolean> {
      if (!jobs || photo.faces === 0) return false;
      const bucket = Math.floor(Date.now() / PERSON_CLUSTER_DELAY_MS);
      await jobs.enqueue('cluster-event-persons', { eventId: photo.eventId, bucket }, { delay: PERSON_CLUSTER_DELAY_MS, removeOnComplete: true, removeOnFail: true });
      return true;
    },

    /** Queues a full re-cluster of the event now. */
    async requestFullCluster(eventId: number): Promise<void> {
      if (!jobs) throw new Error('no job queue');
      await jobs.enqueue('cluster-event-persons', { eventId, full: true }, { removeOnComplete: true, removeOnFail: true });
    },

    /** The event's persons, most photographed first (owner only). */
    async list(photographerId: number, eventId: number): Promise<PersonSummary[]> {
      await owned(photographerId, eventId);
      return persons.list(eventId);
    },

    /** One person, their faces (best first) and the processed photos they are in (owner only). */
    async photosOf(photographerId: number, eventId: number, personId: number): Promise<{ person: PersonSummary; faces: Awaited<ReturnType<PersonRepository['faces']>>; photos: Photo[] }> {
      await owned(photographerId, eventId);
      const found = await person(eventId, personId);
      const faces = await persons.faces(eventId, personId);
      const byId = new Map((await deps.photos.findDoneInEvent(eventId, [...new Set(faces.map((f) => f.photoId))])).map((p) => [p.id, p]));
      const photos = [...new Set(faces.map((f) => f.photoId))].flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
      return { person: found, faces, photos };
    },

    /** Merges `from` into `into` (the same person, as the organizer knows): one person, hidden if either was. */
    async merge(photographerId: number, eventId: number, into: number, from: number): Promise<PersonSummary> {
      await owned(photographerId, eventId);
      if (into === from) throw new InvalidInputError('a person cannot be merged with itself', { person_id: from });
      await person(eventId, into);
      await person(eventId, from);
      if (!(await persons.merge(eventId, into, from))) throw new NotFoundError('Person');
      return person(eventId, into);
    },

    /** Splits one face off its person into a new person of its own. */
    async split(photographerId: number, eventId: number, personId: number, faceRow: number): Promise<PersonSummary> {
      await owned(photographerId, eventId);
      const found = await person(eventId, personId);
      if (found.faceCount < 2) throw new InvalidInputError('the person has only this face', { face_row: faceRow });
      const created = await persons.split(eventId, personId, faceRow);
      if (created === undefined) throw new NotFoundError('Face of this person');
      return person(eventId, created);
    },

    /** Hides (or unhides) a person: a hidden person's faces match no search or live delivery in the event. */
    async setHidden(photographerId: number, eventId: number, personId: number, hidden: boolean): Promise<PersonSummary> {
      await owned(photographerId, eventId);
      await person(eventId, personId);
      if (!(await persons.setHidden(eventId, personId, hidden))) throw new NotFoundError('Person');
      return person(eventId, personId);
    },

    /** Processed photos of the event among `ids` (representatives' thumbnails); the caller checked ownership. */
    photosByIds: (eventId: number, ids: number[]): Promise<Photo[]> => deps.photos.findDoneInEvent(eventId, ids),

    /** Queues a full re-cluster of one of the photographer's events. */
    async recluster(photographerId: number, eventId: number): Promise<void> {
      await owned(photographerId, eventId);
      await this.requestFullCluster(eventId);
    },

    coverage: (eventId: number, many: number) => persons.coverage(eventId, many),

    /**
     * The candidates a search or live delivery may keep: drops faces of hidden persons (and
     * not-yet-clustered faces that resemble one). One query, only when the event hides someone.
     */
    async withoutHidden<T extends { rowId: number }>(eventId: number, modelPack: string, candidates: T[]): Promise<T[]> {
      if (candidates.length === 0 || !(await persons.hasHidden(eventId))) return candidates;
      const hidden = await persons.hiddenAmong(eventId, candidates.map((c) => c.rowId), matchPolicyFor(modelPack).rawFloor);
      return hidden.size === 0 ? candidates : candidates.filter((c) => !hidden.has(c.rowId));
    },

    /**
     * Hides the person of the event's face closest to a selfie (the bot's /forget "hide me too"),
     * if that face is a match (at least the pack's raw floor) and belongs to a person. The person's id, or null.
     */
    async hideMatching(eventId: number, modelPack: string, vector: number[]): Promise<number | null> {
      if (!deps.vectors) return null;
      const [best] = await deps.vectors.nearestFaces({ eventId, modelPack, vector, minCosine: matchPolicyFor(modelPack).rawFloor, limit: 1 });
      if (!best) return null;
      const personId = await persons.personOfFace(eventId, best.rowId);
      if (personId === null) return null;
      await persons.setHidden(eventId, personId, true);
      return personId;
    },
  };
}
export type PeopleService = ReturnType<typeof createPeopleService>;
