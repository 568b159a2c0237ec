//! The log never contradicts its own rules (ADR 0005): requests racing each other across
//! aggregates (posts against their author's leave, against their channel's deletion, an owner's
//! deletions against an ownership transfer) leave a log in which, read in its own order, every
//! event keeps the domain's rules, and no message row outlives its channel. `audit verify`
//! reports a log that breaks them.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::cli_support::zync;
use crate::files_support::{png, upload};
use crate::support::{TestApp, TestUser};

/// Rounds per race: each is a fresh race, so a rare interleaving gets many chances.
const ROUNDS: usize = 12;
const POSTS_PER_ROUND: usize = 10;

async fn assert_log_keeps_the_rules(app: &TestApp) {
    let check = projections::rules::check_log(&app.pool).await.unwrap();
    assert!(
        check.violations().is_empty(),
        "{} events break a rule in log order: {:?}",
        check.violations().len(),
        &check.violations()[..check.violations().len().min(5)]
    );
}

/// Posts (text, and a file every third) by `author` in `channel`, all at once; the statuses.
async fn burst(app: &TestApp, author: &TestUser, channel: &str) -> Vec<u16> {
    let image = png(2, 2);
    let posts = (0..POSTS_PER_ROUND).map(|i| {
        let image = image.clone();
        async move {
            if i % 3 == 2 {
                upload(app, author, channel, "race.png", "image/png", &image)
                    .await
                    .status
            } else {
                app.post(
                    &format!("/messages/channels/{channel}/messages"),
                    Some(&author.token),
                    json!({"content": format!("race {i}")}),
                )
                .await
                .status
            }
        }
    });
    join_all(posts).await
}

#[tokio::test]
async fn posts_racing_their_authors_leave_stay_before_it_in_the_log() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let channel = app.create_channel(&owner, "leaving").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut accepted = 0;
    for _ in 0..ROUNDS {
        app.join(&member, &channel).await;
        let leave_path = format!("/channels/{channel}/leave");
        let leave = app.delete(&leave_path, Some(&member.token));
        let (statuses, left) = tokio::join!(burst(&app, &member, &channel), leave);
        assert_eq!(left.status, 204);
        for status in &statuses {
            assert!([201, 403].contains(status), "a post answered {status}");
        }
        accepted += statuses.iter().filter(|s| **s == 201).count();
    }
    assert!(accepted > 0, "the race never let a post in: it tested nothing");
    assert_log_keeps_the_rules(&app).await;
}

#[tokio::test]
async fn posts_racing_a_channels_deletion_leave_no_rows_behind() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let mut deleted = vec![];
    for round in 0..ROUNDS {
        let channel = app.create_channel(&owner, &format!("doomed {round}")).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.join(&member, &channel).await;
        let channel_path = format!("/channels/{channel}");
        let delete = app.delete(&channel_path, Some(&owner.token));
        let (statuses, gone) = tokio::join!(burst(&app, &member, &channel), delete);
        assert_eq!(gone.status, 200);
        for status in &statuses {
            // Refused as a non-member (the channel's members went with it) or as unknown; or
            // stored just before the deletion, which removed it before it could be read back:
            // 503 asks to retry, and the retry finds the channel gone (`read_back_post`).
            assert!([201, 403, 404, 503].contains(status), "a post answered {status}");
        }
        deleted.push(channel.parse::<uuid::Uuid>().unwrap());
    }
    assert_log_keeps_the_rules(&app).await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE channel_id = ANY($1)")
        .bind(&deleted)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0, "message rows outlived their deleted channels");
}

#[tokio::test]
async fn an_owners_deletions_racing_a_transfer_are_ordered_with_it() {
    let app = TestApp::spawn().await;
    let mut accepted = 0;
    for round in 0..ROUNDS {
        let owner = app.register(&format!("owner{round}")).await;
        let heir = app.register(&format!("heir{round}")).await;
        let channel = app.create_channel(&owner, &format!("handover {round}")).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.join(&heir, &channel).await;
        let mut messages: Vec<Value> = vec![];
        for i in 0..POSTS_PER_ROUND {
            messages.push(app.post_message(&heir, &channel, &format!("heir {i}")).await);
        }
        let paths: Vec<String> = messages
            .iter()
            .map(|m| format!("/messages/{}", m["id"].as_str().unwrap()))
            .collect();
        let deletions = join_all(paths.iter().map(|path| app.delete(path, Some(&owner.token))));
        let transfer_path = format!("/channels/{channel}/change_owner?new_owner_id={}", heir.id);
        let transfer = app.patch(&transfer_path, Some(&owner.token), json!({}));
        let (deleted, moved) = tokio::join!(deletions, transfer);
        assert_eq!(moved.status, 200);
        for d in &deleted {
            assert!([200, 403].contains(&d.status), "a deletion answered {}", d.status);
        }
        accepted += deleted.iter().filter(|d| d.status == 200).count();
    }
    assert!(
        accepted > 0,
        "the race never let a deletion in: it tested nothing"
    );
    assert_log_keeps_the_rules(&app).await;
}

