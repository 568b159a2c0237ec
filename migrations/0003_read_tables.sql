-- Read tables, written only by the projectors in projections/ from the event feed. Any of them
-- can be dropped and rebuilt from `events`. No foreign keys: each projection advances on its own.

-- One row per projection: how far into the feed its tables reflect. Written in the same
-- transaction as the rows, so a crash never leaves rows and checkpoint out of step.
CREATE TABLE projection_checkpoints (
    name          text PRIMARY KEY,
    last_tx       xid8        NOT NULL DEFAULT '0',
    last_position bigint      NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_error    text
);

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    username        text        NOT NULL,
    email           text        NOT NULL,
    first_name      text,
    last_name       text,
    bio             text,
    profile_picture text,
    status          text        NOT NULL CHECK (status IN ('active', 'suspended', 'deleted')),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
-- GET /users/ lists live users in registration order.
CREATE INDEX users_listing ON users (created_at, id) WHERE status <> 'deleted';

CREATE TABLE channels (
    id          uuid PRIMARY KEY,
    name        text        NOT NULL,
    description text,
    owner_id    uuid        NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX channels_listing ON channels (created_at, id);
CREATE INDEX channels_by_owner ON channels (owner_id);

CREATE TABLE channel_members (
    channel_id uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    joined_at  timestamptz NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);
-- "Channels I belong to" and shared memberships.
CREATE INDEX channel_members_by_user ON channel_members (user_id, channel_id);

CREATE TABLE messages (
    id                uuid PRIMARY KEY,
    channel_id        uuid        NOT NULL,
    author_id         uuid        NOT NULL,
    message_type      text        NOT NULL,
    content           text,
    s3_key            text,
    content_type      text,
    original_filename text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
-- A channel's history in time order, for offset and keyset (before/after) pages.
CREATE INDEX messages_channel_history ON messages (channel_id, created_at, id);
-- A user's messages across channels.
CREATE INDEX messages_by_author ON messages (author_id, created_at, id);
