//! `zync audit replay`: selections, windows and both formats, against a real database.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::audit_support::{
    positions, replay, replay_json, replay_raw, story, stream, types, EDIT_REQUEST_ID,
};

/// Every key a JSON line carries.
const JSON_FIELDS: [&str; 14] = [
    "position",
    "tx_id",
    "recorded_at",
    "aggregate_type",
    "aggregate_id",
    "sequence",
    "event_type",
    "event_version",
    "actor_id",
    "request_id",
    "client_addr",
    "summary",
    "payload",
    "metadata",
];

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_channel_is_its_own_events_and_its_messages_in_feed_order_with_every_field() {
    let s = story().await;
    let events = replay_json(&s.app, &["--channel", &s.channel]).await;
    assert_eq!(
        types(&events),
        [
            "ChannelCreated",
            "MemberJoined",
            "MemberJoined",
            "TextMessagePosted",
            "TextMessagePosted",
            "MessageEdited"
        ]
    );
    for e in &events {
        let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = JSON_FIELDS;
        expected.sort_unstable();
        assert_eq!(keys, expected, "fields of {e}");
        // As stored: edits name their channel since version 2; the rest are at version 1.
        let version = if e["event_type"] == "MessageEdited" {
            "2"
        } else {
            "1"
        };
        assert_eq!(e["event_version"], version, "{e}");
        assert_eq!(e["client_addr"], "127.0.0.1", "{e}");
        assert!(e["request_id"].as_str().is_some_and(|r| !r.is_empty()), "{e}");
        assert_eq!(e["metadata"]["request_id"], e["request_id"]);
        assert!(e["tx_id"].as_i64().unwrap() > 0);
        time(&e["recorded_at"]);
        // Only this channel and its messages; never "random".
        assert_ne!(e["aggregate_id"], s.other_channel.as_str());
    }
    let ps = positions(&events);
    assert!(ps.windows(2).all(|w| w[0] < w[1]), "feed order: {ps:?}");

    // Who did what: alice created and posted, bob joined and posted.
    let actors: Vec<&str> = events.iter().map(|e| e["actor_id"].as_str().unwrap()).collect();
    let (a, b) = (s.alice.id.as_str(), s.bob.id.as_str());
    assert_eq!(actors, [a, a, b, a, b, a]);
    assert_eq!(events[1]["payload"], json!({"MemberJoined": {"user_id": a}}));

    let edit = &events[5];
    assert_eq!(edit["aggregate_id"], s.edited.as_str());
    assert_eq!(edit["request_id"], EDIT_REQUEST_ID);
    assert_eq!(
        edit["summary"],
        format!("edited message {}: \"first draft\" -> \"final text\"", s.edited)
    );
    // The payload exactly as stored: the text sealed (docs/personal-data.md), the rest readable;
    // the summary above is where the auditor reads the text.
    assert_eq!(edit["payload"]["MessageEdited"]["channel_id"], s.channel.as_str());
    assert!(
        edit["payload"]["MessageEdited"]["content"]["sealed"].is_string(),
        "{}",
        edit["payload"]
    );
    assert!(!edit["payload"].to_string().contains("final text"));
    assert_eq!(
        events[0]["summary"],
        format!(
            "created channel {} \"general\" owned by {a}, description \"about general\"",
            s.channel
        )
    );
}

#[tokio::test]
async fn a_user_is_their_own_stream_and_what_they_did_but_not_what_was_done_to_them() {
    let s = story().await;
    let app = &s.app;
    app.patch(
        &format!("/users/{}", s.bob.id),
        Some(&s.bob.token),
        json!({"bio": "hello"}),
    )
    .await
    .expect(200);
    // alice makes bob the owner of "random": it names bob, but alice did it.
    app.request(
        reqwest::Method::PATCH,
        &format!(
            "/channels/{}/change_owner?new_owner_id={}",
            s.other_channel, s.bob.id
        ),
        Some(&s.alice.token),
        None,
    )
    .await
    .expect(200);

    let bob = replay_json(app, &["--user", &s.bob.id]).await;
    assert_eq!(
        types(&bob),
        [
            "UserRegistered",
            "MemberJoined",
            "TextMessagePosted",
            "UserProfileUpdated"
        ]
    );
    // A registration's actor is the new user.
    assert!(bob.iter().all(|e| e["actor_id"] == s.bob.id.as_str()), "{bob:?}");
    assert_eq!(
        bob[3]["summary"],
        format!("updated user {}: bio -> \"hello\"", s.bob.id)
    );

    let alice = replay_json(app, &["--user", &s.alice.id]).await;
    assert_eq!(
        types(&alice),
        [
            "UserRegistered",
            "ChannelCreated",
            "MemberJoined",
            "TextMessagePosted",
            "ChannelCreated",
            "MemberJoined",
            "TextMessagePosted",
            "MessageEdited",
            "MemberJoined",
            "ChannelOwnershipTransferred",
        ]
    );
    let transferred = alice.last().unwrap();
    assert_eq!(
        transferred["summary"],
        format!(
            "transferred channel {} from {} to {}",
            s.other_channel, s.alice.id, s.bob.id
        )
    );
}

