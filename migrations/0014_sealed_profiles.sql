-- Personal data of users is sealed in the log (ARCHITECTURE.md "Personal data", ADR 0010):
-- usernames, e-mail addresses, names, bios and pictures in the payload, and the client address
-- in the metadata. The identity guard (0002, 0008) read the username and e-mail from the payload;
-- it now reads them from `metadata.identity`, where the command side puts the new values in the
-- clear for the append's own triggers only: events_keys removes them before the row is stored,
-- so they never enter the log (only the guard's own table, which erasure empties).
--
-- `UserErased` (a user's right to be forgotten) releases the identity like `UserDeleted`, and
-- destroys the user's data key and the keys of every message they wrote.

-- The new username or e-mail an event claims: from the metadata, or from a payload written in the
-- clear (before sealing; never a sealed value).
CREATE FUNCTION claimed_identity(event events, field text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        event.metadata -> 'identity' ->> field,
        CASE WHEN jsonb_typeof(event.payload -> event.event_type -> field) = 'string'
             THEN event.payload -> event.event_type ->> field END,
        CASE WHEN jsonb_typeof(event.payload -> event.event_type -> 'changes' -> field) = 'string'
             THEN event.payload -> event.event_type -> 'changes' ->> field END)
$$;

CREATE OR REPLACE FUNCTION events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- postgres-es stores the externally tagged enum: {"<EventType>": {...fields}}.
    body    jsonb := NEW.payload -> NEW.event_type;
    subject text  := NEW.aggregate_id;
    origin  record;
    claim   record;
    owner   uuid;
    -- A user's new username and e-mail: sealed in the payload, so the command side passes them
    -- beside it (`metadata.identity`, removed by events_keys before the row is stored).
    username text := claimed_identity(NEW, 'username');
    email    text := claimed_identity(NEW, 'email');
BEGIN
    -- 1. Locks, before this transaction has an id.
    CASE NEW.aggregate_type
    WHEN 'Channel' THEN
        PERFORM take_guard_locks(
            ARRAY[guard_key('user', body ->> 'user_id'), guard_key('user', body ->> 'new_owner_id'),
                  guard_key('user', body ->> 'owner_id')],
            ARRAY[guard_key('channel', subject)]);
    WHEN 'Message' THEN
        IF NEW.event_type IN ('TextMessagePosted', 'FileMessagePosted') THEN
            PERFORM take_guard_locks(
                ARRAY[guard_key('channel', body ->> 'channel_id'), guard_key('user', body ->> 'author_id')],
                ARRAY[]::bigint[]);
        ELSE
            SELECT * INTO origin FROM message_origin(subject);
            PERFORM take_guard_locks(ARRAY[guard_key('channel', origin.channel_id::text)], ARRAY[]::bigint[]);
        END IF;
    WHEN 'User' THEN
        SELECT username_key, email_key INTO claim FROM user_identity_claims WHERE user_id = subject::uuid;
        PERFORM take_guard_locks(
            ARRAY[]::bigint[],
            ARRAY[guard_key('user', subject),
                  guard_key('identity', claim.username_key), guard_key('identity', claim.email_key),
                  guard_key('identity', identity_key(username)),
                  guard_key('identity', identity_key(email))]);
    ELSE
        NULL;
    END CASE;

    -- 2. The transaction id, now that everything this append conflicts with is ordered.
    NEW.tx_id := pg_current_xact_id();

    -- 3. The rules (as in 0002, plus edits and deletions of messages).
    CASE NEW.event_type
    WHEN 'UserRegistered' THEN
        BEGIN
            INSERT INTO user_identity_claims (user_id, username_key, email_key)
            VALUES ((body ->> 'user_id')::uuid, identity_key(username), identity_key(email));
        EXCEPTION WHEN unique_violation THEN
            RAISE EXCEPTION 'username or email already registered' USING ERRCODE = 'ZY001';
        END;
    WHEN 'UserProfileUpdated' THEN
        BEGIN
            UPDATE user_identity_claims
               SET username_key = coalesce(identity_key(username), username_key),
                   email_key    = coalesce(identity_key(email), email_key)
             WHERE user_id = subject::uuid;
        EXCEPTION WHEN unique_violation THEN
            RAISE EXCEPTION 'username or email already registered' USING ERRCODE = 'ZY001';
        END;
    WHEN 'UserDeleted', 'UserErased' THEN
        DELETE FROM user_identity_claims WHERE user_id = subject::uuid;
    WHEN 'ChannelCreated' THEN
        PERFORM require_live_user((body ->> 'owner_id')::uuid);
        INSERT INTO channel_guard (channel_id, owner_id)
        VALUES (subject::uuid, (body ->> 'owner_id')::uuid);
    WHEN 'ChannelOwnershipTransferred' THEN
        PERFORM require_live_user((body ->> 'new_owner_id')::uuid);
        UPDATE channel_guard SET owner_id = (body ->> 'new_owner_id')::uuid
         WHERE channel_id = subject::uuid;
    WHEN 'ChannelDeleted' THEN
        DELETE FROM channel_member_guard WHERE channel_id = subject::uuid;
        DELETE FROM channel_guard WHERE channel_id = subject::uuid;
    WHEN 'MemberJoined' THEN
        PERFORM require_live_user((body ->> 'user_id')::uuid);
        INSERT INTO channel_member_guard (channel_id, user_id)
        VALUES (subject::uuid, (body ->> 'user_id')::uuid)
        ON CONFLICT DO NOTHING;
    WHEN 'MemberLeft' THEN
        DELETE FROM channel_member_guard
         WHERE channel_id = subject::uuid AND user_id = (body ->> 'user_id')::uuid;
    WHEN 'TextMessagePosted', 'FileMessagePosted' THEN
        -- A member of a live channel (ChannelDeleted removes its members) who still exists. The
        -- locks above keep both true until commit, so no row lock is needed.
        PERFORM 1 FROM channel_member_guard
          WHERE channel_id = (body ->> 'channel_id')::uuid AND user_id = (body ->> 'author_id')::uuid;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'author is not a member of the channel' USING ERRCODE = 'ZY002';
        END IF;
        PERFORM require_live_user((body ->> 'author_id')::uuid);
    WHEN 'MessageEdited' THEN
        PERFORM 1 FROM channel_guard WHERE channel_id = origin.channel_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the message''s channel is gone' USING ERRCODE = 'ZY005';
        END IF;
        PERFORM 1 FROM channel_member_guard
          WHERE channel_id = origin.channel_id AND user_id = origin.author_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the author is no longer a member' USING ERRCODE = 'ZY004';
        END IF;
    WHEN 'MessageDeleted' THEN
        SELECT g.owner_id INTO owner FROM channel_guard g WHERE g.channel_id = origin.channel_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the message''s channel is gone' USING ERRCODE = 'ZY005';
        END IF;
        -- Authors may delete what they wrote even after leaving; anyone else must own the channel.
        IF (body ->> 'deleted_by')::uuid IS DISTINCT FROM origin.author_id
           AND (body ->> 'deleted_by')::uuid IS DISTINCT FROM owner THEN
            RAISE EXCEPTION 'only the author or the channel owner may delete a message' USING ERRCODE = 'ZY004';
        END IF;
    ELSE
        NULL;
    END CASE;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION events_keys() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    fresh jsonb := NEW.metadata -> 'data_key';
BEGIN
    -- Read by events_guard, which runs first (triggers run in name order); never stored.
    NEW.metadata := NEW.metadata - 'identity';
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
    ELSIF NEW.aggregate_type = 'User' AND NEW.event_type = 'UserErased' THEN
        -- The user's own key (profile, client addresses) and their messages' keys.
        PERFORM forget_posts(ARRAY(SELECT subject_id FROM data_keys WHERE owner_id = NEW.aggregate_id::uuid));
        DELETE FROM data_keys
         WHERE owner_id = NEW.aggregate_id::uuid OR subject_id = NEW.aggregate_id::uuid;
    END IF;
    RETURN NEW;
END $$;
