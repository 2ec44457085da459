import { sql, type Kysely } from 'kysely';
import type { VectorDatabase } from '../../models/index.js';
import { fromStoredText, storedLiteral } from './stored-vector.js';

/** A subscribed participant whose selfie is close to faces of a photo. */
export interface ParticipantMatch {
  participantId: number;
  modelPack: string;
  /** The participant's selfie embedding (storage width). */
  vector: number[];
  /** The photo's faces at or above the raw floor for this participant, with what the decision needs. */
  faces: { rowId: number; cosine: number; cohort: number | null; size: number; yaw: number }[];
}

/** Selfie embeddings of participants subscribed to live delivery (db_vector). */
export function createParticipantEmbeddingRepository(db: Kysely<VectorDatabase>) {
  return {
    async upsert(input: { participantId: number; eventId: number; vector: number[]; modelPack: string }): Promise<void> {
      const embedding = storedLiteral(input.modelPack, input.vector);
      await db
        .insertInto('participant_embeddings')
        .values({ participant_id: input.participantId, event_id: input.eventId, embedding, model_pack: input.modelPack })
        .onConflict((oc) => oc.columns(['participant_id', 'event_id']).doUpdateSet({ embedding, model_pack: input.modelPack }))
        .execute();
    },

    /** Removes one event's embedding, or all of the participant's. */
    async delete(participantId: number, eventId?: number): Promise<number> {
      let query = db.deleteFrom('participant_embeddings').where('participant_id', '=', participantId);
      if (eventId !== undefined) query = query.where('event_id', '=', eventId);
      return Number((await query.executeTakeFirst()).numDeletedRows);
    },

    /** The participant's stored selfie embeddings, one per event. */
    async listFor(participantId: number): Promise<{ eventId: number; vector: number[]; modelPack: string }[]> {
      const rows = await db.selectFrom('participant_embeddings').select(['event_id', 'model_pack', sql<string>`embedding::text`.as('v')]).where('participant_id', '=', participantId).execute();
      return rows.map((r) => ({ eventId: r.event_id, modelPack: r.model_pack, vector: JSON.parse(r.v) as number[] }));
    },

    async count(participantId: number): Promise<number> {
      const row = await db
        .selectFrom('participant_embeddings')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('participant_id', '=', participantId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /**
     * Subscribers of the photo's event whose selfie is within `minCosine(pack)` of one of the
     * photo's faces, with those faces; only embeddings of the same pack are compared.
     */
    async matchPhoto(photo: { faceId: number; eventId: number }, minCosine: (modelPack: string) => number): Promise<ParticipantMatch[]> {
      const packs = await db.selectFrom('participant_embeddings').select('model_pack').distinct().where('event_id', '=', photo.eventId).execute();
      const out = new Map<number, ParticipantMatch>();
      for (const { model_pack: pack } of packs) {
        const { rows } = await sql<{ id: number; participant_id: number; selfie: string; distance: number; cohort_mean: number | null; size: number; yaw: number }>`
          select fe.id, pe.participant_id, pe.embedding::text as selfie, fe.embedding <=> pe.embedding as distance,
            fe.cohort_mean, least(fe.bbox_width, fe.bbox_height) as size, fe.yaw
          from face_embeddings fe
          join participant_embeddings pe on pe.event_id = fe.event_id and pe.model_pack = fe.model_pack
          where fe.face_id = ${photo.faceId} and fe.event_id = ${photo.eventId} and fe.model_pack = ${pack}
            and (fe.embedding <=> pe.embedding) <= ${1 - minCosine(pack)}`.execute(db);
        for (const r of rows) {
          const m = out.get(r.participant_id) ?? { participantId: r.participant_id, modelPack: pack, vector: fromStoredText(r.selfie), faces: [] };
          m.faces.push({ rowId: r.id, cosine: 1 - Number(r.distance), cohort: r.cohort_mean === null ? null : Number(r.cohort_mean), size: Number(r.size), yaw: Number(r.yaw) });
          out.set(r.participant_id, m);
        }
      }
      return [...out.values()];
    },
  };
}
export type ParticipantEmbeddingRepository = ReturnType<typeof createParticipantEmbeddingRepository>;
