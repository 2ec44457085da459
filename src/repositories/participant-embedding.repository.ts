import { sql, type Kysely } from 'kysely';
import type { VectorDatabase } from '../../models/index.js';

/** A subscribed participant whose selfie matches a face of a photo. */
export interface ParticipantMatch {
  participantId: number;
  modelPack: string;
  /** Cosine distance of the photo's closest face to the participant's selfie. */
  distance: number;
}

const toVectorLiteral = (v: number[]): string => `[${v.join(',')}]`;

/** Selfie embeddings of participants subscribed to live delivery (db_vector). */
export function createParticipantEmbeddingRepository(db: Kysely<VectorDatabase>) {
  return {
    async upsert(input: { participantId: number; eventId: number; vector: number[]; modelPack: string }): Promise<void> {
      const embedding = toVectorLiteral(input.vector);
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

    async count(participantId: number): Promise<number> {
      const row = await db
        .selectFrom('participant_embeddings')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('participant_id', '=', participantId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /**
     * Subscribers of the photo's event, each with the distance of the photo's face closest to their
     * selfie; only embeddings of the same pack are compared. The caller applies the pack's threshold.
     */
    async matchPhoto(photo: { faceId: number; eventId: number }): Promise<ParticipantMatch[]> {
      const { rows } = await sql<{ participant_id: number; model_pack: string; distance: number }>`
        select pe.participant_id, pe.model_pack, min(fe.embedding <=> pe.embedding) as distance
        from face_embeddings fe
        join participant_embeddings pe on pe.event_id = fe.event_id and pe.model_pack = fe.model_pack
        where fe.face_id = ${photo.faceId} and fe.event_id = ${photo.eventId}
        group by pe.participant_id, pe.model_pack`.execute(db);
      return rows.map((r) => ({ participantId: r.participant_id, modelPack: r.model_pack, distance: Number(r.distance) }));
    },
  };
}
export type ParticipantEmbeddingRepository = ReturnType<typeof createParticipantEmbeddingRepository>;
