import { sql, type Kysely } from 'kysely';
import type { VectorDatabase } from '../../models/index.js';
import { storedLiteral } from './stored-vector.js';

/** One face to store: its storage-width vector, box and detector score. */
export interface FaceEmbeddingInput {
  vector: number[];
  box: { x: number; y: number; width: number; height: number };
  score: number;
  /** Sideways turn (quality gate). @defaultValue 0 (frontal) */
  yaw?: number;
  /** Cohort value within the event at insertion (see src/services/face-cohort.service.ts). @defaultValue null (the pack's prior) */
  cohort?: number | null;
}

/**
 * A photo as db_vector addresses it: its id with its event's, so a query reads only the event's
 * partition (face_embeddings is partitioned by event_id) instead of probing every partition.
 */
export interface PhotoRef {
  faceId: number;
  eventId: number;
}

/** An event's face vectors (the pack's own dimensions), for recomputing cohorts. */
export interface EventVectors {
  rowIds: number[];
  photoIds: number[];
  vectors: Float32Array[];
}

/** Intersection over union of two boxes. */
function boxIou(a: { x: number; y: number; width: number; height: number }, b: { x: number; y: number; width: number; height: number }): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** The face_embeddings rows of a photo's faces. */
const rowsOf = (photo: { faceId: number; eventId: number; modelPack: string }, faces: FaceEmbeddingInput[]) =>
  faces.map((f) => ({
    face_id: photo.faceId,
    event_id: photo.eventId,
    embedding: storedLiteral(photo.modelPack, f.vector),
    bbox_x: f.box.x,
    bbox_y: f.box.y,
    bbox_width: f.box.width,
    bbox_height: f.box.height,
    detection_score: f.score,
    model_pack: photo.modelPack,
    yaw: f.yaw ?? 0,
    cohort_mean: f.cohort ?? null,
  }));

