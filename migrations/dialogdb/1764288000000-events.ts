import { MigrationInterface, QueryRunner } from 'typeorm';

export class Events1764288000000 implements MigrationInterface {
  name = 'Events1764288000000';

  async up(q: QueryRunner): Promise<void> {
    // The live stream's log: every instance appends the events its writes produce and reads
    // what all of them appended (id > the last it read). `recipients` are the dialog's
    // participants, so a reader fans out with no lookup. `payload` is json, not jsonb: it is
    // never queried inside, and json keeps the text (and key order) the REST API writes.
    await q.query(`
      CREATE TABLE events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        dialog_id uuid,
        recipients varchar(64)[] NOT NULL,
        type text NOT NULL,
        payload json NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    // The prune deletes by age; without this it would scan the whole window each time.
    await q.query(`CREATE INDEX events_created_at ON events (created_at)`);
    // One call per batch, in one round trip, committing on return. The lock (held to the
    // commit) makes appends take turns, so ids become visible in id order and a reader's
    // `id > last` skips nothing (EventsRepository.append says why); ORDER BY n gives the
    // batch's rows their ids in the order they were published. The notification carries the
    // rows themselves when they fit in one (8000 bytes), so no listener reads them back: an
    // append then costs every instance nothing but the notification. A larger batch
    // notifies with no payload, and listeners read the log.
    await q.query(`
      CREATE FUNCTION append_events(batch json) RETURNS void LANGUAGE plpgsql AS $$
      DECLARE
        appended text;
      BEGIN
        PERFORM pg_advisory_xact_lock(7240004);
        WITH added AS (
          INSERT INTO events (dialog_id, recipients, type, payload)
          SELECT (e->>'d')::uuid, ARRAY(SELECT json_array_elements_text(e->'r')), e->>'t', e->'p'
          FROM json_array_elements(batch) WITH ORDINALITY AS x(e, n) ORDER BY n
          RETURNING id, recipients, type, payload
        )
        SELECT json_agg(json_build_object('i', id, 'r', recipients, 't', type, 'p', payload::text) ORDER BY id)::text INTO appended FROM added;
        PERFORM pg_notify('chat_events', CASE WHEN octet_length(appended) <= 7900 THEN appended END);
      END $$`);
    // The highest id the prune has deleted: a client resuming from an older id may have
    // missed events, and is told to resync instead.
    await q.query(`CREATE TABLE event_horizon (one boolean PRIMARY KEY DEFAULT true CHECK (one), pruned_through bigint NOT NULL)`);
    await q.query(`INSERT INTO event_horizon (pruned_through) VALUES (0)`);
    // What each instance's streams amount to, with its heartbeat, for the state page.
    await q.query(`ALTER TABLE instances ADD COLUMN live_streams integer NOT NULL DEFAULT 0, ADD COLUMN events_sent bigint NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE instances DROP COLUMN live_streams, DROP COLUMN events_sent`);
    await q.query(`DROP FUNCTION append_events(json)`);
    await q.query(`DROP TABLE event_horizon`);
    await q.query(`DROP TABLE events`);
  }
}
