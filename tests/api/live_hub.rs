//! The per-node live hub delivers the log in commit-safe order: nothing past a transaction that
//! is still open, then everything in order once it commits. Zero skipped events.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};
use tokio::sync::broadcast::Receiver;
use uuid::Uuid;
use zync::live::{LiveHub, LiveItem, ProjectedPosition};

use crate::db;

/// Appends a real `UserRegistered` event (the hub decodes what it delivers).
async fn register(conn: &mut PgConnection, name: &str) -> Uuid {
    let id = Uuid::now_v7();
    let payload = serde_json::json!({"UserRegistered": {
        "user_id": id, "username": name, "email": format!("{name}@example.com"),
        "first_name": null, "last_name": null, "bio": null, "profile_picture": null}});
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('User', $1, 1, 'UserRegistered', '1', $2, '{}')",
    )
    .bind(id.to_string())
    .bind(payload)
    .execute(conn)
    .await
    .unwrap();
    id
}

async fn next_user(rx: &mut Receiver<LiveItem>, wait: Duration) -> Option<Uuid> {
    loop {
        match tokio::time::timeout(wait, rx.recv()).await {
            Err(_) => return None,
            Ok(Ok(LiveItem::Event(e))) => return Some(e.aggregate_id),
            Ok(Ok(LiveItem::Typing { .. } | LiveItem::SessionsRevoked { .. })) => continue,
            Ok(Err(e)) => panic!("hub receiver failed: {e}"),
        }
    }
}

#[tokio::test]
async fn the_hub_waits_for_a_late_commit_and_skips_nothing() {
    let opts = db::fresh_database().await;
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .connect_with(opts.clone())
        .await
        .unwrap();
    // The hub publishes what the read tables have: run them, as a server does.
    let projections = projections::live_runner(pool.clone());
    projections.init().await.unwrap();
    let projections = projections.spawn();
    let hub = LiveHub::start(pool.clone(), ProjectedPosition::Runner(projections.progress()))
        .await
        .unwrap();
    let (mut rx, _) = hub.subscribe();
    let mut fast = PgConnection::connect_with(&opts).await.unwrap();
    let mut slow = PgConnection::connect_with(&opts).await.unwrap();

    let a = register(&mut fast, "a").await;
    assert_eq!(next_user(&mut rx, Duration::from_secs(10)).await, Some(a));

    let mut held = slow.begin().await.unwrap();
    let late = register(&mut held, "late").await;
    let c = register(&mut fast, "c").await;
    let d = register(&mut fast, "d").await;
    // The hub polls at least every second and is woken by every commit: give it several chances
    // to (wrongly) deliver c or d past the open transaction.
    assert_eq!(
        next_user(&mut rx, Duration::from_secs(3)).await,
        None,
        "delivered past an open transaction"
    );

    held.commit().await.unwrap();
    let mut rest = vec![];
    for _ in 0..3 {
        rest.push(
            next_user(&mut rx, Duration::from_secs(10))
                .await
                .expect("event after commit"),
        );
    }
    assert_eq!(
        rest,
        [late, c, d],
        "everything, in feed order, once the late one commits"
    );
    assert_eq!(
        next_user(&mut rx, Duration::from_millis(500)).await,
        None,
        "nothing twice"
    );
    hub.shutdown();
}

#[tokio::test]
async fn memberships_as_of_follow_the_log() {
    use projections::FeedCursor;
    use zync::live::Memberships;

    let app = crate::support::TestApp::spawn().await;
    let owner = app.register("owner").await;
    let guest = app.register("guest").await;
    let channel = app.create_channel(&owner, "room").await;
    let cid: Uuid = channel["id"].as_str().unwrap().parse().unwrap();
    let gid: Uuid = guest.id.parse().unwrap();
    let cursor_of = |event_type: &'static str| {
        let pool = app.pool.clone();
        let guest = guest.id.clone();
        async move {
            let (tx_id, position): (i64, i64) = sqlx::query_as(
                "SELECT tx_id::text::bigint, global_position FROM events
                  WHERE event_type = $1 AND payload -> event_type ->> 'user_id' = $2",
            )
            .bind(event_type)
            .bind(guest)
            .fetch_one(&pool)
            .await
            .unwrap();
            FeedCursor { tx_id, position }
        }
    };
    app.join(&guest, &cid.to_string()).await;
    app.delete(&format!("/channels/{cid}/leave"), Some(&guest.token))
        .await
        .expect(204);
    let joined = cursor_of("MemberJoined").await;
    let left = cursor_of("MemberLeft").await;
    let before = FeedCursor {
        tx_id: joined.tx_id,
        position: joined.position - 1,
    };

    assert!(!Memberships::as_of(&app.pool, gid, before)
        .await
        .unwrap()
        .contains(cid));
    assert!(Memberships::as_of(&app.pool, gid, joined)
        .await
        .unwrap()
        .contains(cid));
    assert!(!Memberships::as_of(&app.pool, gid, left)
        .await
        .unwrap()
        .contains(cid));
    let owner_id: Uuid = owner.id.parse().unwrap();
    assert!(Memberships::as_of(&app.pool, owner_id, left)
        .await
        .unwrap()
        .contains(cid));
}
