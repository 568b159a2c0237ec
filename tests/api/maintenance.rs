//! The sweeper forgets request state that no longer means anything, and nothing else.

use uuid::Uuid;

use crate::support::TestApp;

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sweep_removes_only_expired_keys_buckets_and_revocations() {
    let app = TestApp::spawn().await;
    let user = Uuid::now_v7();
    for (key, age) in [("old", "25 hours"), ("recent", "1 hour")] {
        sqlx::query(
            "INSERT INTO idempotency_keys (user_id, key, request_hash, message_id, created_at)
             VALUES ($1, $2, '\\x00', $3, now() - $4::interval)",
        )
        .bind(user)
        .bind(key)
        .bind(Uuid::now_v7())
        .bind(age)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    for (subject, tat) in [("full", "-1 minute"), ("draining", "5 minutes")] {
        sqlx::query("INSERT INTO rate_limits (bucket, subject, tat) VALUES ('b', $1, now() + $2::interval)")
            .bind(subject)
            .bind(tat)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    for expires in ["-1 minute", "10 minutes"] {
        sqlx::query("INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, now() + $2::interval)")
            .bind(Uuid::now_v7())
            .bind(expires)
            .execute(&app.pool)
            .await
            .unwrap();
    }

    zync::maintenance::sweep(&app.pool).await;

    let kept: Vec<String> = sqlx::query_scalar("SELECT key FROM idempotency_keys")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(kept, ["recent"]);
    let buckets: Vec<String> = sqlx::query_scalar("SELECT subject FROM rate_limits")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(buckets, ["draining"]);
    assert_eq!(count(&app, "revoked_tokens").await, 1);
}
