import { sql, type Kysely } from 'kysely';
import type { VectorDatabase } from '../../models/index.js';
import { annExpression, createVectorIndexRepository } from './vector-index.repository.js';

/** The best face of each matching photo. */
export interface PhotoMatch {
  faceId: number;
  /** Cosine distance of the photo's closest face to the query (0 = identical direction). */
  distance: number;
}

/** One search: the event filter is part of every query, whichever path serves it. */
export interface NearestPhotosQuery {
  eventId: number;
  modelPack: string;
  vector: number[];
  maxDistance: number;
  limit: number;
}

// ANN path: face rows fetched from the event's HNSW index before exact re-ranking and grouping by
// photo. Twice the limit leaves room for photos holding several close faces; the floor and
// ef_search were chosen by `npm run bench:search` for recall@10 ≥ 0.99 (README, "Vector search").
const ANN_MIN_CANDIDATES = 40;
const ANN_EF_SEARCH = 100;

const literal = (v: number[]): string => `[${v.join(',')}]`;

/**
 * The face rows an event's HNSW index offers for a query, with their exact distances. Its ORDER BY
 * is the indexed expression, so the planner can use the event's partial index (tests check the plan).
 */
export function annCandidates(query: NearestPhotosQuery, dimensions: number, candidates: number) {
  return sql<{ face_id: number; distance: number }>`
    select face_id, embedding <=> ${literal(query.vector)}::vector as distance
    from face_embeddings
    where event_id = ${query.eventId} and model_pack = ${query.modelPack}
    order by ${annExpression(dimensions)} <=> ${literal(query.vector.slice(0, dimensions))}::vector(${sql.lit(dimensions)})
    limit ${candidates}`;
}

/**
 * Nearest photos within one event. Small events are scanned exactly through the `event_id` btree
 * (always recall 1.0); events with a registered partial HNSW index (built once they pass
 * VECTOR_INDEX_MIN_FACES) are searched through it and re-ranked exactly. Never the other events'
 * rows: both paths filter on the event, and the index itself holds only that event.
 */
export function createVectorSearchRepository(db: Kysely<VectorDatabase>, options: { efSearch?: number } = {}) {
  const efSearch = options.efSearch ?? ANN_EF_SEARCH;
  const indexes = createVectorIndexRepository(db);

  async function exact(query: NearestPhotosQuery): Promise<PhotoMatch[]> {
    const q = literal(query.vector);
    // Grouping keeps the planner on the btree: a whole-table ANN index would post-filter and
    // under-fill results (pgvector issue #259).
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
  }

  async function approximate(query: NearestPhotosQuery, dimensions: number): Promise<PhotoMatch[]> {
    const candidates = Math.max(ANN_MIN_CANDIDATES, query.limit * 2);
    return db.transaction().execute(async (trx) => {
      // Iterative scans keep fetching until the LIMIT is met, so the candidate list is never short.
      await sql`select set_config('hnsw.ef_search', ${String(Math.max(efSearch, candidates))}, true),
        set_config('hnsw.iterative_scan', 'relaxed_order', true)`.execute(trx);
      const { rows } = await sql<{ face_id: number; distance: number }>`
        select face_id, min(distance) as distance
        from (${annCandidates(query, dimensions, candidates)}) as candidates
        where distance <= ${query.maxDistance}
        group by face_id
        order by distance asc, face_id asc
        limit ${query.limit}`.execute(trx);
      return rows.map((r) => ({ faceId: r.face_id, distance: Number(r.distance) }));
    });
  }

  return {
    async nearestPhotos(query: NearestPhotosQuery): Promise<PhotoMatch[]> {
      const index = await indexes.find(query.eventId, query.modelPack);
      return index ? approximate(query, index.dimensions) : exact(query);
    },
    /** The exact scan whatever the event's size: the reference that benchmarks and tests measure recall against. */
    exactNearestPhotos: exact,
  };
}
export type VectorSearchRepository = ReturnType<typeof createVectorSearchRepository>;
