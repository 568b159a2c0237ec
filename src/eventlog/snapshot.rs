//! One consistent, read-only snapshot of the log, and selections of it read in feed order, a
//! page at a time: what `audit replay`, `--as-of` and the history endpoint read.

use aggregates::aggregate_types::{CHANNEL, MESSAGE, USER};
use chrono::{DateTime, Utc};
use projections::{FeedCursor, FeedReader, ProjectionError, RecordedEvent};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::names::{CHANNEL_DELETED, FILE_MESSAGE_POSTED, TEXT_MESSAGE_POSTED};

/// A moment a selection stops or starts at: a place in feed order, or a time (compared with the
/// events' `recorded_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Cursor(FeedCursor),
    Time(DateTime<Utc>),
}

/// What an operator asked to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// The channel's own events and every event of the messages posted in it.
    Channel(Uuid),
    /// The user's own events, and every event whose metadata names them as the actor.
    User(Uuid),
    /// The message's events.
    Message(Uuid),
    /// The whole log.
    All,
}

/// The events one query reads: an operator's selection, or what a reconstruction needs besides.
#[derive(Debug, Clone)]
pub enum Scope {
    Selected(Selection),
    /// The streams of these users (their names as of a moment).
    UserStreams(Vec<Uuid>),
    /// The deletion of this channel, if any.
    ChannelDeletion(Uuid),
    /// Every event of every message this user posted, one message after the other (by message
    /// id, then sequence; not in feed order): what their export lists.
    MessagesBy(Uuid),
}

/// Rows of `events` as [`RecordedEvent`]s; `tx_id` round-trips through text (no xid8 ↔ bigint
/// cast exists).
const COLUMNS: &str = "global_position, tx_id::text::bigint AS tx_id, aggregate_type, aggregate_id,
    sequence, event_type, event_version, payload, metadata, recorded_at";

/// Events read per round trip.
pub const PAGE_SIZE: i64 = 1000;

/// One bind parameter of a generated query.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Texts(Vec<String>),
    Int(i64),
    Time(DateTime<Utc>),
}

/// Generated SQL: the text is made only of the fixed fragments below; every value is a parameter.
#[derive(Debug, Default)]
struct Sql {
    args: Vec<Arg>,
}

impl Sql {
    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// The window's conditions, on unqualified `events` columns. The head bound is always there:
    /// everything at or before it is final, so pages read later in the snapshot agree with it.
    fn window(&mut self, since: Option<Limit>, until: Option<Limit>, head: FeedCursor) -> String {
        let mut conds = vec![self.cursor_cond("<=", head)];
        for (op, limit) in [(">=", since), ("<=", until)] {
            match limit {
                Some(Limit::Cursor(c)) => conds.push(self.cursor_cond(op, c)),
                Some(Limit::Time(t)) => {
                    let t = self.arg(Arg::Time(t));
                    conds.push(format!("recorded_at {op} {t}"));
                }
                None => {}
            }
        }
        conds.join(" AND ")
    }

    fn cursor_cond(&mut self, op: &str, c: FeedCursor) -> String {
        let tx = self.arg(Arg::Text(c.tx_id.to_string()));
        let pos = self.arg(Arg::Int(c.position));
        format!("(tx_id, global_position) {op} ({tx}::text::xid8, {pos})")
    }

    fn id(&mut self, id: &Uuid) -> String {
        self.arg(Arg::Text(id.to_string()))
    }
}

/// Declares the cursor `audit_events` over `scope` within the window, in feed order. Each branch
/// is an indexed lookup (migrations 0001, 0006); the server sorts their union once.
fn declare(scope: &Scope, since: Option<Limit>, until: Option<Limit>, head: FeedCursor) -> (String, Sql) {
    let mut sql = Sql::default();
    let window = sql.window(since, until, head);
    let branches = match scope {
        Scope::Selected(Selection::All) => vec![format!("SELECT * FROM events WHERE {window}")],
        Scope::Selected(Selection::Message(id)) => {
            let id = sql.id(id);
            vec![format!(
                "SELECT * FROM events WHERE aggregate_type = '{MESSAGE}' AND aggregate_id = {id} AND {window}"
            )]
        }
        Scope::Selected(Selection::Channel(id)) => {
            let id = sql.id(id);
            vec![
                format!("SELECT * FROM events WHERE aggregate_type = '{CHANNEL}' AND aggregate_id = {id} AND {window}"),
                format!(
                    "SELECT * FROM events
                      WHERE aggregate_type = '{MESSAGE}' AND {window}
                        AND aggregate_id IN (
                            SELECT p.aggregate_id FROM events p
                             WHERE p.aggregate_type = '{MESSAGE}'
                               AND p.event_type IN ('{TEXT_MESSAGE_POSTED}', '{FILE_MESSAGE_POSTED}')
                               AND p.payload -> p.event_type ->> 'channel_id' = {id})"
                ),
            ]
        }
        Scope::Selected(Selection::User(id)) => {
            let id = sql.id(id);
            vec![
                format!(
                    "SELECT * FROM events WHERE aggregate_type = '{USER}' AND aggregate_id = {id} AND {window}"
                ),
                // The user's own stream is the branch above; don't list its events twice.
                format!(
                    "SELECT * FROM events WHERE metadata ->> 'actor_id' = {id}
                        AND NOT (aggregate_type = '{USER}' AND aggregate_id = {id}) AND {window}"
                ),
            ]
        }
        Scope::UserStreams(ids) => {
            let ids = sql.arg(Arg::Texts(ids.iter().map(Uuid::to_string).collect()));
            vec![format!(
                "SELECT * FROM events WHERE aggregate_type = '{USER}' AND aggregate_id = ANY({ids}) AND {window}"
            )]
        }
        Scope::MessagesBy(id) => {
            let id = sql.id(id);
            vec![format!(
                "SELECT * FROM events
                  WHERE aggregate_type = '{MESSAGE}' AND {window}
                    AND aggregate_id IN (
                        SELECT p.aggregate_id FROM events p
                         WHERE p.metadata ->> 'actor_id' = {id} AND p.aggregate_type = '{MESSAGE}'
                           AND p.event_type IN ('{TEXT_MESSAGE_POSTED}', '{FILE_MESSAGE_POSTED}'))"
            )]
        }
        Scope::ChannelDeletion(id) => {
            let id = sql.id(id);
            vec![format!(
                "SELECT * FROM events WHERE aggregate_type = '{CHANNEL}' AND aggregate_id = {id}
                    AND event_type = '{CHANNEL_DELETED}' AND {window}"
            )]
        }
    };
    let union = branches.join("\nUNION ALL\n");
    // `selected.tx_id` is the xid8 column (the bare name would be the bigint output column), so
    // the whole-log scan can walk the feed-order index instead of sorting.
    let order = match scope {
        Scope::MessagesBy(_) => "selected.aggregate_id, selected.sequence",
        _ => "selected.tx_id, selected.global_position",
    };
    let text = format!(
        "DECLARE audit_events NO SCROLL CURSOR FOR
         SELECT {COLUMNS} FROM ({union}) selected
          ORDER BY {order}"
    );
    (text, sql)
}

