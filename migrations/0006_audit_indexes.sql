-- Audit replay (`zync audit replay`, GET /v1/channels/{id}/history) selects events by channel
-- and by acting user without scanning the whole log.

-- A channel's events include those of every message posted in it, but only a message's first
-- event names its channel (edits and deletions do not). The posts are the way in: this index finds
-- a channel's posts, and the primary key then each of those messages' streams.
CREATE INDEX events_posts_by_channel ON events ((payload -> event_type ->> 'channel_id'))
    WHERE aggregate_type = 'Message' AND event_type IN ('TextMessagePosted', 'FileMessagePosted');

-- Every command records its acting user in the metadata (src/commands.rs, `audit_metadata`):
-- "everything this user did" is a lookup, not a scan.
CREATE INDEX events_by_actor ON events ((metadata ->> 'actor_id'));
