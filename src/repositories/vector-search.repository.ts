import { sql, type Kysely } from 'kysely';
import type { VectorDatabase } from '../../models/index.js';
import { annExpression, annQuery, createVectorIndexRepository, type EventVectorIndex } from './vector-index.repository.js';
import { fromStoredText, storedVector } from './stored-vector.js';

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
const INDEX_CACHE_MS = 60_000;
const INDEX_CACHE_MAX = 10_000;

/**
 * The face rows an event's HNSW index offers for a query, with their exact distances. Its ORDER BY
 * is the indexed expression, so the planner can use the event's partial index (tests check the plan).
 */
export function annCandidates(query: NearestPhotosQuery, dimensions: number, candidates: number) {
  return sql<{ face_id: number; distance: number }>`
    select face_id, embedding <=> ${storedVector(query.modelPack, query.vector)} as distance
    from face_embeddings
    where event_id = ${query.eventId} and model_pack = ${query.modelPack}
    order by ${annExpression(dimensions)} <=> ${annQuery(query.vector, dimensions)}
    limit ${candidates}`;
}

/** One event face near a query, with what the match decision needs to judge it. */
export interface FaceCandidate {
  /** The face row (`face_embeddings.id`). */
  rowId: number;
  /** The photo it is on (`faces.id` in db_main). */
  faceId: number;
  /** Raw cosine similarity to the query (1 − pgvector's cosine distance). */
  cosine: number;
  /** The face's stored cohort value within its event; null until computed. */
  cohort: number | null;
  /** Face box side (the smaller of width and height), pixels. */
  size: number;
  yaw: number;
}

/** A nearest-faces query: every face of the event and pack with cosine ≥ `minCosine`, best first. */
export interface NearestFacesQuery {
  eventId: number;
  modelPack: string;
  vector: number[];
  minCosine: number;
  limit: number;
}

/** A cohort query: the `k` highest cosines below `below` of a vector against the event's faces (optionally not on one photo). */
export interface CohortQuery {
  eventId: number;
  modelPack: string;
  vector: number[];
  below: number;
  k: number;
  excludePhoto?: number;
}

/**
 * Nearest photos within one event. Small events are scanned exactly through the `event_id` btree
 * (always recall 1.0); events with a registered partial HNSW index (built once they pass
 * VECTOR_INDEX_MIN_FACES) are searched through it and re-ranked exactly. Never the other events'
 * rows: both paths filter on the event, and the index itself holds only that event.
 */
/** Faces read by nearestFaces' first, cheap pass (see there). */
const FIRST_READ_FACES = 100;

