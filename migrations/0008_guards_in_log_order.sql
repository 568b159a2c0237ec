-- The guards of 0002 decide with row locks, but the feed orders events by transaction id, which
-- a transaction took when it evaluated `tx_id`'s default: before the guard ran, and so before it
-- waited for any lock. Two transactions could take their ids in one order and their locks in the
-- other, and the log then showed a post after its author's leave, or after its channel's
-- deletion, although the guard had let it in before (ADR 0005).
--
-- Here every append first takes advisory locks on what its rules read or change, in one global
-- order, and only then takes its transaction id (the trigger sets `tx_id`; the default is gone).
-- Advisory locks assign no transaction id, so of two conflicting appends the one that waited
-- gets the larger id: the feed's order is the order in which the rules were checked.
--
--   channel C   exclusive: every event of the channel aggregate (creation, updates, joins, leaves,
--               ownership, deletion); shared: every event of a message in C.
--   user U      exclusive: UserDeleted; shared: posts by U, U joining or receiving a channel.
--   identity K  exclusive: registering, taking or releasing a username or e-mail (K is its
--               identity_key), so a name released by one user and taken by another are ordered.
--
-- Commands emit their events in one transaction, and only the channel aggregate emits more than
-- one (a transfer's implicit join, a creation's owner join); its first event already holds the
-- channel exclusively, so no lock that matters is taken after the transaction id.

ALTER TABLE events ALTER COLUMN tx_id DROP DEFAULT;

-- Advisory lock keys: one 64-bit space, named by kind so a user and a channel never share one.
CREATE FUNCTION guard_key(kind text, name text) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN hashtextextended(kind || ':' || name, 0);

-- Takes the given locks in ascending key order (every append orders the same way, so two appends
-- never wait for each other in a cycle). A key in both lists is taken exclusively.
CREATE FUNCTION take_guard_locks(shared_keys bigint[], exclusive_keys bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    lock record;
BEGIN
    FOR lock IN
        SELECT key, bool_or(exclusive) AS exclusive
          FROM (SELECT unnest(shared_keys) AS key, false AS exclusive
                UNION ALL
                SELECT unnest(exclusive_keys), true) wanted
         WHERE key IS NOT NULL
         GROUP BY key
         ORDER BY key
    LOOP
        IF lock.exclusive THEN
            PERFORM pg_advisory_xact_lock(lock.key);
        ELSE
            PERFORM pg_advisory_xact_lock_shared(lock.key);
        END IF;
    END LOOP;
END $$;

-- The channel and author of a message, from its first event (the primary key finds it).
CREATE FUNCTION message_origin(message_id text) RETURNS TABLE (channel_id uuid, author_id uuid)
    LANGUAGE sql STABLE AS $$
    SELECT (payload -> event_type ->> 'channel_id')::uuid, (payload -> event_type ->> 'author_id')::uuid
      FROM events
     WHERE aggregate_type = 'Message' AND aggregate_id = message_id AND sequence = 1
$$;

-- Error codes added here: ZY004 the actor may not do this to the message (no longer a member, or
-- no longer the channel's owner); ZY005 the message's channel is gone.
CREATE OR REPLACE FUNCTION events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- postgres-es stores the externally tagged enum: {"<EventType>": {...fields}}.
    body    jsonb := NEW.payload -> NEW.event_type;
    subject text  := NEW.aggregate_id;
    origin  record;
    claim   record;
    owner   uuid;
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
                  guard_key('identity', identity_key(coalesce(body ->> 'username', body -> 'changes' ->> 'username'))),
                  guard_key('identity', identity_key(coalesce(body ->> 'email', body -> 'changes' ->> 'email')))]);
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
            VALUES ((body ->> 'user_id')::uuid, identity_key(body ->> 'username'), identity_key(body ->> 'email'));
        EXCEPTION WHEN unique_violation THEN
            RAISE EXCEPTION 'username or email already registered' USING ERRCODE = 'ZY001';
        END;
    WHEN 'UserProfileUpdated' THEN
        BEGIN
            UPDATE user_identity_claims
               SET username_key = coalesce(identity_key(body -> 'changes' ->> 'username'), username_key),
                   email_key    = coalesce(identity_key(body -> 'changes' ->> 'email'), email_key)
             WHERE user_id = subject::uuid;
        EXCEPTION WHEN unique_violation THEN
            RAISE EXCEPTION 'username or email already registered' USING ERRCODE = 'ZY001';
        END;
    WHEN 'UserDeleted' THEN
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
