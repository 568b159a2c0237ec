//! The command side: runs a command on its aggregate with the request's audit metadata, retries
//! optimistic-concurrency conflicts, and waits until the projections show the result
//! (read-your-writes) before the caller answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aggregates::channel::{Channel, ChannelCommand, ChannelError};
use aggregates::message::{Message, MessageCommand, MessageError};
use aggregates::user::{User, UserCommand, UserError};
use cqrs_es::{Aggregate, AggregateError};
use projections::{FeedReader, RunnerHandle};
use sqlx::PgPool;
use uuid::Uuid;

use crate::eventlog::streams::{self, Cqrs};

/// How often a command is re-run after losing an optimistic-concurrency race.
const MAX_ATTEMPTS: u32 = 40;
/// How long a command waits for the projections to show its events.
const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
/// Who runs a command, for which request, from where: stored as the events' metadata. The HTTP
/// adapter fills it from the request (`http::meta`); the CLI and tests build it directly.
pub struct RequestMeta {
    pub actor: Option<Uuid>,
    pub request_id: String,
    pub client_addr: Option<String>,
}

impl RequestMeta {
    pub fn by(mut self, actor: Uuid) -> Self {
        self.actor = Some(actor);
        self
    }

    pub fn metadata(&self) -> HashMap<String, String> {
        audit_metadata(self.actor, &self.request_id, self.client_addr.as_deref())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error> {
    #[error(transparent)]
    Domain(E),
    /// The guard trigger found the username or e-mail taken (ZY001).
    #[error("username or email already registered")]
    IdentityTaken,
    /// The guard trigger found the author is not a member (ZY002).
    #[error("author is not a member of the channel")]
    NotAMember,
    /// The guard trigger found the joining user or new owner does not exist (ZY003).
    #[error("user not found")]
    UnknownUser,
    /// The guard trigger found the actor may no longer do this to the message: the author left
    /// the channel, or the deleter no longer owns it (ZY004).
    #[error("not permitted any more")]
    NoLongerPermitted,
    /// The guard trigger found the message's channel deleted (ZY005).
    #[error("the message's channel is gone")]
    ChannelGone,
    #[error("the aggregate kept changing concurrently")]
    Conflict,
    #[error("the database is unavailable")]
    Unavailable,
    #[error("the change was stored but the read model did not catch up in time")]
    NotYetVisible,
    /// A bug or an unexpected state (a payload that does not decode, say), with its cause.
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl<E: std::error::Error> CommandError<E> {
    /// Whether the command was refused: it certainly stored nothing, so whatever a use case did
    /// for it beforehand can be undone. The other failures may have stored it all the same.
    pub fn refused(&self) -> bool {
        match self {
            Self::Domain(_)
            | Self::IdentityTaken
            | Self::NotAMember
            | Self::UnknownUser
            | Self::NoLongerPermitted
            | Self::ChannelGone
            | Self::Conflict => true,
            Self::Unavailable | Self::NotYetVisible | Self::Internal(_) => false,
        }
    }
}

pub struct CommandBus {
    pool: PgPool,
    users: Arc<Cqrs<User>>,
    channels: Arc<Cqrs<Channel>>,
    messages: Arc<Cqrs<Message>>,
    projections: Option<Arc<RunnerHandle>>,
}

impl CommandBus {
    /// `projections` is the local runner to wait on; `None` answers without waiting.
    pub fn new(pool: PgPool, projections: Option<Arc<RunnerHandle>>) -> Self {
        Self {
            users: Arc::new(streams::cqrs(pool.clone())),
            channels: Arc::new(streams::cqrs(pool.clone())),
            messages: Arc::new(streams::cqrs(pool.clone())),
            pool,
            projections,
        }
    }

    pub async fn user(
        &self,
        meta: &RequestMeta,
        id: Uuid,
        cmd: UserCommand,
    ) -> Result<(), CommandError<UserError>> {
        self.run(&self.users, meta, id, cmd).await
    }

    pub async fn channel(
        &self,
        meta: &RequestMeta,
        id: Uuid,
        cmd: ChannelCommand,
    ) -> Result<(), CommandError<ChannelError>> {
        self.run(&self.channels, meta, id, cmd).await
    }

    pub async fn message(
        &self,
        meta: &RequestMeta,
        id: Uuid,
        cmd: MessageCommand,
    ) -> Result<(), CommandError<MessageError>> {
        self.run(&self.messages, meta, id, cmd).await
    }

    /// Appends in a task of its own, so a client that hangs up cannot cancel the append half way:
    /// postgres-es opens a transaction with sqlx's `Pool::begin`, and a future dropped while
    /// `BEGIN` is on the wire leaves the pooled connection inside a transaction nobody ends
    /// (sqlx 0.8.6; launchbadge/sqlx#4393). The next borrower's statements would then run in it,
    /// uncommitted. A command that started also finishes, whoever is still waiting for it.
    async fn run<A>(
        &self,
        cqrs: &Arc<Cqrs<A>>,
        meta: &RequestMeta,
        id: Uuid,
        cmd: A::Command,
    ) -> Result<(), CommandError<A::Error>>
    where
        A: Aggregate + 'static,
        A::Command: Clone,
        A::Command: Send,
        A::Error: Send,
    {
        let aggregate_id = id.to_string();
        let append = tokio::spawn(append_with_retries(
            Arc::clone(cqrs),
            aggregate_id.clone(),
            cmd,
            meta.metadata(),
        ));
        match append.await {
            Ok(appended) => appended?,
            Err(e) => return Err(CommandError::Internal(Box::new(e))),
        }
        self.await_projection(A::TYPE, &aggregate_id).await
    }

    /// Waits until the projections show the latest event of aggregate `kind`/`id`, appended by
    /// someone else (an idempotent retry that found its original already stored, say).
    pub async fn await_visible<E: std::error::Error>(
        &self,
        kind: &str,
        id: Uuid,
    ) -> Result<(), CommandError<E>> {
        self.await_projection(kind, &id.to_string()).await
    }

    async fn await_projection<E: std::error::Error>(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<(), CommandError<E>> {
        let Some(projections) = &self.projections else {
            return Ok(());
        };
        let mut conn = self.pool.acquire().await.map_err(|_| CommandError::Unavailable)?;
        let Some(target) = FeedReader::last_of_aggregate(&mut conn, kind, id)
            .await
            .map_err(|_| CommandError::Unavailable)?
        else {
            return Ok(());
        };
        drop(conn);
        if projections.wait_for(target, READ_YOUR_WRITES_WAIT).await {
            Ok(())
        } else {
            tracing::warn!(
                aggregate = kind,
                id,
                ?target,
                "projection did not catch up in time"
            );
            Err(CommandError::NotYetVisible)
        }
    }
}

impl CommandBus {
    /// Whether a command on `aggregate_type`/`id` that failed with `error` may nonetheless have
    /// stored its events. After a lost connection, or a lost wait for the projection, the append
    /// may well have committed; so ask the log, and when it cannot answer either, assume it did.
    /// Callers undoing side effects (a stored file) must keep them when this says yes: an orphan
    /// costs some storage, a message whose file is gone loses data.
    pub async fn may_have_stored<E: std::error::Error>(
        &self,
        aggregate_type: &str,
        id: Uuid,
        error: &CommandError<E>,
    ) -> bool {
        match error {
            _ if error.refused() => false,
            CommandError::Unavailable | CommandError::Internal(_) => {
                let Ok(mut conn) = self.pool.acquire().await else {
                    return true;
                };
                FeedReader::last_of_aggregate(&mut conn, aggregate_type, &id.to_string())
                    .await
                    .map_or(true, |found| found.is_some())
            }
            _ => true,
        }
    }
}

/// Runs `cmd`, re-running it after optimistic-concurrency conflicts and deadlocks.
async fn append_with_retries<A>(
    cqrs: Arc<Cqrs<A>>,
    aggregate_id: String,
    cmd: A::Command,
    metadata: HashMap<String, String>,
) -> Result<(), CommandError<A::Error>>
where
    A: Aggregate,
    A::Command: Clone,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match cqrs
            .execute_with_metadata(&aggregate_id, cmd.clone(), metadata.clone())
            .await
        {
            Ok(()) => return Ok(()),
            Err(e) if attempt < MAX_ATTEMPTS && is_transient(&e) => {
                // Someone appended to this aggregate first (or PostgreSQL broke a deadlock):
                // reload and decide again.
                tracing::debug!(aggregate = A::TYPE, id = %aggregate_id, attempt, "retrying after a conflict");
                tokio::time::sleep(jitter(attempt)).await;
            }
            Err(e) => return Err(classify(e)),
        }
    }
}

/// Failures that a fresh attempt can succeed after: a lost optimistic-concurrency race, or a
/// serialization failure / deadlock PostgreSQL resolved by aborting us.
fn is_transient<E: std::error::Error>(e: &AggregateError<E>) -> bool {
    match e {
        AggregateError::AggregateConflict => true,
        AggregateError::UnexpectedError(inner) => inner
            .downcast_ref::<sqlx::Error>()
            .and_then(|s| s.as_database_error())
            .and_then(|d| d.code())
            .is_some_and(|code| code == "40001" || code == "40P01"),
        _ => false,
    }
}

/// Sorts a framework error into what the caller can act on.
fn classify<E: std::error::Error>(e: AggregateError<E>) -> CommandError<E> {
    match e {
        AggregateError::UserError(e) => CommandError::Domain(e),
        AggregateError::AggregateConflict => CommandError::Conflict,
        AggregateError::DatabaseConnectionError(e) => {
            tracing::error!(error = %e, "event store unreachable");
            CommandError::Unavailable
        }
        AggregateError::UnexpectedError(e) | AggregateError::DeserializationError(e) => {
            // postgres-es boxes the sqlx error; the guard trigger's SQLSTATEs are ours.
            if let Some(sqlx_err) = e.downcast_ref::<sqlx::Error>() {
                match sqlx_err.as_database_error().and_then(|d| d.code()).as_deref() {
                    Some("ZY001") => return CommandError::IdentityTaken,
                    Some("ZY002") => return CommandError::NotAMember,
                    Some("ZY003") => return CommandError::UnknownUser,
                    Some("ZY004") => return CommandError::NoLongerPermitted,
                    Some("ZY005") => return CommandError::ChannelGone,
                    _ => {}
                }
                if crate::db::is_unavailable(sqlx_err) {
                    tracing::error!(error = %sqlx_err, "event store unreachable");
                    return CommandError::Unavailable;
                }
            }
            tracing::error!(error = ?e, "command failed unexpectedly");
            CommandError::Internal(e)
        }
    }
}

/// Spreads retries out so racing writers don't collide again in lockstep.
fn jitter(attempt: u32) -> Duration {
    let spread = 2 + u64::from(attempt.min(10)) * 3;
    Duration::from_millis(1 + rand::random::<u64>() % spread)
}

/// The metadata every event of a command carries: the audit log.
pub fn audit_metadata(
    actor: Option<Uuid>,
    request_id: &str,
    client_addr: Option<&str>,
) -> HashMap<String, String> {
    let mut m = HashMap::with_capacity(4);
    if let Some(actor) = actor {
        m.insert("actor_id".into(), actor.to_string());
    }
    m.insert("request_id".into(), request_id.to_string());
    m.insert(
        "timestamp".into(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    );
    if let Some(addr) = client_addr {
        m.insert("client_addr".into(), addr.to_string());
    }
    m
}
