//! The authorization matrix (issue 7): every route the server documents, as every kind of
//! principal, against the status `zync-api.md` (or, for our own routes, their documentation)
//! gives. The spec decides what "every route" is: a route added to `/openapi.json` without a
//! line here fails `every_operation_has_rows`, so nobody ships a route whose access rules were
//! never written down.
//!
//! Reading a line: the expectations are in [`PRINCIPALS`] order (anonymous, stranger, member,
//! author, owner, deleted user). Socket lines expect [`OPEN`] (accepted and serving) or a close
//! code: both sockets accept the upgrade first and refuse with 1008, because browsers can't read
//! the status of a failed handshake. `{user_id}` is the author (the "that user only" of the user
//! routes), `{message_id}` the author's message. See `authz_support.rs` for the scenes.

use std::collections::BTreeSet;

use futures::{FutureExt, StreamExt};
use reqwest::Method;
use serde_json::Value;

use crate::authz_support::{http, run, socket, Cast, Line, OPEN, POLICY, PRINCIPALS};
use crate::support::TestApp;

/// Routes served beside the spec rather than in it: the documentation itself.
const OUTSIDE_SPEC: [(&str, &str); 3] = [("GET", "/openapi.json"), ("GET", "/docs/"), ("GET", "/redoc")];

/// Rows run at once: enough to keep the server busy, few enough for a two-core machine.
const CONCURRENT_ROWS: usize = 6;

const ANYONE: [u16; 6] = [200; 6];
const ANY_USER: [u16; 6] = [401, 200, 200, 200, 200, 401];
const MEMBERS_ONLY: [u16; 6] = [401, 403, 200, 200, 200, 401];
const OWNER_ONLY: [u16; 6] = [401, 403, 403, 403, 200, 401];
/// The message's author, or for the user routes the user `{user_id}` names ("that user only").
const AUTHOR_ONLY: [u16; 6] = [401, 403, 403, 200, 403, 401];

// Kept as a table: one line per operation, its expectations in aligned columns.
#[rustfmt::skip]
fn matrix() -> Vec<Line> {
    use Method as M;
    vec![
        // Columns: anonymous, stranger, member, author, owner, deleted.
        http(M::GET,    "/",                                              ANYONE),
        // The bearer header is ignored; the form carries the author's credentials.
        http(M::POST,   "/token",                                         ANYONE),
        // Revokes the caller's own token only (each row's caller has its own account).
        http(M::POST,   "/logout",                                        ANY_USER),
        http(M::GET,    "/healthz",                                       ANYONE),
        http(M::GET,    "/readyz",                                        ANYONE),
        // Open unless METRICS_TOKEN is set (then only that token, which no principal holds).
        http(M::GET,    "/metrics",                                       ANYONE),
        http(M::GET,    "/openapi.json",                                  ANYONE),
        http(M::GET,    "/docs/",                                         ANYONE),
        http(M::GET,    "/redoc",                                         ANYONE),

        http(M::POST,   "/users/",                                        [201; 6]),
        http(M::GET,    "/users/",                                        ANY_USER),
        http(M::GET,    "/users/me",                                      ANY_USER),
        http(M::GET,    "/users/{user_id}",                               ANY_USER),
        http(M::PATCH,  "/users/{user_id}",                               AUTHOR_ONLY),
        http(M::DELETE, "/users/{user_id}",                               AUTHOR_ONLY),

        http(M::POST,   "/channels/",                                     [401, 201, 201, 201, 201, 401]),
        http(M::GET,    "/channels/",                                     ANY_USER),
        http(M::GET,    "/channels/owners",                               ANY_USER),
        http(M::GET,    "/channels/my-memberships",                       ANY_USER),
        http(M::GET,    "/channels/{channel_id}",                         ANY_USER),
        http(M::PATCH,  "/channels/{channel_id}",                         OWNER_ONLY),
        http(M::DELETE, "/channels/{channel_id}",                         OWNER_ONLY),
        http(M::PATCH,  "/channels/{channel_id}/change_owner",            OWNER_ONLY),
        // The contract's fix: any authenticated user, not only the user themself.
        http(M::GET,    "/channels/user/{user_id}/memberships",           ANY_USER),
        http(M::GET,    "/channels/user/{user_id}/shared-memberships",    ANY_USER),
        // Members (the owner too) are members already: 409, not a second membership.
        http(M::POST,   "/channels/{channel_id}/join",                    [401, 201, 409, 409, 409, 401]),
        // A stranger has no membership to end (404); the owner may not leave (400).
        http(M::DELETE, "/channels/{channel_id}/leave",                   [401, 404, 204, 204, 400, 401]),
        http(M::GET,    "/channels/{channel_id}/members",                 MEMBERS_ONLY),

        http(M::POST,   "/messages/channels/{channel_id}/messages",       [401, 403, 201, 201, 201, 401]),
        http(M::POST,   "/messages/channels/{channel_id}/files",          [401, 403, 201, 201, 201, 401]),
        // The contract's fix: only members of the message's channel.
        http(M::GET,    "/messages/{message_id}",                         MEMBERS_ONLY),
        http(M::PATCH,  "/messages/{message_id}",                         AUTHOR_ONLY),
        // The author, or the channel's owner (as Zync documents).
        http(M::DELETE, "/messages/{message_id}",                         [401, 403, 403, 200, 200, 401]),
        http(M::GET,    "/messages/channel/{channel_id}",                 MEMBERS_ONLY),
        http(M::GET,    "/messages/channel/{channel_id}/user/{user_id}",  MEMBERS_ONLY),
        // Anyone may ask; the list only holds messages of the caller's channels.
        http(M::GET,    "/messages/user/{user_id}",                       ANY_USER),
        http(M::DELETE, "/messages/channel/{channel_id}/messages",        OWNER_ONLY),

        // The access URL is for members; the link it gives is the credential, so a bearer
        // token neither adds nor replaces anything.
        http(M::GET,    "/messages/{message_id}/access-url",              MEMBERS_ONLY),
        http(M::GET,    "/files/{key}",                                   ANYONE),
        http(M::GET,    "/files/{key}",                                   [403; 6]).unsigned(),

        http(M::GET,    "/v1/events",                                     ANY_USER),
        http(M::GET,    "/v1/channels/{channel_id}/history",              OWNER_ONLY),
        // The caller's own data only: there is no way to name another user.
        http(M::GET,    "/v1/users/me/export",                            ANY_USER),
        // Each row's scene is its own, so every caller erases an account of their own (an
        // owner's channel passes to a member).
        http(M::POST,   "/v1/users/me/erase",                             ANY_USER),

        socket("/ws/{channel_id}", [POLICY, POLICY, OPEN, OPEN, OPEN, POLICY]),
        socket("/v1/ws",           [POLICY, OPEN,   OPEN, OPEN, OPEN, POLICY]),
    ]
}

