//! Rate limits: message posts per user with `X-RateLimit-*` headers; failed logins per account and
//! per client address, counted across nodes; WebSocket frames per user. Refusals are 429 with
//! `Retry-After` and a `detail`, and never cost the client anything already acknowledged.

use std::time::Duration;

use serde_json::json;
use zync::limits::Rate;

use crate::files_support::upload;
use crate::messages::{room, Room};
use crate::support::{Resp, TestApp};
use crate::ws_support::{channel_with, expect_quiet, frame, kind, native, send_json, send_typing};

fn per_minute(burst: u32) -> Option<Rate> {
    Some(Rate::new(burst, Duration::from_secs(60)))
}

fn header<'a>(resp: &'a Resp, name: &str) -> &'a str {
    resp.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

fn retry_after(resp: &Resp) -> u64 {
    header(resp, "retry-after").parse().expect("whole seconds")
}

#[tokio::test]
async fn posts_carry_rate_limit_headers_and_the_one_over_the_limit_is_a_429() {
    let app = TestApp::spawn_with(|mut c| {
        c.limits.messages = per_minute(3);
        c
    })
    .await;
    let Room {
        owner,
        member,
        channel,
        ..
    } = room(&app).await;
    let path = format!("/messages/channels/{channel}/messages");

    let mut remaining = Vec::new();
    for i in 0..2 {
        let posted = app
            .post(&path, Some(&member.token), json!({"content": format!("m{i}")}))
            .await;
        assert_eq!(posted.status, 201);
        assert_eq!(header(&posted, "x-ratelimit-limit"), "3");
        let reset: f64 = header(&posted, "x-ratelimit-reset-after").parse().unwrap();
        assert!(reset > 0.0 && reset <= 60.0, "{reset}");
        remaining.push(header(&posted, "x-ratelimit-remaining").to_string());
    }
    // A file post draws on the same limit.
    let file = upload(&app, &member, &channel, "a.txt", "text/plain", b"abc").await;
    assert_eq!(file.status, 201, "{:?}", file.body);
    remaining.push(header(&file, "x-ratelimit-remaining").to_string());
    assert_eq!(remaining, ["2", "1", "0"]);

    let refused = app
        .post(&path, Some(&member.token), json!({"content": "one too many"}))
        .await;
    assert_eq!(refused.status, 429, "{:?}", refused.body);
    assert_eq!(refused.detail(), "Too many messages; slow down");
    assert!((1..=20).contains(&retry_after(&refused)), "one refill is 20 s");
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");

    // Another user has their own limit; the refused post was never stored.
    app.post_message(&owner, &channel, "mine").await;
    let history = app
        .get(&format!("/messages/channel/{channel}"), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(history.as_array().unwrap().len(), 4);
}

async fn fail_login(app: &TestApp, username: &str) -> Resp {
    app.login(username, "not the password").await
}

/// Two nodes on one database count the same account's failures together.
#[tokio::test]
async fn failed_logins_per_account_are_throttled_across_nodes() {
    let limit = |mut c: zync::config::Config| {
        c.limits.login_account = Some(Rate::new(3, Duration::from_secs(600)));
        c.limits.login_address = None;
        c
    };
    let node_a = TestApp::spawn_with(limit).await;
    let node_b = TestApp::spawn_on(node_a.db.clone(), limit).await;
    let victim = node_a.register("victim").await;
    let bystander = node_a.register("bystander").await;

    assert_eq!(fail_login(&node_a, "victim").await.status, 401);
    assert_eq!(
        fail_login(&node_b, "VICTIM").await.status,
        401,
        "case variants share the account"
    );
    assert_eq!(fail_login(&node_a, "victim").await.status, 401);
    for node in [&node_b, &node_a] {
        let refused = node.login("victim", &victim.password).await;
        assert_eq!(
            refused.status, 429,
            "even the right password waits: {:?}",
            refused.body
        );
        assert_eq!(
            refused.detail(),
            "Too many failed login attempts; try again later"
        );
        assert!((1..=200).contains(&retry_after(&refused)), "one refill is 200 s");
    }
    // Other accounts are untouched, and so are tokens already issued.
    node_b.login("bystander", &bystander.password).await.expect(200);
    node_b.get("/users/me", Some(&victim.token)).await.expect(200);
}

#[tokio::test]
async fn a_successful_login_clears_the_accounts_failures() {
    let app = TestApp::spawn_with(|mut c| {
        c.limits.login_account = Some(Rate::new(3, Duration::from_secs(600)));
        c
    })
    .await;
    let user = app.register("forgetful").await;
    for _ in 0..2 {
        assert_eq!(fail_login(&app, "forgetful").await.status, 401);
    }
    app.login("forgetful", &user.password).await.expect(200);
    for _ in 0..3 {
        assert_eq!(fail_login(&app, "forgetful").await.status, 401);
    }
    assert_eq!(fail_login(&app, "forgetful").await.status, 429);
}

#[tokio::test]
async fn failed_logins_per_address_are_throttled_whatever_the_account() {
    let app = TestApp::spawn_with(|mut c| {
        c.limits.login_address = Some(Rate::new(3, Duration::from_secs(600)));
        c.limits.login_account = None;
        c
    })
    .await;
    let user = app.register("someone").await;
    // Successful logins don't count against the address.
    for _ in 0..3 {
        app.login("someone", &user.password).await.expect(200);
    }
    for name in ["nobody-1", "nobody-2", "someone"] {
        assert_eq!(fail_login(&app, name).await.status, 401);
    }
    let refused = fail_login(&app, "nobody-3").await;
    assert_eq!(refused.status, 429, "{:?}", refused.body);
    assert!(retry_after(&refused) >= 1);
}

#[tokio::test]
async fn websocket_frames_over_the_limit_are_dropped_with_one_notice() {
    let app = TestApp::spawn_with(|mut c| {
        c.limits.ws_frames = per_minute(2);
        c
    })
    .await;
    let typist = app.register("typist").await;
    let member = app.register("member").await;
    let channel = channel_with(&app, &typist, &[&member], "general").await;
    let (mut typist_ws, _) = native(&app, &typist).await;
    let (mut member_ws, _) = native(&app, &member).await;

    // Typing is coalesced per channel anyway; the frames are what is counted.
    for _ in 0..5 {
        send_typing(&mut typist_ws, &channel).await;
    }
    assert_eq!(kind(&frame(&mut member_ws).await), "typing");
    let notice = frame(&mut typist_ws).await;
    assert_eq!(kind(&notice), "rate_limited", "{notice}");
    assert!(
        notice["retry_after"]
            .as_f64()
            .is_some_and(|s| s > 0.0 && s <= 30.0),
        "{notice}"
    );
    expect_quiet(&mut typist_ws, "one notice per stretch of refusals").await;

    // Other users' sockets have their own allowance.
    send_json(&mut member_ws, json!({"type": "typing", "channel_id": channel})).await;
    assert_eq!(kind(&frame(&mut typist_ws).await), "typing");
}