export function createVectorSearchRepository(db: Kysely<VectorDatabase>, options: { efSearch?: number } = {}) {
  const efSearch = options.efSearch ?? ANN_EF_SEARCH;
  const registry = createVectorIndexRepository(db);
  // An event's index, once built, stays until the event is deleted: remembering it saves a round
  // trip per search (issue #17, tail latency). Only found indexes are remembered, so a new index is
  // used at once; a remembered one that was dropped meanwhile still gives correct (exact-sorted) results.
  const known = new Map<string, { index: EventVectorIndex; until: number }>();
  const indexes = {
    async find(eventId: number, modelPack: string): Promise<EventVectorIndex | undefined> {
      const key = `${eventId}\u0000${modelPack}`;
      const hit = known.get(key);
      if (hit && hit.until > Date.now()) return hit.index;
      const index = await registry.find(eventId, modelPack);
      if (index) {
        if (known.size >= INDEX_CACHE_MAX) known.clear();
        known.set(key, { index, until: Date.now() + INDEX_CACHE_MS });
      } else known.delete(key);
      return index;
    },
  };

  async function exact(query: NearestPhotosQuery): Promise<PhotoMatch[]> {
    const q = storedVector(query.modelPack, query.vector);
    // Grouping keeps the planner on the btree: a whole-table ANN index would post-filter and
    // under-fill results (pgvector issue #259).
    const { rows } = await sql<{ face_id: number; distance: number }>`
      select face_id, min(embedding <=> ${q}) as distance
      from face_embeddings
      where event_id = ${query.eventId}
        and model_pack = ${query.modelPack}
        and (embedding <=> ${q}) <= ${query.maxDistance}
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

  /**
   * Runs `query` ordered by distance to `vector`: through the event's HNSW index when it has one
   * (iterative scan, so filters never under-fill the LIMIT), else as an exact scan.
   */
  async function ordered<R>(eventId: number, modelPack: string, vector: number[], candidates: number, run: (order: ReturnType<typeof sql>, trx: Kysely<VectorDatabase>) => Promise<R>): Promise<R> {
    const index = await indexes.find(eventId, modelPack);
    if (!index) return run(sql`embedding <=> ${storedVector(modelPack, vector)}`, db);
    return db.transaction().execute(async (trx) => {
      await sql`select set_config('hnsw.ef_search', ${String(Math.max(efSearch, Math.min(candidates, 1000)))}, true),
        set_config('hnsw.iterative_scan', 'relaxed_order', true)`.execute(trx);
      return run(sql`${annExpression(index.dimensions)} <=> ${annQuery(vector, index.dimensions)}`, trx);
    });
  }

  return {
    /** Faces of the event close to the query, one row per face (the match decision groups them by photo). */
    async nearestFaces(query: NearestFacesQuery): Promise<FaceCandidate[]> {
      const q = storedVector(query.modelPack, query.vector);
      const maxDistance = 1 - query.minCosine;
      const within = (limit: number) =>
        ordered(query.eventId, query.modelPack, query.vector, limit, async (order, exec) =>
          (
            await sql<{ id: number; face_id: number; distance: number; cohort_mean: number | null; size: number; yaw: number }>`
              select id, face_id, distance, cohort_mean, size, yaw from (
                select id, face_id, embedding <=> ${q} as distance, cohort_mean,
                  least(bbox_width, bbox_height) as size, yaw
                from face_embeddings
                where event_id = ${query.eventId} and model_pack = ${query.modelPack}
                order by ${order}
                limit ${limit}) as near
              where distance <= ${maxDistance}
              order by distance asc, id asc`.execute(exec)
          ).rows,
        );
      // Most people are in far fewer photos than the limit: a small first read (cheap for the HNSW
      // index, whose work grows with ef_search) is enough when some of its faces already fall
      // beyond the floor; only when all pass is the full limit read.
      const first = Math.min(query.limit, FIRST_READ_FACES);
      let rows = await within(first);
      if (rows.length === first && first < query.limit) rows = await within(query.limit);
      return rows.map((r) => ({ rowId: r.id, faceId: r.face_id, cosine: 1 - Number(r.distance), cohort: r.cohort_mean === null ? null : Number(r.cohort_mean), size: Number(r.size), yaw: Number(r.yaw) }));
    },

    /** The k highest cosines below `below` (same-person neighbours left out) of a vector within the event. */
    async cohortCosines(query: CohortQuery): Promise<number[]> {
      const q = storedVector(query.modelPack, query.vector);
      const minDistance = 1 - query.below;
      return ordered(query.eventId, query.modelPack, query.vector, query.k, async (order, exec) =>
        (
          await sql<{ distance: number }>`
            select embedding <=> ${q} as distance
            from face_embeddings
            where event_id = ${query.eventId} and model_pack = ${query.modelPack}
              and (embedding <=> ${q}) > ${minDistance}
              ${query.excludePhoto === undefined ? sql`` : sql`and face_id <> ${query.excludePhoto}`}
            order by ${order}
            limit ${query.k}`.execute(exec)
        ).rows.map((r) => 1 - Number(r.distance)),
      );
    },

    /** The `k` closest faces of the event to a vector (optionally not on one photo), with their vectors. */
    async nearestVectors(query: Omit<CohortQuery, 'below'>): Promise<{ cosine: number; vector: number[] }[]> {
      const q = storedVector(query.modelPack, query.vector);
      return ordered(query.eventId, query.modelPack, query.vector, query.k, async (order, exec) =>
        (
          await sql<{ distance: number; v: string }>`
            select embedding <=> ${q} as distance, embedding::text as v
            from face_embeddings
            where event_id = ${query.eventId} and model_pack = ${query.modelPack}
              ${query.excludePhoto === undefined ? sql`` : sql`and face_id <> ${query.excludePhoto}`}
            order by ${order}
            limit ${query.k}`.execute(exec)
        ).rows.map((r) => ({ cosine: 1 - Number(r.distance), vector: fromStoredText(r.v, query.vector.length) })),
      );
    },

    async nearestPhotos(query: NearestPhotosQuery): Promise<PhotoMatch[]> {
      const index = await indexes.find(query.eventId, query.modelPack);
      return index ? approximate(query, index.dimensions) : exact(query);
    },
    /** The exact scan whatever the event's size: the reference that benchmarks and tests measure recall against. */
    exactNearestPhotos: exact,
  };
}
export type VectorSearchRepository = ReturnType<typeof createVectorSearchRepository>;
