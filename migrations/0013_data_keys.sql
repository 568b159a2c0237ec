-- The data keys of personal data (ARCHITECTURE.md, "Personal data"; docs/personal-data.md):
-- one per subject whose personal fields the log seals, wrapped by the master key (which never
-- enters the database). Destroying a row erases what its key sealed, in every event, backup and
-- rebuild; the events themselves never change.
CREATE TABLE data_keys (
    subject_id uuid        PRIMARY KEY,   -- a message's id
    owner_id   uuid        NOT NULL,      -- whose data it is: the author
    channel_id uuid,                      -- a message's channel: its deletion destroys the key
    wrapped    bytea       NOT NULL,      -- nonce ‖ XChaCha20-Poly1305(master key, data key)
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX data_keys_by_owner ON data_keys (owner_id);
CREATE INDEX data_keys_by_channel ON data_keys (channel_id) WHERE channel_id IS NOT NULL;

-- A post sent with an Idempotency-Key keeps its 201 body for retries (migration 0007, a day at
-- most). Once the message is deleted, that copy forgets its text and file name as well: a retry
-- still gets the original answer (no second post), without them.
CREATE INDEX idempotency_keys_by_message ON idempotency_keys (message_id);
CREATE FUNCTION forget_posts(messages uuid[]) RETURNS void LANGUAGE sql AS $$
    UPDATE idempotency_keys
       SET response = response || '{"content": null, "original_filename": null}'::jsonb
     WHERE message_id = ANY(messages) AND response IS NOT NULL;
$$;

-- Keys are kept and destroyed in the append's own transaction, so no event can be stored
-- without its key, and no key outlives the deletion that destroys it:
-- - a new key comes in the event's metadata as `data_key` ({owner, channel, wrapped}); it is
--   moved here and removed from the metadata before the row is stored, so it never enters the
--   log. A key already kept for the subject wins (a losing concurrent append fails on the
--   stream's sequence anyway);
-- - MessageDeleted destroys its message's key; ChannelDeleted the keys of the channel's messages.
CREATE FUNCTION events_keys() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    fresh jsonb := NEW.metadata -> 'data_key';
BEGIN
    IF fresh IS NOT NULL THEN
        INSERT INTO data_keys (subject_id, owner_id, channel_id, wrapped)
        VALUES (NEW.aggregate_id::uuid, (fresh ->> 'owner')::uuid, (fresh ->> 'channel')::uuid,
                decode(fresh ->> 'wrapped', 'base64'))
        ON CONFLICT (subject_id) DO NOTHING;
        NEW.metadata := NEW.metadata - 'data_key';
    END IF;
    IF NEW.aggregate_type = 'Message' AND NEW.event_type = 'MessageDeleted' THEN
        PERFORM forget_posts(ARRAY[NEW.aggregate_id::uuid]);
        DELETE FROM data_keys WHERE subject_id = NEW.aggregate_id::uuid;
    ELSIF NEW.aggregate_type = 'Channel' AND NEW.event_type = 'ChannelDeleted' THEN
        PERFORM forget_posts(ARRAY(SELECT subject_id FROM data_keys WHERE channel_id = NEW.aggregate_id::uuid));
        DELETE FROM data_keys WHERE channel_id = NEW.aggregate_id::uuid;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER events_keys
    BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_keys();
