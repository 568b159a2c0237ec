-- Live delivery decides what a user may see from their channel memberships *as of* a feed
-- position (a resumed socket must not see a channel's events from before they joined). That
-- replays the user's MemberJoined/MemberLeft events; this index finds them without a scan.
CREATE INDEX events_membership_by_user ON events ((payload -> event_type ->> 'user_id'))
    WHERE aggregate_type = 'Channel' AND event_type IN ('MemberJoined', 'MemberLeft');

