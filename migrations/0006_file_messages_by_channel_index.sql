-- Deleting a channel removes the stored objects of its file messages. Their keys are read from
-- the log after the deletion (the read table drops a deleted channel's messages with the
-- deletion itself, and a file posted just before it may not have reached the read table when
-- the request began); this index finds one channel's FileMessagePosted events without a scan.
CREATE INDEX events_file_messages_by_channel ON events ((payload -> event_type ->> 'channel_id'))
    WHERE aggregate_type = 'Message' AND event_type = 'FileMessagePosted';
