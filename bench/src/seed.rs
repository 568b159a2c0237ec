//! A synthetic but valid chat history, written straight into the event store with set-based SQL
//! (through the guard trigger, so every event obeys the same invariants as one the app appends).
//!
//! Shape, for a target of N events: N/1000 users, N/10000 channels of 20 members each, and
//! messages filling the rest, of which 5% are later edited and 2% deleted; then 10% of users
//! update their profile and 1% of channels are deleted (taking their messages and members
//! with them). Ids are derived from numbers (`md5`), so runs are repeatable.

use sqlx::PgPool;

/// Members per channel (the owner is the first).
const MEMBERS: i64 = 20;
/// Posts per statement: each chunk is one transaction, as a busy server's log has many.
const CHUNK: i64 = 50_000;

#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub users: i64,
    pub channels: i64,
    pub posts: i64,
}

impl Shape {
    /// One channel of 20 members holding `live` messages that are not deleted (the history
    /// workload's channel): `posts` are `live` / 0.98, since 2% are deleted.
    pub fn single_channel(live: i64) -> Self {
        Self {
            users: MEMBERS,
            channels: 1,
            posts: live * 50 / 49,
        }
    }

    /// The shape whose log has about `events` events.
    pub fn for_events(events: i64) -> Self {
        let users = (events / 1000).max(MEMBERS);
        let channels = (events / 10_000).max(2);
        let fixed = users + users / 10 + channels * (1 + MEMBERS) + channels / 100;
        // A post brings 1.07 events on average (5% edited, 2% deleted).
        let posts = ((events - fixed).max(0) * 100 / 107).max(1);
        Self {
            users,
            channels,
            posts,
        }
    }
}

/// `md5('<kind><n>')::uuid`: a repeatable id.
fn id(kind: &str, n: &str) -> String {
    format!("md5('{kind}' || ({n}))::uuid")
}

/// Common columns: metadata and time derived from a running number `n`.
fn meta(actor: &str, n: &str) -> String {
    format!(
        "jsonb_build_object('actor_id', {actor}, 'request_id', {req}, 'client_addr', '127.0.0.1',
                            'timestamp', timestamptz '2026-01-01' + ({n}) * interval '1 ms'),
         timestamptz '2026-01-01' + ({n}) * interval '1 ms'",
        req = id("req", n)
    )
}

const INSERT: &str = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                                        payload, metadata, recorded_at)";

