//! `/messages` under concurrency: racing posts, edits, deletions and a leave. No request may
//! fail with a 500, and what the responses claim must match the event log and the read tables.

use std::collections::HashSet;
use std::time::Instant;

use futures::future::join_all;
use serde_json::json;

use crate::audit_support::opened_stream;
use crate::messages::{ids, post_path, room};
use crate::support::TestApp;

#[tokio::test]
async fn fifty_concurrent_posts_to_one_channel_all_land() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let mut authors = vec![r.owner.clone(), r.member.clone()];
    for name in ["poster1", "poster2", "poster3"] {
        let u = app.register(name).await;
        app.join(&u, &r.channel).await;
        authors.push(u);
    }
    let path = post_path(&r.channel);
    let started = Instant::now();
    let responses = join_all((0..50).map(|i| {
        let author = &authors[i % authors.len()];
        let path = &path;
        let app = &app;
        async move {
            let resp = app
                .post(
                    path,
                    Some(&author.token),
                    json!({ "content": format!("post {i}") }),
                )
                .await;
            (i, author, resp)
        }
    }))
    .await;
    eprintln!("50 concurrent posts took {:?}", started.elapsed());

    let mut posted = HashSet::new();
    for (i, author, resp) in responses {
        assert_eq!(resp.status, 201, "post {i}: {}", resp.body);
        assert_eq!(resp.body["content"], format!("post {i}"));
        assert_eq!(resp.body["author_id"], author.id.as_str());
        assert_eq!(resp.body["author"]["username"], author.username.as_str());
        assert!(
            posted.insert(resp.body["id"].as_str().unwrap().to_string()),
            "duplicate id"
        );
    }
    assert_eq!(posted.len(), 50);

    let history = app
        .get(&format!("/messages/channel/{}", r.channel), Some(&r.member.token))
        .await
        .expect(200);
    let listed = ids(&history);
    assert_eq!(listed.len(), 50);
    assert_eq!(listed.iter().cloned().collect::<HashSet<_>>(), posted);
    // Oldest first by (created_at, id), with no duplicates.
    let keys: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let at = chrono::DateTime::parse_from_rfc3339(m["created_at"].as_str().unwrap()).unwrap();
            (at, uuid::Uuid::parse_str(m["id"].as_str().unwrap()).unwrap())
        })
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "history out of order");
    // Paging by cursor over the racing posts visits each exactly once.
    let mut walked = vec![];
    let mut after: Option<String> = None;
    loop {
        let q = after.as_ref().map(|a| format!("&after={a}")).unwrap_or_default();
        let chunk = ids(&app
            .get(
                &format!("/messages/channel/{}?limit=7{q}", r.channel),
                Some(&r.owner.token),
            )
            .await
            .expect(200));
        let Some(last) = chunk.last().cloned() else { break };
        walked.extend(chunk);
        after = Some(last);
    }
    assert_eq!(walked, listed);
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_type = 'Message' AND event_type = 'TextMessagePosted'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored, 50);
}

