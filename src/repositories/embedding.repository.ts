import { sql, type Kysely } from 'kysely';
import type { VectorDatabase } from '../../models/index.js';

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

/** An event's face vectors (the pack's own dimensions), for recomputing cohorts. */
export interface EventVectors {
  rowIds: number[];
  photoIds: number[];
  vectors: Float32Array[];
}

const toVectorLiteral = (v: number[]): string => `[${v.join(',')}]`;

/** Face embeddings in db_vector. */
export function createEmbeddingRepository(db: Kysely<VectorDatabase>) {
  return {
    /**
     * Replaces all embeddings of one photo in one transaction, so a rerun of the same job leaves
     * exactly the same rows: never duplicates, never a half-written set.
     */
    async replaceForPhoto(photo: { faceId: number; eventId: number; modelPack: string }, faces: FaceEmbeddingInput[]): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('face_embeddings').where('face_id', '=', photo.faceId).execute();
        if (faces.length === 0) return;
        await trx
          .insertInto('face_embeddings')
          .values(
            faces.map((f) => ({
              face_id: photo.faceId,
              event_id: photo.eventId,
              embedding: toVectorLiteral(f.vector),
              bbox_x: f.box.x,
              bbox_y: f.box.y,
              bbox_width: f.box.width,
              bbox_height: f.box.height,
              detection_score: f.score,
              model_pack: photo.modelPack,
              yaw: f.yaw ?? 0,
              cohort_mean: f.cohort ?? null,
            })),
          )
          .execute();
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
          faces.map((f) => ({
            face_id: photo.faceId,
            event_id: photo.eventId,
            embedding: toVectorLiteral(f.vector),
            bbox_x: f.box.x,
            bbox_y: f.box.y,
            bbox_width: f.box.width,
            bbox_height: f.box.height,
            detection_score: f.score,
            model_pack: photo.modelPack,
            yaw: f.yaw ?? 0,
            cohort_mean: f.cohort ?? null,
          })),
        )
        .execute();
    },

    /** The stored faces of one photo: their boxes (the refine pass leaves these faces out). */
    async facesOfPhoto(faceId: number): Promise<{ box: { x: number; y: number; width: number; height: number } }[]> {
      const rows = await db
        .selectFrom('face_embeddings')
        .select(['bbox_x', 'bbox_y', 'bbox_width', 'bbox_height'])
        .where('face_id', '=', faceId)
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

    /** Stores recomputed cohort values (rows deleted meanwhile are skipped). */
    async setCohorts(rowIds: number[], cohorts: ArrayLike<number>): Promise<void> {
      for (let start = 0; start < rowIds.length; start += 5000) {
        const ids = rowIds.slice(start, start + 5000);
        const values = Array.from({ length: ids.length }, (_, i) => cohorts[start + i]!);
        await sql`update face_embeddings as fe set cohort_mean = v.cohort
          from unnest(${ids}::int[], ${values}::real[]) as v(id, cohort) where fe.id = v.id`.execute(db);
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

    async deleteByPhotos(faceIds: number[]): Promise<number> {
      if (faceIds.length === 0) return 0;
      const result = await db.deleteFrom('face_embeddings').where('face_id', 'in', faceIds).executeTakeFirst();
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

    async countByPhoto(faceId: number): Promise<number> {
      const row = await db
        .selectFrom('face_embeddings')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('face_id', '=', faceId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
export type EmbeddingRepository = ReturnType<typeof createEmbeddingRepository>;