/// Every `(METHOD, path)` operation of an OpenAPI document.
fn operations(spec: &Value) -> BTreeSet<(String, String)> {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let paths = spec["paths"].as_object().expect("the spec has paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

fn listed(ops: &BTreeSet<(String, String)>) -> String {
    ops.iter()
        .map(|(method, path)| format!("  {method} {path}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn every_operation_has_rows() {
    let app = TestApp::spawn().await;
    let documented = operations(&app.get("/openapi.json", None).await.expect(200));
    let outside: BTreeSet<(String, String)> = OUTSIDE_SPEC
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let covered: BTreeSet<(String, String)> = matrix().iter().map(Line::operation).collect();

    let missing: BTreeSet<_> = documented.difference(&covered).cloned().collect();
    let unknown: BTreeSet<_> = covered
        .difference(&documented)
        .filter(|op| !outside.contains(op))
        .cloned()
        .collect();
    let now_documented: BTreeSet<_> = outside.intersection(&documented).cloned().collect();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!(
            "operations in /openapi.json without rows in the authorization matrix; add a line for \
             each to matrix() in tests/api/authz_matrix.rs, with what every principal gets:\n{}",
            listed(&missing)
        ));
    }
    if !unknown.is_empty() {
        problems.push(format!(
            "rows for operations /openapi.json does not have (renamed or removed?):\n{}",
            listed(&unknown)
        ));
    }
    if !now_documented.is_empty() {
        problems.push(format!(
            "in /openapi.json now, so no longer OUTSIDE_SPEC:\n{}",
            listed(&now_documented)
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn every_principal_gets_what_the_contract_says() {
    let app = TestApp::spawn().await;
    let cast = Cast::register(&app).await;
    let rows: Vec<(Line, usize)> = matrix()
        .into_iter()
        .flat_map(|line| (0..PRINCIPALS.len()).map(move |column| (line.clone(), column)))
        .collect();
    let total = rows.len();

    let mut failures: Vec<(usize, String)> = futures::stream::iter(rows.into_iter().enumerate())
        .map(|(n, (line, column))| {
            let (app, cast) = (&app, &cast);
            async move {
                let (who, expected) = (PRINCIPALS[column], line.expect[column]);
                let row = format!("{} as {who:?}", line.describe());
                // A panic (a scene that could not be built, say) fails its row, not the others.
                match std::panic::AssertUnwindSafe(run(app, cast, &line, who, n))
                    .catch_unwind()
                    .await
                {
                    Ok(outcome) if outcome.is(expected) => None,
                    Ok(outcome) => Some((n, format!("{row}: expected {expected}, got {outcome}"))),
                    Err(_) => Some((n, format!("{row}: panicked (see above)"))),
                }
            }
        })
        .buffer_unordered(CONCURRENT_ROWS)
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    // In the matrix's order, whichever finished first.
    failures.sort();

    assert!(
        failures.is_empty(),
        "{} of {total} rows disagree with the contract:\n{}",
        failures.len(),
        failures
            .iter()
            .map(|(_, failure)| failure.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
