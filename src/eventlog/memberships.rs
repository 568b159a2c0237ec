//! A user's membership history from the log: what the live stream replays to know which
//! channels a user belonged to at a point of the feed.

use aggregates::aggregate_types::CHANNEL;
use projections::FeedCursor;
use sqlx::PgPool;
use uuid::Uuid;

use super::names::{CHANNEL_DELETED, MEMBER_JOINED, MEMBER_LEFT};

/// One change to a user's membership of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipChange {
    Joined(Uuid),
    /// They left, or the channel was deleted.
    Gone(Uuid),
}

/// The user's joins and leaves, and the deletions of channels they joined, up to `until`
/// (included), in feed order.
pub async fn history(
    pool: &PgPool,
    user: Uuid,
    until: FeedCursor,
) -> Result<Vec<MembershipChange>, sqlx::Error> {
    // The user's own joins and leaves come from the expression index; deletions only for
    // channels they were in, by primary key. (One OR'ed query scans every channel event.)
    let rows: Vec<(String, String)> = sqlx::query_as(&format!(
        "WITH mine AS (
             SELECT aggregate_id, event_type, tx_id, global_position FROM events
              WHERE aggregate_type = '{CHANNEL}' AND event_type IN ('{MEMBER_JOINED}', '{MEMBER_LEFT}')
                AND payload -> event_type ->> 'user_id' = $1
                AND (tx_id, global_position) <= ($2::text::xid8, $3))
         SELECT aggregate_id, event_type FROM (
             SELECT * FROM mine
             UNION ALL
             SELECT aggregate_id, event_type, tx_id, global_position FROM events
              WHERE aggregate_type = '{CHANNEL}' AND event_type = '{CHANNEL_DELETED}'
                AND aggregate_id IN (SELECT aggregate_id FROM mine)
                AND (tx_id, global_position) <= ($2::text::xid8, $3)) history
          ORDER BY tx_id, global_position"
    ))
    .bind(user.to_string())
    .bind(until.tx_id.to_string())
    .bind(until.position)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        // Channel ids are UUIDs; anything else is not a Zync channel.
        .filter_map(|(channel, event_type)| {
            let channel = Uuid::parse_str(&channel).ok()?;
            Some(if event_type == MEMBER_JOINED {
                MembershipChange::Joined(channel)
            } else {
                MembershipChange::Gone(channel)
            })
        })
        .collect())
}
