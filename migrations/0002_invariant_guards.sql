-- Invariants that span aggregates, enforced inside the append transaction (ADR 0001).
--
-- cqrs-es appends one aggregate's events in its own transaction, so a check made before the
-- append (is this name free? is the author a member?) races with concurrent appends. These guard
-- tables are maintained by a BEFORE INSERT trigger on `events`, in the same transaction as the
-- event, and the unique index / row lock makes the loser of a race fail instead of both winning.
-- They hold only what the rules need and can be rebuilt from the log like any read table.

-- The case-insensitive form names and addresses are unique in, and logins look up by.
-- ICU's root locale folds all of Unicode (É/é, Σ/σ) whatever the database's own locale is; a
-- plain lower() under the C locale folds ASCII only.
CREATE FUNCTION identity_key(raw text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN lower(raw COLLATE "und-x-icu");

-- Live users' identities; a deleted user's name and address become free again.
CREATE TABLE user_identity_claims (
    user_id      uuid PRIMARY KEY,
    username_key text NOT NULL UNIQUE,  -- identity_key(username)
    email_key    text NOT NULL UNIQUE   -- identity_key(email)
);

-- Live channels and their current owner.
CREATE TABLE channel_guard (
    channel_id uuid PRIMARY KEY,
    owner_id   uuid NOT NULL
);

-- Current members of live channels.
CREATE TABLE channel_member_guard (
    channel_id uuid NOT NULL,
    user_id    uuid NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);

-- Error codes (class ZY, ours): ZY001 identity taken, ZY002 author not a member, ZY003 the
-- user joining or receiving a channel does not exist (or was just deleted).
-- FOR SHARE conflicts with UserDeleted's DELETE of the claim, so a join (or ownership transfer)
-- and the user's deletion serialise: the join either lands while the user exists or fails.
CREATE FUNCTION require_live_user(candidate uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM user_identity_claims WHERE user_id = candidate FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'user % does not exist', candidate USING ERRCODE = 'ZY003';
    END IF;
END $$;

CREATE FUNCTION events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- postgres-es stores the externally tagged enum: {"<EventType>": {...fields}}.
    body jsonb := NEW.payload -> NEW.event_type;
BEGIN
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
             WHERE user_id = NEW.aggregate_id::uuid;
        EXCEPTION WHEN unique_violation THEN
            RAISE EXCEPTION 'username or email already registered' USING ERRCODE = 'ZY001';
        END;
    WHEN 'UserDeleted' THEN
        DELETE FROM user_identity_claims WHERE user_id = NEW.aggregate_id::uuid;
    WHEN 'ChannelCreated' THEN
        INSERT INTO channel_guard (channel_id, owner_id)
        VALUES (NEW.aggregate_id::uuid, (body ->> 'owner_id')::uuid);
    WHEN 'ChannelOwnershipTransferred' THEN
        PERFORM require_live_user((body ->> 'new_owner_id')::uuid);
        UPDATE channel_guard SET owner_id = (body ->> 'new_owner_id')::uuid
         WHERE channel_id = NEW.aggregate_id::uuid;
    WHEN 'ChannelDeleted' THEN
        DELETE FROM channel_member_guard WHERE channel_id = NEW.aggregate_id::uuid;
        DELETE FROM channel_guard WHERE channel_id = NEW.aggregate_id::uuid;
    WHEN 'MemberJoined' THEN
        PERFORM require_live_user((body ->> 'user_id')::uuid);
        INSERT INTO channel_member_guard (channel_id, user_id)
        VALUES (NEW.aggregate_id::uuid, (body ->> 'user_id')::uuid)
        ON CONFLICT DO NOTHING;
    WHEN 'MemberLeft' THEN
        DELETE FROM channel_member_guard
         WHERE channel_id = NEW.aggregate_id::uuid AND user_id = (body ->> 'user_id')::uuid;
    WHEN 'TextMessagePosted', 'FileMessagePosted' THEN
        -- FOR SHARE conflicts with MemberLeft's DELETE, so a post and a leave serialise: the
        -- post either lands while the author is a member or fails.
        PERFORM 1 FROM channel_member_guard
          WHERE channel_id = (body ->> 'channel_id')::uuid AND user_id = (body ->> 'author_id')::uuid
          FOR SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'author is not a member of the channel' USING ERRCODE = 'ZY002';
        END IF;
    ELSE
        NULL;
    END CASE;
    RETURN NEW;
END $$;

CREATE TRIGGER events_guard
    BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_guard();
