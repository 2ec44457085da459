import { sql, type Kysely, type Transaction } from 'kysely';
import type { VectorDatabase } from '../../models/index.js';

/** One face of an event as the clustering reads it. */
export interface PersonFaceRow {
  rowId: number;
  /** The photo (`faces.id` in db_main). */
  photoId: number;
  vector: Float32Array;
  size: number;
  yaw: number;
  score: number;
  cohort: number | null;
}

/** A person as the API lists it. */
export interface PersonSummary {
  id: number;
  modelPack: string;
  hidden: boolean;
  faceCount: number;
  photoCount: number;
  /** The best face: its photo and box (for the thumbnail). */
  representative: { faceRow: number; photoId: number; box: { x: number; y: number; width: number; height: number } } | null;
}

/** What one clustering run writes. Person ids < 0 are new persons (created in the same transaction). */
export interface ClusteringWrite {
  modelPack: string;
  /** Full re-cluster: every person of the pack is replaced. */
  replaceAll: boolean;
  /** New persons: a temporary negative id, hidden or not. */
  newPersons: { tempId: number; hidden: boolean }[];
  /** Face rows and their person (existing id, temporary negative id, or null: left unassigned). */
  faces: { faceRow: number; personId: number | null }[];
}

const literal = (v: string): Float32Array => Float32Array.from(JSON.parse(v) as number[]);

// A face's quality as the representative choice ranks it (see faceQualityScore in person-clustering.ts).
const qualityExpr = sql`least(least(fe.bbox_width, fe.bbox_height), 160) * fe.detection_score * (1 - least(1, abs(fe.yaw)))`;