/// The race above, made deterministic. `nextval` gives its transaction an id whenever it writes
/// the sequence to the WAL (every 32nd value, the first after a checkpoint); while positions were
/// taken when the row was formed, such an append had its id before it waited for the guard's
/// locks. Here a post holds its channel's shared lock, `setval` makes the deletion's `nextval` the
/// one that writes, and the deletion waits behind the post, which then commits: the deletion must
/// stand after it in the log (migration 0010).
#[tokio::test]
async fn a_deletion_that_waited_for_a_post_stands_after_it_in_the_log() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let channel = app.create_channel(&owner, "waiting").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.join(&member, &channel).await;

    // The post's transaction takes the lock its guard takes, before it has an id of its own.
    let mut post = app.pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock_shared(guard_key('channel', $1))")
        .bind(&channel)
        .execute(&mut *post)
        .await
        .unwrap();
    sqlx::query(
        "SELECT setval(s, nextval(s), true) FROM pg_get_serial_sequence('events', 'global_position') s",
    )
    .execute(&app.pool)
    .await
    .unwrap();

    let channel_path = format!("/channels/{channel}");
    let deletion = app.delete(&channel_path, Some(&owner.token));
    let post_once_the_deletion_waits = async {
        wait_for_a_guard_lock_waiter(&app).await;
        let payload = json!({"TextMessagePosted": {
            "message_id": uuid::Uuid::now_v7(), "channel_id": channel, "author_id": member.id,
            "content": "just in time"}});
        let metadata = json!({"actor_id": member.id, "request_id": "log-order-test",
            "timestamp": "2026-12-03T00:00:00.000000Z"});
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             VALUES ('Message', $1, 1, 'TextMessagePosted', '1', $2, $3)",
        )
        .bind(payload["TextMessagePosted"]["message_id"].as_str().unwrap())
        .bind(&payload)
        .bind(&metadata)
        .execute(&mut *post)
        .await
        .expect("the post's guard passes: the deletion has not happened yet");
        post.commit().await.unwrap();
    };
    let (gone, ()) = tokio::join!(deletion, post_once_the_deletion_waits);
    assert_eq!(gone.status, 200);
    assert_log_keeps_the_rules(&app).await;
}

/// Waits (bounded) until some append in this test's database waits for a guard lock.
async fn wait_for_a_guard_lock_waiter(app: &TestApp) {
    for _ in 0..500 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
              WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the deletion never waited for the post's lock");
}

#[tokio::test]
async fn audit_verify_reports_a_post_that_follows_its_authors_leave() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let channel = app.create_channel(&owner, "history").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.join(&member, &channel).await;
    app.delete(&format!("/channels/{channel}/leave"), Some(&member.token))
        .await
        .expect(204);
    // The shape an older log can have: a post appended after its author's leave, as the guards
    // before ADR 0005 could let through. Written past the guard, as only a migration could.
    let message = uuid::Uuid::now_v7();
    let payload = json!({"TextMessagePosted": {
        "message_id": message, "channel_id": channel, "author_id": member.id, "content": "late"}});
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE events DISABLE TRIGGER events_guard")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, tx_id)
         VALUES ('Message', $1, 1, 'TextMessagePosted', '1', $2, '{}', pg_current_xact_id())",
    )
    .bind(message.to_string())
    .bind(payload)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("ALTER TABLE events ENABLE TRIGGER events_guard")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let ran = zync(&app.db, &["audit", "verify"]).await;
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout
            .contains(&format!("TextMessagePosted on {message}: only members post")),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("RULES BROKEN: 1 events"), "{}", ran.stdout);
}
