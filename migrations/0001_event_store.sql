-- The event store: the source of truth, kept forever.
--
-- The first seven columns are postgres-es 0.5's `events` table (jsonb instead of json so the
-- guard trigger and audit queries can index into payloads). postgres-es names its insert columns,
-- so the three columns after them are filled by their defaults without changing the crate.
CREATE TABLE events (
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    sequence        bigint      NOT NULL CHECK (sequence >= 0),
    event_type      text        NOT NULL,
    event_version   text        NOT NULL,
    payload         jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    -- Global order. Taken at insert, not at commit, so a reader that only asks for
    -- "position > N" can skip a row that commits late; readers also filter by tx_id
    -- (see projections/src/feed.rs).
    global_position bigint      GENERATED ALWAYS AS IDENTITY,
    -- The appending transaction; rows whose tx_id is below the snapshot xmin are final.
    tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

CREATE UNIQUE INDEX events_global_position ON events (global_position);
-- The feed reads in (tx_id, global_position) order from a checkpoint.
CREATE INDEX events_feed_order ON events (tx_id, global_position);

-- Append-only: history is audit evidence, so nothing may rewrite it.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event store is append-only (% refused)', TG_OP
        USING ERRCODE = 'ZY000';
END $$;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- Wake feed readers on every node. One notification per appending statement; Postgres folds
-- identical payloads within a transaction, and delivers them only at commit.
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('zync_events', '');
    RETURN NULL;
END $$;

CREATE TRIGGER events_notify
    AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();
