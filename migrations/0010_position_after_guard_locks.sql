-- 0008 took the transaction id in the guard trigger, after the guard's locks, so that of two
-- conflicting appends the one that waited has the larger id. But `global_position` was an
-- identity column: its `nextval` ran when the row was formed, before any BEFORE trigger, and
-- `nextval` assigns the transaction its id whenever it writes the sequence to the WAL (every 32nd
-- value, and the first after each checkpoint). Such an append had its id before it waited: a
-- channel's deletion could take id 100 that way, wait for a post holding the channel's shared
-- lock, and the post (id 101, member check passed) then stood after the deletion in the log.
-- Found by CI on `log_order::posts_racing_a_channels_deletion_leave_no_rows_behind`.
--
-- The position is now taken by a trigger of its own, `events_position`. Triggers of one event
-- fire in name order, so it runs after `events_guard` (g < p), that is after the locks and the
-- transaction id; `nextval` then has nothing left to assign early. Positions stay unique and
-- increasing within a transaction; across transactions the feed orders by tx_id first, as before.

ALTER TABLE events ALTER COLUMN global_position DROP IDENTITY;  -- drops its sequence
ALTER TABLE events ALTER COLUMN global_position SET NOT NULL;

CREATE SEQUENCE events_global_position_seq AS bigint OWNED BY events.global_position;
-- The migration holds the table exclusively (ALTER TABLE above), so no append races this.
SELECT setval('events_global_position_seq', coalesce(max(global_position), 0) + 1, false) FROM events;

CREATE FUNCTION events_position() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.global_position := nextval('events_global_position_seq');
    RETURN NEW;
END $$;

CREATE TRIGGER events_position
    BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_position();