#[tokio::test]
async fn a_message_is_its_stream_and_a_deletion_erases_its_text() {
    let s = story().await;
    s.app
        .delete(&format!("/messages/{}", s.greeting), Some(&s.alice.token))
        .await
        .expect(200);
    let edited = replay_json(&s.app, &["--message", &s.edited]).await;
    assert_eq!(types(&edited), ["TextMessagePosted", "MessageEdited"]);
    assert_eq!(
        edited[0]["summary"],
        format!(
            "posted message {} in channel {}: \"first draft\"",
            s.edited, s.channel
        )
    );
    let greeting = replay_json(&s.app, &["--message", &s.greeting]).await;
    assert_eq!(types(&greeting), ["TextMessagePosted", "MessageDeleted"]);
    assert_eq!(greeting[1]["actor_id"], s.alice.id.as_str());
    // The deletion destroyed the text's key (docs/personal-data.md): the audit keeps every
    // event, who did it and when, but can no longer recall what the message said.
    assert_eq!(
        greeting[0]["summary"],
        format!(
            "posted message {} in channel {} (text erased)",
            s.greeting, s.channel
        )
    );
    assert_eq!(
        greeting[1]["summary"],
        format!(
            "deleted message {} (by the channel owner {})",
            s.greeting, s.alice.id
        )
    );
}

#[tokio::test]
async fn all_is_the_whole_log_and_since_until_cut_it_by_position_or_time() {
    let s = story().await;
    let all = replay_json(&s.app, &["--all"]).await;
    let in_db: Vec<(i64,)> =
        sqlx::query_as("SELECT global_position FROM events ORDER BY tx_id, global_position")
            .fetch_all(&s.app.pool)
            .await
            .unwrap();
    assert_eq!(
        positions(&all),
        in_db.into_iter().map(|(p,)| p).collect::<Vec<_>>()
    );
    assert_eq!(all.len(), 11, "{:?}", types(&all));

    // Positions: both ends included.
    let ps = positions(&all);
    let (from, to) = (ps[3].to_string(), ps[8].to_string());
    let window = replay_json(&s.app, &["--all", "--since", &from, "--until", &to]).await;
    assert_eq!(positions(&window), ps[3..=8]);
    let tail = replay_json(&s.app, &["--channel", &s.channel, "--since", &from]).await;
    assert!(positions(&tail).iter().all(|p| *p >= ps[3]));
    assert_eq!(types(&tail).last(), Some(&"MessageEdited"));

    // Times: compared with recorded_at, both ends included.
    let post = stream(&s.app, "Message", &s.greeting).await[0].1;
    let t = post.to_rfc3339();
    let since: Vec<i64> = all
        .iter()
        .filter(|e| time(&e["recorded_at"]) >= post)
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    let until: Vec<i64> = all
        .iter()
        .filter(|e| time(&e["recorded_at"]) <= post)
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    assert!(!since.is_empty() && !until.is_empty() && since.len() + until.len() > all.len());
    assert_eq!(
        positions(&replay_json(&s.app, &["--all", "--since", &t]).await),
        since
    );
    assert_eq!(
        positions(&replay_json(&s.app, &["--all", "--until", &t]).await),
        until
    );
}

#[tokio::test]
async fn the_table_has_aligned_columns_and_one_row_per_event() {
    let s = story().await;
    let out = replay(&s.app, &["--channel", &s.channel]).await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 7, "header and six events:\n{out}");
    let header = lines[0];
    assert!(header.starts_with("POSITION  TIME"), "{header}");
    let columns = ["TIME", "ACTOR", "REQUEST", "EVENT", "SUMMARY"].map(|c| header.find(c).unwrap());
    let events = replay_json(&s.app, &["--channel", &s.channel]).await;
    for (line, event) in lines[1..].iter().zip(&events) {
        let at = |col: usize| &line[columns[col]..];
        let position: i64 = line[..columns[0]].trim().parse().unwrap();
        assert_eq!(position, event["position"].as_i64().unwrap(), "{line}");
        assert!(
            at(0).starts_with(event["recorded_at"].as_str().unwrap()),
            "{line}"
        );
        assert!(at(1).starts_with(event["actor_id"].as_str().unwrap()), "{line}");
        assert!(at(2).starts_with(event["request_id"].as_str().unwrap()), "{line}");
        assert!(at(3).starts_with(event["event_type"].as_str().unwrap()), "{line}");
        assert_eq!(at(4), event["summary"].as_str().unwrap());
    }
}

#[tokio::test]
async fn refusals_exit_2_with_a_reason() {
    let s = story().await;
    let cases: [(&[&str], &str); 5] = [
        (
            &["--since", "999999999", "--all"],
            "no event has position 999999999",
        ),
        (&["--all", "--until", "last tuesday"], "RFC 3339"),
        (&["--since", "1"], "required"),
        (&["--all", "--user", &s.alice.id], "cannot be used with"),
        (&["--all", "--as-of", "1"], "cannot be used with"),
    ];
    for (args, reason) in cases {
        let ran = replay_raw(&s.app, args).await;
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stdout);
        assert!(ran.stderr.contains(reason), "{args:?}: {}", ran.stderr);
    }
    // A selection that matches nothing is not an error: just the header.
    let none = replay(&s.app, &["--message", "00000000-0000-7000-8000-000000000000"]).await;
    assert_eq!(none.lines().count(), 1, "{none}");
}
