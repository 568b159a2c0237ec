//! Opening a transaction that no cancelled caller can leave half open.
//!
//! sqlx 0.8.6's `Pool::begin` counts the transaction only once `BEGIN` has answered. A future
//! dropped while `BEGIN` is on the wire (a client hanging up, a timeout, an aborted task) returns
//! the connection to the pool inside a transaction that nothing will end: the next borrower's
//! statements run in it uncommitted, and PostgreSQL warns "there is already a transaction in
//! progress" (launchbadge/sqlx#4393). Running the `BEGIN` in a task of its own lets it finish;
//! if the caller is gone by then, the transaction is dropped whole, which sqlx rolls back.

use sqlx::{PgPool, Postgres, Transaction};

/// `pool.begin()`, safe to cancel at any point.
pub async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let pool = pool.clone();
    match tokio::spawn(async move { pool.begin().await }).await {
        Ok(begun) => begun,
        Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
        // Only a runtime shutting down cancels the task.
        Err(_) => Err(sqlx::Error::PoolClosed),
    }
}