/** Persons of events (db_vector): the clustering's output and the organizers' edits. */
export function createPersonRepository(db: Kysely<VectorDatabase>) {
  /** Recomputes counts and representatives of the event's persons; removes persons left with no face. */
  async function refreshStats(trx: Kysely<VectorDatabase>, eventId: number): Promise<void> {
    await sql`update event_persons p set face_count = s.faces, photo_count = s.photos, representative_face = s.rep
      from (select pf.person_id, count(*)::int as faces, count(distinct fe.face_id)::int as photos,
              (array_agg(fe.id order by ${qualityExpr} desc, fe.id))[1] as rep
            from event_person_faces pf join face_embeddings fe on fe.id = pf.face_row and fe.event_id = pf.event_id
            where pf.event_id = ${eventId} and pf.person_id is not null group by pf.person_id) s
      where p.event_id = ${eventId} and p.id = s.person_id`.execute(trx);
    // Rows of faces deleted (photo deleted or reprocessed) go; so do persons left without faces,
    // except hidden ones: their hide request stays on record.
    await sql`delete from event_person_faces pf where pf.event_id = ${eventId}
      and not exists (select 1 from face_embeddings fe where fe.id = pf.face_row and fe.event_id = pf.event_id)`.execute(trx);
    await sql`delete from event_persons p where p.event_id = ${eventId} and not p.hidden
      and not exists (select 1 from event_person_faces pf where pf.event_id = p.event_id and pf.person_id = p.id)`.execute(trx);
    await sql`update event_persons p set face_count = 0, photo_count = 0, representative_face = null where p.event_id = ${eventId}
      and not exists (select 1 from event_person_faces pf where pf.event_id = p.event_id and pf.person_id = p.id)`.execute(trx);
  }

  /** Bumps the event's version; with `expected`, only if nobody changed it since (false: someone did). */
  async function bump(trx: Transaction<VectorDatabase>, eventId: number, expected?: number, clustered = false): Promise<boolean> {
    // One writer at a time per event: the row lock serialises clustering runs and organizer edits.
    await sql`insert into event_person_state (event_id, version) values (${eventId}, 0) on conflict (event_id) do nothing`.execute(trx);
    const row = await trx.selectFrom('event_person_state').select('version').where('event_id', '=', eventId).forUpdate().executeTakeFirstOrThrow();
    if (expected !== undefined && row.version !== expected) return false;
    await trx
      .updateTable('event_person_state')
      .set({ version: row.version + 1, ...(clustered && { clustered_at: new Date() }) })
      .where('event_id', '=', eventId)
      .execute();
    return true;
  }

  return {
    async version(eventId: number): Promise<number> {
      const row = await db.selectFrom('event_person_state').select('version').where('event_id', '=', eventId).executeTakeFirst();
      return row?.version ?? 0;
    },

    /** The model packs of the event's faces and each one's own dimensions (the stored vectors are zero-padded). */
    async packs(eventId: number): Promise<{ modelPack: string; dimensions: number }[]> {
      const { rows } = await sql<{ model_pack: string; v: string }>`
        select distinct on (model_pack) model_pack, embedding::text as v from face_embeddings where event_id = ${eventId} order by model_pack, id`.execute(db);
      return rows.map((r) => {
        const v = JSON.parse(r.v) as number[];
        let dims = v.length;
        while (dims > 0 && v[dims - 1] === 0) dims--;
        // Round up to the pack's width (a multiple of 64: 128, 512): a trailing exact zero is not padding.
        return { modelPack: r.model_pack, dimensions: Math.ceil(dims / 64) * 64 };
      });
    },

    /** Every face of the event and pack, cut to `dimensions`, in row order. */
    async eventFaces(eventId: number, modelPack: string, dimensions: number): Promise<PersonFaceRow[]> {
      const { rows } = await sql<{ id: number; face_id: number; v: string; size: number; yaw: number; score: number; cohort_mean: number | null }>`
        select id, face_id, subvector(embedding, 1, ${sql.lit(dimensions)})::text as v, least(bbox_width, bbox_height) as size,
          yaw, detection_score as score, cohort_mean
        from face_embeddings where event_id = ${eventId} and model_pack = ${modelPack} order by id`.execute(db);
      return rows.map((r) => ({ rowId: r.id, photoId: r.face_id, vector: literal(r.v), size: Number(r.size), yaw: Number(r.yaw), score: Number(r.score), cohort: r.cohort_mean === null ? null : Number(r.cohort_mean) }));
    },

    /** The event's face assignments, with each person's hidden flag. */
    async assignments(eventId: number, modelPack: string): Promise<{ faceRow: number; personId: number | null; hidden: boolean }[]> {
      const rows = await db
        .selectFrom('event_person_faces as pf')
        .leftJoin('event_persons as p', (j) => j.onRef('p.event_id', '=', 'pf.event_id').onRef('p.id', '=', 'pf.person_id'))
        .select(['pf.face_row', 'pf.person_id', 'p.hidden', 'p.model_pack'])
        .where('pf.event_id', '=', eventId)
        .execute();
      return rows.filter((r) => r.person_id === null || r.model_pack === modelPack).map((r) => ({ faceRow: r.face_row, personId: r.person_id, hidden: r.hidden ?? false }));
    },

    /** Hidden persons of the event (ids), including those whose faces are all gone. */
    async hiddenPersons(eventId: number, modelPack: string): Promise<number[]> {
      const rows = await db.selectFrom('event_persons').select('id').where('event_id', '=', eventId).where('model_pack', '=', modelPack).where('hidden', '=', true).execute();
      return rows.map((r) => r.id);
    },

    /**
     * Writes a clustering run if nobody changed the event's persons since `version` was read;
     * false otherwise (the caller reads and clusters again).
     */
    async applyClustering(eventId: number, version: number, write: ClusteringWrite): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        if (!(await bump(trx, eventId, version, true))) return false;
        if (write.replaceAll) {
          await sql`delete from event_person_faces pf where pf.event_id = ${eventId} and (pf.person_id is null or pf.person_id in
            (select id from event_persons where event_id = ${eventId} and model_pack = ${write.modelPack}))`.execute(trx);
          await trx.deleteFrom('event_persons').where('event_id', '=', eventId).where('model_pack', '=', write.modelPack).execute();
        }
        const ids = new Map<number, number>();
        for (let start = 0; start < write.newPersons.length; start += 1000) {
          const chunk = write.newPersons.slice(start, start + 1000);
          const rows = await trx
            .insertInto('event_persons')
            .values(chunk.map((p) => ({ event_id: eventId, model_pack: write.modelPack, hidden: p.hidden, hidden_at: p.hidden ? new Date() : null })))
            .returning('id')
            .execute();
          rows.forEach((r, k) => ids.set(chunk[k]!.tempId, r.id));
        }
        for (let start = 0; start < write.faces.length; start += 2000) {
          const chunk = write.faces.slice(start, start + 2000);
          const rows = chunk.map((f) => ({ event_id: eventId, face_row: f.faceRow, person_id: f.personId === null ? null : f.personId < 0 ? ids.get(f.personId)! : f.personId }));
          await trx
            .insertInto('event_person_faces')
            .values(rows)
            .onConflict((oc) => oc.columns(['event_id', 'face_row']).doUpdateSet((eb) => ({ person_id: eb.ref('excluded.person_id'), manual: false })))
            .execute();
        }
        await refreshStats(trx, eventId);
        return true;
      });
    },

    async list(eventId: number): Promise<PersonSummary[]> {
      const { rows } = await sql<{ id: number; model_pack: string; hidden: boolean; face_count: number; photo_count: number; representative_face: number | null; face_id: number | null; bbox_x: number; bbox_y: number; bbox_width: number; bbox_height: number }>`
        select p.id, p.model_pack, p.hidden, p.face_count, p.photo_count, p.representative_face, fe.face_id, fe.bbox_x, fe.bbox_y, fe.bbox_width, fe.bbox_height
        from event_persons p left join face_embeddings fe on fe.id = p.representative_face and fe.event_id = p.event_id
        where p.event_id = ${eventId}
        order by p.photo_count desc, p.id`.execute(db);
      return rows.map((r) => ({
        id: r.id,
        modelPack: r.model_pack,
        hidden: r.hidden,
        faceCount: r.face_count,
        photoCount: r.photo_count,
        representative: r.representative_face !== null && r.face_id !== null ? { faceRow: r.representative_face, photoId: r.face_id, box: { x: r.bbox_x, y: r.bbox_y, width: r.bbox_width, height: r.bbox_height } } : null,
      }));
    },

    async find(eventId: number, personId: number): Promise<PersonSummary | undefined> {
      return (await this.list(eventId)).find((p) => p.id === personId);
    },

    /** The person's faces: face row, photo and box, best first. */
    async faces(eventId: number, personId: number): Promise<{ faceRow: number; photoId: number; box: { x: number; y: number; width: number; height: number } }[]> {
      const { rows } = await sql<{ id: number; face_id: number; bbox_x: number; bbox_y: number; bbox_width: number; bbox_height: number }>`
        select fe.id, fe.face_id, fe.bbox_x, fe.bbox_y, fe.bbox_width, fe.bbox_height
        from event_person_faces pf join face_embeddings fe on fe.id = pf.face_row and fe.event_id = pf.event_id
        where pf.event_id = ${eventId} and pf.person_id = ${personId}
        order by ${qualityExpr} desc, fe.id`.execute(db);
      return rows.map((r) => ({ faceRow: r.id, photoId: r.face_id, box: { x: r.bbox_x, y: r.bbox_y, width: r.bbox_width, height: r.bbox_height } }));
    },

    /** Moves every face of `from` to `into` and removes `from`; the result is hidden if either was. False if one is missing. */
    async merge(eventId: number, into: number, from: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        await bump(trx, eventId);
        const both = await trx.selectFrom('event_persons').select(['id', 'hidden', 'model_pack']).where('event_id', '=', eventId).where('id', 'in', [into, from]).execute();
        if (both.length !== 2 || both[0]!.model_pack !== both[1]!.model_pack) return false;
        const hidden = both.some((p) => p.hidden);
        await trx.updateTable('event_person_faces').set({ person_id: into, manual: true }).where('event_id', '=', eventId).where('person_id', '=', from).execute();
        await trx.deleteFrom('event_persons').where('event_id', '=', eventId).where('id', '=', from).execute();
        if (hidden) await trx.updateTable('event_persons').set({ hidden: true, hidden_at: new Date() }).where('event_id', '=', eventId).where('id', '=', into).where('hidden', '=', false).execute();
        await refreshStats(trx, eventId);
        return true;
      });
    },

    /**
     * Takes one face off its person into a new person of its own (hidden like the one it left,
     * until unhidden). The new person's id, or undefined if the face is not the person's.
     */
    async split(eventId: number, personId: number, faceRow: number): Promise<number | undefined> {
      return db.transaction().execute(async (trx) => {
        await bump(trx, eventId);
        const person = await trx.selectFrom('event_persons').select(['hidden', 'model_pack']).where('event_id', '=', eventId).where('id', '=', personId).executeTakeFirst();
        const face = await trx.selectFrom('event_person_faces').select('face_row').where('event_id', '=', eventId).where('person_id', '=', personId).where('face_row', '=', faceRow).executeTakeFirst();
        if (!person || !face) return undefined;
        const created = await trx
          .insertInto('event_persons')
          .values({ event_id: eventId, model_pack: person.model_pack, hidden: person.hidden, hidden_at: person.hidden ? new Date() : null })
          .returning('id')
          .executeTakeFirstOrThrow();
        await trx.updateTable('event_person_faces').set({ person_id: created.id, manual: true }).where('event_id', '=', eventId).where('face_row', '=', faceRow).execute();
        await refreshStats(trx, eventId);
        return created.id;
      });
    },

    /** Hides or unhides a person. False if there is no such person in the event. */
    async setHidden(eventId: number, personId: number, hidden: boolean): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        await bump(trx, eventId);
        const r = await trx
          .updateTable('event_persons')
          .set({ hidden, hidden_at: hidden ? new Date() : null })
          .where('event_id', '=', eventId)
          .where('id', '=', personId)
          .executeTakeFirst();
        return Number(r.numUpdatedRows) > 0;
      });
    },

    /** The person a face row belongs to (null: none). */
    async personOfFace(eventId: number, faceRow: number): Promise<number | null> {
      const row = await db.selectFrom('event_person_faces').select('person_id').where('event_id', '=', eventId).where('face_row', '=', faceRow).executeTakeFirst();
      return row?.person_id ?? null;
    },

    async hasHidden(eventId: number): Promise<boolean> {
      const row = await db.selectFrom('event_persons').select('id').where('event_id', '=', eventId).where('hidden', '=', true).limit(1).executeTakeFirst();
      return row !== undefined;
    },

    /**
     * Of the given face rows, those no search or live delivery may return: faces of a hidden
     * person, and faces not clustered yet (no row here) that resemble a hidden person's face at
     * `minCosine` or more — a new photo of a hidden guest is held back before the clustering job
     * has seen it.
     */
    async hiddenAmong(eventId: number, faceRows: number[], minCosine: number): Promise<Set<number>> {
      if (faceRows.length === 0) return new Set();
      const { rows } = await sql<{ id: number }>`
        select fe.id from face_embeddings fe
        where fe.event_id = ${eventId} and fe.id = any(${faceRows}::int[])
          and (
            exists (select 1 from event_person_faces pf join event_persons p on p.event_id = pf.event_id and p.id = pf.person_id
                    where pf.event_id = fe.event_id and pf.face_row = fe.id and p.hidden)
            or (not exists (select 1 from event_person_faces pf where pf.event_id = fe.event_id and pf.face_row = fe.id)
                and exists (select 1 from event_person_faces pf
                            join event_persons p on p.event_id = pf.event_id and p.id = pf.person_id and p.hidden
                            join face_embeddings he on he.id = pf.face_row and he.event_id = pf.event_id
                            where pf.event_id = fe.event_id and he.model_pack = fe.model_pack
                              and (he.embedding <=> fe.embedding) <= ${1 - minCosine})))`.execute(db);
      return new Set(rows.map((r) => r.id));
    },

    /** Everything of the event's persons (the event is being deleted). */
    async deleteByEvent(eventId: number): Promise<void> {
      await db.deleteFrom('event_person_faces').where('event_id', '=', eventId).execute();
      await db.deleteFrom('event_persons').where('event_id', '=', eventId).execute();
      await db.deleteFrom('event_person_state').where('event_id', '=', eventId).execute();
    },

    /** Coverage figures of the event: persons in one photo, in many, and hidden. */
    async coverage(eventId: number, many: number): Promise<{ persons: number; singlePhoto: number; manyPhotos: number; hidden: number; unassignedFaces: number }> {
      const { rows } = await sql<{ persons: number; single: number; many: number; hidden: number }>`
        select count(*)::int as persons, count(*) filter (where photo_count = 1)::int as single,
          count(*) filter (where photo_count >= ${many})::int as many, count(*) filter (where hidden)::int as hidden
        from event_persons where event_id = ${eventId} and face_count > 0`.execute(db);
      const { rows: un } = await sql<{ n: number }>`select count(*)::int as n from event_person_faces where event_id = ${eventId} and person_id is null`.execute(db);
      const r = rows[0]!;
      return { persons: r.persons, singlePhoto: r.single, manyPhotos: r.many, hidden: r.hidden, unassignedFaces: un[0]!.n };
    },
  };
}
export type PersonRepository = ReturnType<typeof createPersonRepository>;