/// One consistent, read-only view of the log for the length of an audit. Holds no transaction id,
/// so it never holds back the feed of running servers.
pub struct Snapshot {
    tx: Transaction<'static, Postgres>,
    head: FeedCursor,
}

impl Snapshot {
    pub async fn open(pool: &PgPool) -> Result<Self, sqlx::Error> {
        let mut tx = projections::tx::begin(pool).await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        // Only final events (below the snapshot's xmin), as the feed: an audit agrees with what
        // the projections have applied and never shows an order that a late commit could change.
        let head = FeedReader::head(&mut tx).await?;
        Ok(Self { tx, head })
    }

    /// The last final event when the snapshot was taken.
    pub fn head(&self) -> FeedCursor {
        self.head
    }

    /// The feed cursor of the event at `position`, if any (it may be past [`head`](Self::head):
    /// an event not final yet).
    pub async fn cursor_at(&mut self, position: i64) -> Result<Option<FeedCursor>, sqlx::Error> {
        FeedReader::cursor_at(&mut self.tx, position).await
    }

    /// The events of `scope` between `since` and `until` (inclusive), a page at a time.
    pub async fn pages(
        &mut self,
        scope: &Scope,
        since: Option<Limit>,
        until: Option<Limit>,
    ) -> Result<Pages<'_>, sqlx::Error> {
        let (text, sql) = declare(scope, since, until, self.head);
        sqlx::query("CLOSE ALL").execute(&mut *self.tx).await?;
        let mut q = sqlx::query(&text).persistent(false);
        for arg in sql.args {
            q = match arg {
                Arg::Text(v) => q.bind(v),
                Arg::Texts(v) => q.bind(v),
                Arg::Int(v) => q.bind(v),
                Arg::Time(v) => q.bind(v),
            };
        }
        q.execute(&mut *self.tx).await?;
        Ok(Pages {
            tx: &mut self.tx,
            done: false,
        })
    }
}

/// Pages of a declared cursor, in feed order.
pub struct Pages<'s> {
    tx: &'s mut Transaction<'static, Postgres>,
    done: bool,
}

impl Pages<'_> {
    /// The next page; empty once everything was read.
    /// Each with its metadata opened (the audit log shows where a change came from).
    pub async fn next(&mut self) -> Result<Vec<RecordedEvent>, ProjectionError> {
        if self.done {
            return Ok(Vec::new());
        }
        let mut page: Vec<RecordedEvent> = sqlx::query_as(&format!("FETCH {PAGE_SIZE} FROM audit_events"))
            .fetch_all(&mut **self.tx)
            .await?;
        projections::event::prepare(self.tx, &mut page).await?;
        projections::event::open_metadata(self.tx, &mut page).await?;
        if (page.len() as i64) < PAGE_SIZE {
            self.done = true;
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(tx_id: i64, position: i64) -> FeedCursor {
        FeedCursor { tx_id, position }
    }

    #[test]
    fn values_are_parameters_never_text() {
        let id = Uuid::now_v7();
        let (text, sql) = declare(
            &Scope::Selected(Selection::Channel(id)),
            Some(Limit::Cursor(at(5, 6))),
            Some(Limit::Time(Utc::now())),
            at(9, 10),
        );
        assert!(!text.contains(&id.to_string()));
        // head (2), since (2), until (1), the id (1, used in both branches).
        assert_eq!(sql.args.len(), 6);
        assert!(text.contains("$6"));
        assert!(!text.contains("$7"));
        assert_eq!(text.matches("UNION ALL").count(), 1);
    }

    #[test]
    fn the_whole_log_is_one_branch_in_feed_order() {
        let (text, sql) = declare(&Scope::Selected(Selection::All), None, None, at(1, 2));
        assert_eq!(sql.args.len(), 2);
        assert!(!text.contains("UNION"));
        assert!(text.contains("ORDER BY selected.tx_id, selected.global_position"));
    }
}
