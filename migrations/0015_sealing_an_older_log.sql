-- The one rewrite of the log ever allowed (ADR 0011): sealing the personal data of events written
-- before personal data was sealed (`zync keys seal-log`). Everything else stays refused.
--
-- An UPDATE passes only inside a transaction that said `SET LOCAL zync.rewrite =
-- 'seal-personal-data'`, and only if it changes nothing but `payload` and `metadata`: the
-- event's identity, type, version, place in the feed and time stay exactly as recorded. DELETE
-- and TRUNCATE stay refused always.
CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND current_setting('zync.rewrite', true) = 'seal-personal-data'
       AND (NEW.aggregate_type, NEW.aggregate_id, NEW.sequence, NEW.event_type, NEW.event_version,
            NEW.global_position, NEW.tx_id, NEW.recorded_at)
           IS NOT DISTINCT FROM
           (OLD.aggregate_type, OLD.aggregate_id, OLD.sequence, OLD.event_type, OLD.event_version,
            OLD.global_position, OLD.tx_id, OLD.recorded_at)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the event store is append-only (% refused)', TG_OP
        USING ERRCODE = 'ZY000';
END $$;
