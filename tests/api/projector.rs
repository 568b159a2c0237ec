//! The projector: catch-up after a crash, and read tables equal to a rebuild from the log.

use aggregates::user::{Profile, UserCommand};
use aggregates::values::{Email, Username};
use projections::rebuild::read_tables;
use projections::verify::verify;
use serde_json::{json, Value};
use uuid::Uuid;
use zync::commands::CommandBus;
use zync::commands::RequestMeta;

use crate::support::{TestApp, TestUser};

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn events_appended_while_the_projector_was_down_appear_after_restart() {
    let app = TestApp::spawn().await;
    let (db, pool) = (app.db.clone(), app.pool.clone());
    app.stop().await;

    // A node that crashed right after its commit, before any projector saw the event.
    // An older transaction still running when the server restarts holds the feed back (the
    // snapshot horizon is cluster-wide, so any database's writer does): startup must wait for it
    // rather than serve without the ghost.
    let mut older = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *older)
        .await
        .unwrap();
    let bus = CommandBus::new(pool.clone(), None);
    let id = Uuid::now_v7();
    let meta = RequestMeta {
        actor: Some(id),
        request_id: "crash-test".into(),
        client_addr: None,
    };
    let register = UserCommand::Register {
        user_id: id,
        username: Username::parse("ghost").unwrap(),
        email: Email::from_checked("ghost@example.com").unwrap(),
        profile: Profile::default(),
    };
    bus.user(&meta, id, register).await.unwrap();
    let projected = format!("SELECT count(*) FROM users WHERE id = '{id}'");
    assert_eq!(
        count(&pool, &projected).await,
        0,
        "nothing projected the event yet"
    );

    // The restarted server catches up before it serves.
    let finish_older = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        older.commit().await.unwrap();
    });
    let app = TestApp::spawn_on(db, |c| c).await;
    finish_older.await.unwrap();
    assert_eq!(count(&pool, &projected).await, 1);
    let viewer = app.register("viewer").await;
    let ghost = app
        .get(&format!("/users/{id}"), Some(&viewer.token))
        .await
        .expect(200);
    assert_eq!(ghost["username"], "ghost");
}

/// A history touching every event type.
pub async fn busy_history(app: &TestApp) -> (TestUser, TestUser, String) {
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let leaver = app.register("leaver").await;
    let gone = app.register("gone").await;
    let channel = app.create_channel(&owner, "general").await;
    let cid = channel["id"].as_str().unwrap().to_string();
    let doomed = app.create_channel(&owner, "doomed").await;
    let doomed_id = doomed["id"].as_str().unwrap().to_string();
    for u in [&member, &leaver, &gone] {
        app.join(u, &cid).await;
    }
    app.join(&member, &doomed_id).await;
    let m1 = app.post_message(&member, &cid, "first").await;
    app.post_message(&owner, &cid, "second").await;
    let m3 = app.post_message(&gone, &cid, "from someone who leaves").await;
    app.post_message(&member, &doomed_id, "lost with the channel")
        .await;
    let m1_path = format!("/messages/{}", m1["id"].as_str().unwrap());
    app.patch(&m1_path, Some(&member.token), json!({"content": "first, edited"}))
        .await
        .expect(200);
    let m3_path = format!("/messages/{}", m3["id"].as_str().unwrap());
    app.delete(&m3_path, Some(&owner.token)).await.expect(200);
    app.delete(&format!("/channels/{cid}/leave"), Some(&leaver.token))
        .await;
    app.patch(
        &format!("/channels/{cid}"),
        Some(&owner.token),
        json!({"description": null, "name": "General"}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/users/{}", member.id),
        Some(&member.token),
        json!({"bio": "hi", "first_name": "Mem"}),
    )
    .await
    .expect(200);
    app.delete(&format!("/users/{}", gone.id), Some(&gone.token))
        .await
        .expect(200);
    app.delete(&format!("/channels/{doomed_id}"), Some(&owner.token))
        .await
        .expect(200);
    app.patch(
        &format!("/channels/{cid}/change_owner?new_owner_id={}", member.id),
        Some(&owner.token),
        json!({}),
    )
    .await
    .expect(200);
    (owner, member, cid)
}

#[tokio::test]
async fn read_tables_equal_a_rebuild_from_the_log() {
    let app = TestApp::spawn().await;
    busy_history(&app).await;
    let report = verify(&app.pool).await.unwrap();
    for table in &report.tables {
        assert!(
            table.rows > 0,
            "{} should have rows for the comparison to mean something",
            table.table
        );
        assert_eq!(
            table.differences,
            vec![],
            "{} differs from its rebuild",
            table.table
        );
    }
    assert_eq!(report.tables.len(), read_tables().len());
}

/// The answers of the GET routes, as `who` sees them.
async fn snapshot(app: &TestApp, who: &TestUser, reads: &[String]) -> Vec<Value> {
    let mut out = vec![];
    for path in reads {
        out.push(app.get(path, Some(&who.token)).await.expect(200));
    }
    out
}

#[tokio::test]
async fn dropping_the_read_tables_and_rebuilding_gives_identical_answers() {
    let app = TestApp::spawn().await;
    let (owner, member, cid) = busy_history(&app).await;
    let reads = [
        "/users/".to_string(),
        format!("/users/{}", member.id),
        "/channels/".to_string(),
        "/channels/owners".to_string(),
        "/channels/my-memberships".to_string(),
        format!("/channels/{cid}"),
        format!("/channels/{cid}/members"),
        format!("/messages/channel/{cid}"),
        format!("/messages/user/{}", member.id),
    ];
    let before_owner = snapshot(&app, &owner, &reads).await;
    let before_member = snapshot(&app, &member, &reads).await;

    let (db, pool) = (app.db.clone(), app.pool.clone());
    app.stop().await;
    let tables = read_tables().join(", ");
    sqlx::query(&format!("TRUNCATE {tables}"))
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE projection_checkpoints SET last_tx = '0', last_position = 0")
        .execute(&pool)
        .await
        .unwrap();

    let app = TestApp::spawn_on(db, |c| c).await;
    assert_eq!(snapshot(&app, &owner, &reads).await, before_owner);
    assert_eq!(snapshot(&app, &member, &reads).await, before_member);
}