/// Writes the history; returns the number of events in the log.
pub async fn seed(pool: &PgPool, shape: Shape) -> Result<i64, sqlx::Error> {
    let Shape {
        users,
        channels,
        posts,
    } = shape;
    let user = |n: &str| id("user", n);
    let owner = |c: &str| user(&format!("(({c}) * 7) % {users}"));
    let statements = [
        // Users.
        format!(
            "{INSERT} SELECT 'User', {u}::text, 1, 'UserRegistered', '1',
                jsonb_build_object('UserRegistered', jsonb_build_object('user_id', {u}, 'username', 'user' || i,
                    'email', 'user' || i || '@bench.example', 'first_name', 'User', 'last_name', i::text,
                    'bio', null, 'profile_picture', null)),
                {m}
              FROM generate_series(0, {users} - 1) i ORDER BY i",
            u = user("i"),
            m = meta(&user("i"), "i")
        ),
        // Channels, each created by its owner, who joins at once.
        format!(
            "{INSERT} SELECT 'Channel', {ch}::text, s.seq, s.kind, '1', s.body, {m}
               FROM generate_series(0, {channels} - 1) c,
                    LATERAL (VALUES
                        (1, 'ChannelCreated', jsonb_build_object('ChannelCreated', jsonb_build_object(
                            'channel_id', {ch}, 'name', 'channel ' || c, 'description', 'about ' || c,
                            'owner_id', {owner}))),
                        (2, 'MemberJoined', jsonb_build_object('MemberJoined', jsonb_build_object('user_id', {owner})))
                    ) s(seq, kind, body)
              ORDER BY c, s.seq",
            ch = id("channel", "c"),
            owner = owner("c"),
            m = meta(&owner("c"), "c")
        ),
        // The other members.
        format!(
            "{INSERT} SELECT 'Channel', {ch}::text, 2 + k, 'MemberJoined', '1',
                jsonb_build_object('MemberJoined', jsonb_build_object('user_id', {member})), {m}
               FROM generate_series(0, {channels} - 1) c, generate_series(1, {MEMBERS} - 1) k
              ORDER BY c, k",
            ch = id("channel", "c"),
            member = user(&format!("(c * 7 + k) % {users}")),
            m = meta(&user(&format!("(c * 7 + k) % {users}")), "c * 100 + k")
        ),
    ];
    for sql in statements {
        sqlx::query(&sql).execute(pool).await?;
    }
    let mut from = 0;
    while from < posts {
        let to = (from + CHUNK).min(posts);
        post_chunk(pool, users, channels, from, to).await?;
        from = to;
    }
    let tail = [
        // 10% of users change their profile.
        format!(
            "{INSERT} SELECT 'User', {u}::text, 2, 'UserProfileUpdated', '1',
                jsonb_build_object('UserProfileUpdated', jsonb_build_object('changes',
                    jsonb_build_object('bio', 'updated bio ' || i))), {m}
               FROM generate_series(0, {users} - 1, 10) i ORDER BY i",
            u = user("i"),
            m = meta(&user("i"), "i + 1000000000")
        ),
        // 1% of channels (the 100th, the 200th, ...) are deleted by their owner.
        format!(
            "{INSERT} SELECT 'Channel', {ch}::text, {MEMBERS} + 2, 'ChannelDeleted', '1',
                jsonb_build_object('ChannelDeleted', jsonb_build_object()), {m}
               FROM generate_series(99, {channels} - 1, 100) c ORDER BY c",
            ch = id("channel", "c"),
            m = meta(&owner("c"), "c + 1000000000")
        ),
    ];
    for sql in tail {
        sqlx::query(&sql).execute(pool).await?;
    }
    sqlx::query("ANALYZE events").execute(pool).await?;
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
}

/// Posts `from..to`, then the edits and deletions of those posts, in one transaction.
async fn post_chunk(pool: &PgPool, users: i64, channels: i64, from: i64, to: i64) -> Result<(), sqlx::Error> {
    // Post i goes to channel i % channels, by that channel's member (i / channels) % MEMBERS.
    let channel = id("channel", &format!("i % {channels}"));
    let author_n = format!("((i % {channels}) * 7 + (i / {channels}) % {MEMBERS}) % {users}");
    let author = id("user", &author_n);
    let msg = id("msg", "i");
    let m = meta(&author, "i + 10000000");
    let later = meta(&author, "i + 20000000");
    let mut tx = pool.begin().await?;
    sqlx::query(&format!(
        "{INSERT} SELECT 'Message', {msg}::text, 1, 'TextMessagePosted', '1',
            jsonb_build_object('TextMessagePosted', jsonb_build_object('message_id', {msg},
                'channel_id', {channel}, 'author_id', {author}, 'content', 'message number ' || i)), {m}
           FROM generate_series({from}, {to} - 1) i ORDER BY i"
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "{INSERT} SELECT 'Message', {msg}::text, 2, 'MessageEdited', '1',
            jsonb_build_object('MessageEdited', jsonb_build_object('content', 'edited message ' || i)), {later}
           FROM generate_series({from}, {to} - 1) i WHERE i % 20 = 0 ORDER BY i"
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "{INSERT} SELECT 'Message', {msg}::text, 2, 'MessageDeleted', '1',
            jsonb_build_object('MessageDeleted', jsonb_build_object('deleted_by', {author}, 'reason', 'by_author')),
            {later}
           FROM generate_series({from}, {to} - 1) i WHERE i % 50 = 1 ORDER BY i"
    ))
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
