import { sql, type Kysely } from 'kysely';

/**
 * People in an event (issue #15): every face of an event grouped into persons.
 * - `event_persons`: one row per person of an event (hidden = the "do not find me" request).
 * - `event_person_faces`: which person each face row (`face_embeddings.id`) belongs to; a null
 *   person is a face the clustering saw and left unassigned (too small or turned to tell).
 * - `event_person_state`: a version bumped by every change, so a clustering run that read the
 *   event before an organizer's merge or split does not write over it (it reads again).
 * Every key includes `event_id` (the tables can be distributed by event like face_embeddings);
 * no foreign keys to face_embeddings: rows of faces deleted meanwhile are skipped and cleaned by
 * the next run.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE IF NOT EXISTS event_persons (
    event_id integer NOT NULL,
    id serial NOT NULL,
    model_pack varchar NOT NULL,
    hidden boolean NOT NULL DEFAULT false,
    hidden_at timestamptz,
    representative_face integer,
    face_count integer NOT NULL DEFAULT 0,
    photo_count integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_event_persons PRIMARY KEY (event_id, id)
  )`.execute(db);
  await sql`CREATE TABLE IF NOT EXISTS event_person_faces (
    event_id integer NOT NULL,
    face_row integer NOT NULL,
    person_id integer,
    manual boolean NOT NULL DEFAULT false,
    CONSTRAINT pk_event_person_faces PRIMARY KEY (event_id, face_row)
  )`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS idx_event_person_faces_person ON event_person_faces (event_id, person_id)`.execute(db);
  await sql`CREATE TABLE IF NOT EXISTS event_person_state (
    event_id integer NOT NULL,
    version integer NOT NULL DEFAULT 0,
    clustered_at timestamptz,
    CONSTRAINT pk_event_person_state PRIMARY KEY (event_id)
  )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS event_person_state`.execute(db);
  await sql`DROP TABLE IF EXISTS event_person_faces`.execute(db);
  await sql`DROP TABLE IF EXISTS event_persons`.execute(db);
}
