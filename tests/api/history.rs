//! `GET /v1/channels/{channel_id}/history?as_of=`: the channel as of a moment, for its owner.

use serde_json::{json, Value};

use crate::audit_support::{replay_json, story, stream, text_of};
use crate::users_support::{assert_unauthorized, get_with_authorization};

const MISSING: &str = "00000000-0000-7000-8000-000000000000";

fn path(channel: &str, as_of: Option<&str>) -> String {
    match as_of {
        Some(t) => format!("/v1/channels/{channel}/history?as_of={}", urlencode(t)),
        None => format!("/v1/channels/{channel}/history"),
    }
}

/// RFC 3339 times carry `+` and `:`, which a query string must escape.
fn urlencode(raw: &str) -> String {
    form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

#[tokio::test]
async fn the_owner_reads_the_channel_before_and_after_an_edit() {
    let s = story().await;
    let edits = stream(&s.app, "Message", &s.edited).await;
    let (posted, edit) = (edits[0], edits[1]);
    let owner = Some(s.alice.token.as_str());

    let before = s
        .app
        .get(&path(&s.channel, Some(&posted.0.to_string())), owner)
        .await
        .expect(200);
    assert_eq!(before["as_of"], posted.0);
    assert_eq!(before["status"], "live");
    assert_eq!(text_of(&before, &s.edited), Some("first draft"));
    assert_eq!(before["channel"]["name"], "general");
    assert_eq!(before["channel"]["owner_username"], "alice");
    let members: Vec<&Value> = before["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["username"])
        .collect();
    assert_eq!(members, [&json!("alice"), &json!("bob")]);

    let after = s
        .app
        .get(&path(&s.channel, Some(&edit.0.to_string())), owner)
        .await
        .expect(200);
    assert_eq!(text_of(&after, &s.edited), Some("final text"));
    assert_eq!(text_of(&after, &s.greeting), Some("hi bob here"));

    // By time, just before the edit was recorded: the post's time.
    let by_time = s
        .app
        .get(&path(&s.channel, Some(&posted.1.to_rfc3339())), owner)
        .await
        .expect(200);
    assert_eq!(text_of(&by_time, &s.edited), Some("first draft"));

    // Omitted: now, which names the head of the log it reflects.
    let now = s.app.get(&path(&s.channel, None), owner).await.expect(200);
    assert_eq!(text_of(&now, &s.edited), Some("final text"));
    assert!(now["as_of"].as_i64().unwrap() >= edit.0, "{now}");
    // Trailing slash too, as every route.
    let slash = s
        .app
        .get(&format!("{}/", path(&s.channel, None)), owner)
        .await
        .expect(200);
    assert_eq!(slash["messages"], now["messages"]);

    // Exactly what `zync audit replay --channel --as-of` prints: one reconstruction.
    let cli = replay_json(
        &s.app,
        &["--channel", &s.channel, "--as-of", &posted.0.to_string()],
    )
    .await;
    assert_eq!(cli, [before]);
}

#[tokio::test]
async fn only_the_current_owner_may_read_it() {
    let s = story().await;
    let carol = s.app.register("carol").await;
    let url = path(&s.channel, None);
    for (who, token) in [("member", &s.bob.token), ("stranger", &carol.token)] {
        let r = s.app.get(&url, Some(token)).await;
        assert_eq!(r.status, 403, "{who}: {}", r.body);
        assert_eq!(
            r.body,
            json!({"detail": "Only the channel owner can read its history"})
        );
    }
    assert_unauthorized(&s.app.get(&url, None).await);
    assert_unauthorized(&get_with_authorization(&s.app, &url, "Bearer not-a-token").await);

    // Ownership moves, and the right to read with it.
    s.app
        .request(
            reqwest::Method::PATCH,
            &format!("/channels/{}/change_owner?new_owner_id={}", s.channel, s.bob.id),
            Some(&s.alice.token),
            None,
        )
        .await
        .expect(200);
    let now = s.app.get(&url, Some(&s.bob.token)).await.expect(200);
    assert_eq!(now["channel"]["owner_username"], "bob");
    assert_eq!(s.app.get(&url, Some(&s.alice.token)).await.status, 403);
}

#[tokio::test]
async fn unknown_channels_and_malformed_moments_are_refused() {
    let s = story().await;
    let owner = Some(s.alice.token.as_str());

    let missing = s.app.get(&path(MISSING, None), owner).await;
    assert_eq!(
        (missing.status, missing.body),
        (404, json!({"detail": "Channel not found"}))
    );
    // A deleted channel has no owner any more.
    s.app
        .delete(&format!("/channels/{}", s.other_channel), owner)
        .await
        .expect(200);
    assert_eq!(s.app.get(&path(&s.other_channel, None), owner).await.status, 404);

    for bad in ["yesterday", "-1", "", "2026-02-30T00:00:00Z", "12abc"] {
        let r = s.app.get(&path(&s.channel, Some(bad)), owner).await;
        assert_eq!(r.status, 422, "{bad:?}: {}", r.body);
        let issues = r.body["detail"]
            .as_array()
            .unwrap_or_else(|| panic!("{bad:?}: {}", r.body));
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0]["loc"], json!(["query", "as_of"]));
        assert_eq!(issues[0]["type"], "value_error");
        assert!(
            issues[0]["msg"].as_str().unwrap().contains("RFC 3339"),
            "{}",
            r.body
        );
    }
    let nowhere = s.app.get(&path(&s.channel, Some("999999999")), owner).await;
    assert_eq!(nowhere.status, 422, "{}", nowhere.body);
    assert_eq!(nowhere.body["detail"][0]["msg"], "No event has this position");
    let bad_id = s.app.get(&path("not-a-uuid", None), owner).await;
    assert_eq!(bad_id.status, 422);
    assert_eq!(bad_id.body["detail"][0]["loc"], json!(["path", "channel_id"]));
}

#[tokio::test]
async fn the_route_is_documented() {
    let s = story().await;
    let spec = s.app.get("/openapi.json", None).await.expect(200);
    let op = &spec["paths"]["/v1/channels/{channel_id}/history"]["get"];
    assert_eq!(op["tags"], json!(["audit"]));
    let statuses: Vec<&str> = op["responses"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(statuses, ["200", "401", "403", "404", "422", "503"]);
    assert!(op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "as_of"));
    assert!(spec["components"]["schemas"]["ChannelHistory"]["properties"]["messages"].is_object());
}
