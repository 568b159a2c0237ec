//! GCRA buckets in PostgreSQL (`rate_limits`), so every node counts against the same limit:
//! failed logins per account and per client address. One conditional upsert takes a request
//! atomically (the row lock orders concurrent takers), and the database's clock is the only clock.

use std::time::Duration;

use sqlx::PgPool;

use super::Rate;

/// Takes one request from `(bucket, subject)`; `Err(retry_after)` when the limit refuses it.
pub async fn take(
    pool: &PgPool,
    bucket: &str,
    subject: &str,
    rate: Rate,
) -> Result<Result<(), Duration>, sqlx::Error> {
    let interval = rate.interval().as_secs_f64();
    let tolerance = rate.tolerance().as_secs_f64();
    let taken: Option<i32> = sqlx::query_scalar(
        "INSERT INTO rate_limits AS r (bucket, subject, tat)
         VALUES ($1, $2, now() + make_interval(secs => $3))
         ON CONFLICT (bucket, subject) DO UPDATE
            SET tat = greatest(r.tat, now()) + make_interval(secs => $3)
          WHERE greatest(r.tat, now()) <= now() + make_interval(secs => $4)
         RETURNING 1",
    )
    .bind(bucket)
    .bind(subject)
    .bind(interval)
    .bind(tolerance)
    .fetch_optional(pool)
    .await?;
    if taken.is_some() {
        return Ok(Ok(()));
    }
    let wait: Option<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM greatest(tat, now()) - now())::float8 - $3
           FROM rate_limits WHERE bucket = $1 AND subject = $2",
    )
    .bind(bucket)
    .bind(subject)
    .bind(tolerance)
    .fetch_optional(pool)
    .await?;
    // Gone or refilled meanwhile: a second of patience is a fine answer either way.
    let wait = wait.filter(|w| *w > 0.0).unwrap_or(1.0);
    Ok(Err(Duration::from_secs_f64(wait)))
}

/// Gives back one request taken from `(bucket, subject)` (the request turned out not to count).
pub async fn give_back(pool: &PgPool, bucket: &str, subject: &str, rate: Rate) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE rate_limits SET tat = tat - make_interval(secs => $3)
          WHERE bucket = $1 AND subject = $2",
    )
    .bind(bucket)
    .bind(subject)
    .bind(rate.interval().as_secs_f64())
    .execute(pool)
    .await?;
    Ok(())
}

/// Empties `(bucket, subject)`: a full bucket again.
pub async fn reset(pool: &PgPool, bucket: &str, subject: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM rate_limits WHERE bucket = $1 AND subject = $2")
        .bind(bucket)
        .bind(subject)
        .execute(pool)
        .await?;
    Ok(())
}

/// Forgets full buckets (arrival time past): they mean the same as no row.
pub async fn sweep(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM rate_limits WHERE tat < now()")
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
