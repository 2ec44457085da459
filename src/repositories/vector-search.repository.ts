import { sql, type Kysely } from 'kysely';
import type { VectorDatabase } from '../../models/index.js';

/** The best face of each matching photo. */
export interface PhotoMatch {
  faceId: number;
  /** Cosine distance of the photo's closest face to the query (0 = identical direction). */
  distance: number;
}

/**
 * Nearest photos within one event. The event filter is in the SQL of every search; results are
 * exact (the per-event btree narrows the scan, grouping keeps the planner off the global ANN
 * index, which would post-filter and under-fill results — pgvector issue #259).
 */
export function createVectorSearchRepository(db: Kysely<VectorDatabase>) {
  return {
    async nearestPhotos(query: { eventId: number; modelPack: string; vector: number[]; maxDistance: number; limit: number }): Promise<PhotoMatch[]> {
      const q = `[${query.vector.join(',')}]`;
      const { rows } = await sql<{ face_id: number; distance: number }>`
        select face_id, min(embedding <=> ${q}::vector) as distance
        from face_embeddings
        where event_id = ${query.eventId}
          and model_pack = ${query.modelPack}
          and (embedding <=> ${q}::vector) <= ${query.maxDistance}
        group by face_id
        order by distance asc, face_id asc
        limit ${query.limit}`.execute(db);
      return rows.map((r) => ({ faceId: r.face_id, distance: Number(r.distance) }));
    },
  };
}
export type VectorSearchRepository = ReturnType<typeof createVectorSearchRepository>;