#[tokio::test]
async fn twenty_concurrent_edits_leave_a_consistent_version() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let m = app.post_message(&r.member, &r.channel, "original").await;
    let id = m["id"].as_str().unwrap().to_string();
    let path = format!("/messages/{id}");
    let submitted: Vec<String> = (0..20).map(|i| format!("edit {i}")).collect();

    let started = Instant::now();
    let responses = join_all(
        submitted
            .iter()
            .map(|content| app.patch(&path, Some(&r.member.token), json!({ "content": content }))),
    )
    .await;
    eprintln!("20 concurrent edits took {:?}", started.elapsed());

    let mut ok = 0;
    let mut conflicts = 0;
    for resp in &responses {
        match resp.status {
            200 => {
                ok += 1;
                let content = resp.body["content"].as_str().unwrap().to_string();
                assert!(submitted.contains(&content), "{}", resp.body);
                assert_eq!(resp.body["id"], id.as_str());
            }
            409 => conflicts += 1,
            other => panic!("unexpected {other}: {}", resp.body),
        }
    }
    eprintln!("20 concurrent edits: {ok} succeeded, {conflicts} gave up with 409");
    assert_eq!(ok + conflicts, 20);

    // One MessageEdited per successful edit (all contents differ), in an unbroken sequence.
    let events: Vec<(i64, String, Option<String>)> = opened_stream(&app, "Message", &id)
        .await
        .into_iter()
        .map(|(sequence, kind, payload)| {
            let content = payload["MessageEdited"]["content"].as_str().map(String::from);
            (sequence, kind, content)
        })
        .collect();
    assert_eq!(events.len(), 1 + ok);
    assert_eq!(events[0].1, "TextMessagePosted");
    for (n, (sequence, kind, _)) in events.iter().enumerate() {
        assert_eq!(*sequence, n as i64 + 1);
        assert_eq!(
            kind,
            if n == 0 {
                "TextMessagePosted"
            } else {
                "MessageEdited"
            }
        );
    }
    let recorded: HashSet<&str> = events[1..].iter().filter_map(|e| e.2.as_deref()).collect();
    assert_eq!(recorded.len(), ok, "an edit was recorded twice");

    // The final version is the last recorded edit, and one of the submitted contents.
    let last = events.last().unwrap().2.clone().unwrap();
    let now = app.get(&path, Some(&r.owner.token)).await.expect(200);
    assert_eq!(now["content"], last.as_str());
    assert!(submitted.contains(&last));
}

#[tokio::test]
async fn edits_racing_a_deletion_end_deleted_without_errors() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let m = app.post_message(&r.member, &r.channel, "doomed").await;
    let path = format!("/messages/{}", m["id"].as_str().unwrap());
    let edits = join_all((0..10).map(|i| {
        app.patch(
            &path,
            Some(&r.member.token),
            json!({ "content": format!("v{i}") }),
        )
    }));
    let deletion = app.delete(&path, Some(&r.owner.token));
    let (edits, deletion) = tokio::join!(edits, deletion);
    assert_eq!(
        deletion.expect(200),
        json!({"message": "Message deleted successfully"})
    );
    for resp in edits {
        assert!(matches!(resp.status, 200 | 404), "{}: {}", resp.status, resp.body);
        if resp.status == 404 {
            assert_eq!(resp.detail(), "Message not found");
        }
    }
    assert_eq!(app.get(&path, Some(&r.member.token)).await.status, 404);
    // Nothing was recorded after the deletion.
    let last: String = sqlx::query_scalar(
        "SELECT event_type FROM events WHERE aggregate_type = 'Message' AND aggregate_id = $1
          ORDER BY sequence DESC LIMIT 1",
    )
    .bind(m["id"].as_str().unwrap())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(last, "MessageDeleted");
}

#[tokio::test]
async fn posts_racing_a_leave_either_land_or_are_refused() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let path = post_path(&r.channel);
    let posts = join_all((0..20).map(|i| {
        app.post(
            &path,
            Some(&r.member.token),
            json!({ "content": format!("p{i}") }),
        )
    }));
    let leave_path = format!("/channels/{}/leave", r.channel);
    let leave = app.delete(&leave_path, Some(&r.member.token));
    let (posts, leave) = tokio::join!(posts, leave);
    assert_eq!(leave.status, 204, "{}", leave.body);

    let mut landed = HashSet::new();
    for resp in posts {
        match resp.status {
            201 => {
                landed.insert(resp.body["id"].as_str().unwrap().to_string());
            }
            403 => assert_eq!(resp.detail(), "You are not a member of this channel"),
            other => panic!("unexpected {other}: {}", resp.body),
        }
    }
    eprintln!(
        "posts racing a leave: {} landed, {} refused",
        landed.len(),
        20 - landed.len()
    );
    // Every accepted post is in the history; no refused one is.
    let history = app
        .get(&format!("/messages/channel/{}", r.channel), Some(&r.owner.token))
        .await
        .expect(200);
    assert_eq!(ids(&history).into_iter().collect::<HashSet<_>>(), landed);
    // After the leave, posting is refused.
    let resp = app
        .post(&path, Some(&r.member.token), json!({ "content": "late" }))
        .await;
    assert_eq!(resp.status, 403);
}