/** Face embeddings in db_vector. */
export function createEmbeddingRepository(db: Kysely<VectorDatabase>) {
  return {
    /**
     * Replaces all embeddings of one photo in one transaction, so a rerun of the same job leaves
     * exactly the same rows: never duplicates, never a half-written set.
     */
    async replaceForPhoto(photo: { faceId: number; eventId: number; modelPack: string }, faces: FaceEmbeddingInput[]): Promise<void> {
      await db.transaction().execute(async (trx) => {
        // Faces of the photo that belong to a person keep that person when they are written anew
        // (a retry, or re-embedding after a model pack switch): above all a hidden person's faces,
        // which must not come back as a new, visible person. Matched by box overlap.
        const { rows: linked } = await sql<{ id: number; x: number; y: number; w: number; h: number; person_id: number; manual: boolean }>`
          select fe.id, fe.bbox_x as x, fe.bbox_y as y, fe.bbox_width as w, fe.bbox_height as h, pf.person_id, pf.manual
          from face_embeddings fe join event_person_faces pf on pf.event_id = fe.event_id and pf.face_row = fe.id
          where fe.event_id = ${photo.eventId} and fe.face_id = ${photo.faceId} and pf.person_id is not null`.execute(trx);
        // The event filter keeps the delete on the event's partition.
        const old = await trx.deleteFrom('face_embeddings').where('event_id', '=', photo.eventId).where('face_id', '=', photo.faceId).returning('id').execute();
        if (old.length > 0) {
          await sql`delete from event_person_faces where event_id = ${photo.eventId} and face_row = any(${old.map((r) => r.id)}::int[])`.execute(trx);
        }
        if (faces.length === 0) return;
        const inserted = await trx
          .insertInto('face_embeddings')
          .values(
            rowsOf(photo, faces),
          )
          .returning('id')
          .execute();
        const carried = faces.flatMap((f, i) => {
          let best: (typeof linked)[number] | undefined;
          let bestIou = 0.5;
          for (const l of linked) {
            const v = boxIou(f.box, { x: l.x, y: l.y, width: l.w, height: l.h });
            if (v >= bestIou) [best, bestIou] = [l, v];
          }
          return best ? [{ faceRow: inserted[i]!.id, personId: best.person_id, manual: best.manual }] : [];
        });
        for (const c of carried) {
          await sql`insert into event_person_faces (event_id, face_row, person_id, manual)
            values (${photo.eventId}, ${c.faceRow}, ${c.personId}, ${c.manual}) on conflict do nothing`.execute(trx);
        }
      });
    },

    /**
     * Adds faces to a photo's stored ones (a live photo's small-face pass), keeping its rows. The
     * caller leaves out faces already stored (by box overlap), so a rerun adds nothing twice.
     */
    async addForPhoto(photo: { faceId: number; eventId: number; modelPack: string }, faces: FaceEmbeddingInput[]): Promise<void> {
      if (faces.length === 0) return;
      await db
        .insertInto('face_embeddings')
        .values(
          rowsOf(photo, faces),
        )
        .execute();
    },

    /** The stored faces of one photo: their boxes (the refine pass leaves these faces out). */
    async facesOfPhoto(photo: PhotoRef): Promise<{ box: { x: number; y: number; width: number; height: number } }[]> {
      const rows = await db
        .selectFrom('face_embeddings')
        .select(['bbox_x', 'bbox_y', 'bbox_width', 'bbox_height'])
        .where('event_id', '=', photo.eventId)
        .where('face_id', '=', photo.faceId)
        .orderBy('id')
        .execute();
      return rows.map((r) => ({ box: { x: r.bbox_x, y: r.bbox_y, width: r.bbox_width, height: r.bbox_height } }));
    },

    /** Every face vector of an event and pack, cut to the pack's `dimensions`. */
    async eventVectors(eventId: number, modelPack: string, dimensions: number): Promise<EventVectors> {
      const { rows } = await sql<{ id: number; face_id: number; v: string }>`
        select id, face_id, subvector(embedding, 1, ${sql.lit(dimensions)})::text as v
        from face_embeddings where event_id = ${eventId} and model_pack = ${modelPack} order by id`.execute(db);
      return {
        rowIds: rows.map((r) => r.id),
        photoIds: rows.map((r) => r.face_id),
        vectors: rows.map((r) => Float32Array.from(JSON.parse(r.v) as number[])),
      };
    },

    /** Stores recomputed cohort values of the event's rows (rows deleted meanwhile are skipped). */
    async setCohorts(rowIds: number[], cohorts: ArrayLike<number>, eventId: number): Promise<void> {
      for (let start = 0; start < rowIds.length; start += 5000) {
        const ids = rowIds.slice(start, start + 5000);
        const values = Array.from({ length: ids.length }, (_, i) => cohorts[start + i]!);
        await sql`update face_embeddings as fe set cohort_mean = v.cohort
          from unnest(${ids}::int[], ${values}::real[]) as v(id, cohort) where fe.event_id = ${eventId} and fe.id = v.id`.execute(db);
      }
    },

    /** How many faces the event had when its cohorts were last recomputed as a whole (0: never). */
    async cohortsRefreshedAt(eventId: number, modelPack: string): Promise<number> {
      const row = await db.selectFrom('event_face_cohorts').select('faces').where('event_id', '=', eventId).where('model_pack', '=', modelPack).executeTakeFirst();
      return row?.faces ?? 0;
    },

    async markCohortsRefreshed(eventId: number, modelPack: string, faces: number): Promise<void> {
      await db
        .insertInto('event_face_cohorts')
        .values({ event_id: eventId, model_pack: modelPack, faces })
        .onConflict((oc) => oc.columns(['event_id', 'model_pack']).doUpdateSet({ faces, refreshed_at: sql`now()` }))
        .execute();
    },

    /** Deletes the faces of these photos, all of one event. */
    async deleteByPhotos(eventId: number, faceIds: number[]): Promise<number> {
      if (faceIds.length === 0) return 0;
      const result = await db.deleteFrom('face_embeddings').where('event_id', '=', eventId).where('face_id', 'in', faceIds).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    /** Every embedding of the event: its photos' faces and its participants' stored selfies. */
    async deleteByEvent(eventId: number): Promise<number> {
      const result = await db.deleteFrom('face_embeddings').where('event_id', '=', eventId).executeTakeFirst();
      await db.deleteFrom('participant_embeddings').where('event_id', '=', eventId).execute();
      await db.deleteFrom('event_face_cohorts').where('event_id', '=', eventId).execute();
      return Number(result.numDeletedRows);
    },

    /** Every event id that has photo or participant embeddings (the orphan sweep checks them against db_main). */
    async listEventIds(): Promise<number[]> {
      const rows = await db
        .selectFrom('face_embeddings')
        .select('event_id')
        .union(db.selectFrom('participant_embeddings').select('event_id'))
        .execute();
      return rows.map((r) => r.event_id);
    },

    async countByEvent(eventId: number, modelPack?: string): Promise<number> {
      let query = db.selectFrom('face_embeddings').select((eb) => eb.fn.countAll<number>().as('n')).where('event_id', '=', eventId);
      if (modelPack !== undefined) query = query.where('model_pack', '=', modelPack);
      const row = await query.executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async countByPhoto(photo: PhotoRef): Promise<number> {
      const row = await db
        .selectFrom('face_embeddings')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('event_id', '=', photo.eventId)
        .where('face_id', '=', photo.faceId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
export type EmbeddingRepository = ReturnType<typeof createEmbeddingRepository>;
