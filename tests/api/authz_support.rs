//! The authorization matrix's machinery: who asks ([`Who`]), what a line of the matrix says
//! ([`Line`]), the world each row runs in ([`Scene`]), and one row's request and its [`Outcome`].
//!
//! Every row gets a scene of its own, so that destructive rows (deleting the channel or the
//! author, leaving, clearing, changing the owner, revoking the caller's tokens) can run in any
//! order, concurrently, without changing what another row sees: its own channel, messages and
//! file, and a caller of its own. A request can change its caller's account (delete it, log it
//! out) but not another user's, so the other parts are played by users all scenes share; were
//! one of them changed anyway, the row that did it fails on its own. Registering only the caller
//! keeps the password hashing, most of a scene's cost, to one per row.

use std::fmt;

use reqwest::Method;
use serde_json::{json, Value};

use crate::files_support::{file_part, link, png, upload, upload_as};
use crate::support::{TestApp, TestUser};
use crate::users_support::unauthorized_body;
use crate::ws_support::{self, Next, PATIENCE};

/// The principals, in the order of a line's expectations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Anonymous,
    /// Authenticated, not a member of the scene's channel.
    Stranger,
    Member,
    /// Wrote the scene's messages; also the user the `{user_id}` routes are about.
    Author,
    /// Owns the scene's channel (and, as its creator, is a member).
    Owner,
    /// Holds the token of a user who then deleted their account.
    Deleted,
}

pub const PRINCIPALS: [Who; 6] = [
    Who::Anonymous,
    Who::Stranger,
    Who::Member,
    Who::Author,
    Who::Owner,
    Who::Deleted,
];

/// Accepted socket: the handshake succeeded and the session serves frames.
pub const OPEN: u16 = 101;
/// Socket closed with a policy violation after the handshake ("log in again").
pub const POLICY: u16 = 1008;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Http,
    Socket,
}

/// How `/files/{key}` is addressed: as the access URL gave it, or by the bare key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Signed,
    Unsigned,
}

/// One operation and what each principal gets, in [`PRINCIPALS`] order: an HTTP status, or for
/// a socket [`OPEN`], a close code, or the status a refused handshake answered.
#[derive(Debug, Clone)]
pub struct Line {
    pub method: Method,
    pub path: &'static str,
    pub transport: Transport,
    pub link: Link,
    pub expect: [u16; 6],
}

pub fn http(method: Method, path: &'static str, expect: [u16; 6]) -> Line {
    Line {
        method,
        path,
        transport: Transport::Http,
        link: Link::Signed,
        expect,
    }
}

pub fn socket(path: &'static str, expect: [u16; 6]) -> Line {
    Line {
        transport: Transport::Socket,
        ..http(Method::GET, path, expect)
    }
}

impl Line {
    pub fn unsigned(self) -> Self {
        Self {
            link: Link::Unsigned,
            ..self
        }
    }

    /// The line in a failure message.
    pub fn describe(&self) -> String {
        let unsigned = match self.link {
            Link::Unsigned => " (no signature)",
            Link::Signed => "",
        };
        format!("{} {}{unsigned}", self.method, self.path)
    }

    pub fn operation(&self) -> (String, String) {
        (self.method.to_string(), self.path.to_string())
    }
}

/// Who plays each part of a scene.
#[derive(Clone)]
pub struct Cast {
    pub owner: TestUser,
    pub member: TestUser,
    pub author: TestUser,
    pub stranger: TestUser,
    /// Logged in, then deleted their account.
    pub deleted: TestUser,
}

impl Cast {
    /// The users the scenes share.
    pub async fn register(app: &TestApp) -> Self {
        let deleted = app.register("deleted").await;
        app.delete(&format!("/users/{}", deleted.id), Some(&deleted.token))
            .await
            .expect(200);
        Self {
            owner: app.register("owner").await,
            member: app.register("member").await,
            author: app.register("author").await,
            stranger: app.register("stranger").await,
            deleted,
        }
    }

    fn user(&self, who: Who) -> Option<&TestUser> {
        match who {
            Who::Anonymous => None,
            Who::Stranger => Some(&self.stranger),
            Who::Member => Some(&self.member),
            Who::Author => Some(&self.author),
            Who::Owner => Some(&self.owner),
            Who::Deleted => Some(&self.deleted),
        }
    }

    /// The part `who` plays, if a row's caller in it needs a user of its own. Not the deleted
    /// user: nothing can change a deleted account.
    fn part_mut(&mut self, who: Who) -> Option<&mut TestUser> {
        match who {
            Who::Anonymous | Who::Deleted => None,
            Who::Stranger => Some(&mut self.stranger),
            Who::Member => Some(&mut self.member),
            Who::Author => Some(&mut self.author),
            Who::Owner => Some(&mut self.owner),
        }
    }
}

/// One row's world: a channel of the owner with the member and the author in it, the author's
/// text and file messages; the stranger is in none of it.
pub struct Scene {
    pub cast: Cast,
    pub channel: String,
    pub text: String,
    pub file: String,
    /// The file's signed link, as `GET /messages/{id}/access-url` gave it.
    pub link: String,
}

impl Scene {
    /// A scene for a row whose caller is `who`; `n` keeps its names unique.
    pub async fn build(app: &TestApp, shared: &Cast, who: Who, n: usize) -> Self {
        let mut cast = shared.clone();
        if let Some(part) = cast.part_mut(who) {
            *part = app.register(&format!("{who:?}{n}").to_lowercase()).await;
        }
        let Cast {
            owner,
            member,
            author,
            ..
        } = &cast;
        let channel = ws_support::channel_with(app, owner, &[member, author], &format!("room{n}")).await;
        let text = app.post_message(author, &channel, "hello").await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let file = upload(app, author, &channel, "pic.png", "image/png", &png(2, 2))
            .await
            .expect(201)["id"]
            .as_str()
            .unwrap()
            .to_string();
        let link = link(app, author, &file).await;
        // The local store's links are absolute, on the host asked; the matrix wants the path.
        let link = link
            .strip_prefix(&app.url(""))
            .unwrap_or_else(|| panic!("a link on this server: {link}"))
            .to_string();
        Self {
            cast,
            channel,
            text,
            file,
            link,
        }
    }

    fn token(&self, who: Who) -> Option<&str> {
        self.cast.user(who).map(|user| user.token.as_str())
    }

    /// The line's path template filled in with this scene's ids.
    fn path(&self, line: &Line) -> String {
        if line.path == "/files/{key}" {
            return match line.link {
                Link::Signed => self.link.clone(),
                Link::Unsigned => self.link.split('?').next().unwrap().to_string(),
            };
        }
        // A text message's access URL is a 400 for everyone allowed to ask: the file message
        // is the one that tells who may.
        let message = if line.path.ends_with("/access-url") {
            &self.file
        } else {
            &self.text
        };
        let path = line
            .path
            .replace("{channel_id}", &self.channel)
            .replace("{user_id}", &self.cast.author.id)
            .replace("{message_id}", message);
        assert!(
            !path.contains('{'),
            "{}: a path parameter Scene::path does not fill in",
            line.path
        );
        if line.path.ends_with("/change_owner") {
            format!("{path}?new_owner_id={}", self.cast.member.id)
        } else {
            path
        }
    }
}

/// What a row's request got.
#[derive(Debug)]
pub enum Outcome {
    Status(u16, String),
    /// A 401 without the contract's challenge header and body.
    OtherUnauthorized(String),
    Open,
    Closed(Option<u16>),
    /// Accepted, but the message posted meanwhile never arrived.
    Silent,
    /// Accepted, but the first frame was not the expected one.
    Unexpected(Value),
}

impl Outcome {
    pub fn is(&self, expected: u16) -> bool {
        match self {
            Outcome::Status(status, _) => *status == expected,
            Outcome::Open => expected == OPEN,
            Outcome::Closed(code) => *code == Some(expected),
            Outcome::OtherUnauthorized(_) | Outcome::Silent | Outcome::Unexpected(_) => false,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Status(status, body) => write!(f, "{status} {body}"),
            Outcome::OtherUnauthorized(what) => write!(f, "a 401 unlike the contract's: {what}"),
            Outcome::Open => write!(f, "socket open ({OPEN})"),
            Outcome::Closed(Some(code)) => write!(f, "socket closed with {code}"),
            Outcome::Closed(None) => write!(f, "socket ended without a close code"),
            Outcome::Silent => write!(f, "socket open but silent"),
            Outcome::Unexpected(frame) => write!(f, "socket sent {frame}"),
        }
    }
}

/// Runs one row in a scene of its own (`n` keeps its names unique).
pub async fn run(app: &TestApp, cast: &Cast, line: &Line, who: Who, n: usize) -> Outcome {
    let scene = Scene::build(app, cast, who, n).await;
    let token = scene.token(who);
    let path = scene.path(line);
    match line.transport {
        Transport::Http => send(app, &scene, line, &path, token, n).await,
        Transport::Socket => connect(app, &scene, &path, token).await,
    }
}

async fn send(
    app: &TestApp,
    scene: &Scene,
    line: &Line,
    path: &str,
    token: Option<&str>,
    n: usize,
) -> Outcome {
    if line.path == "/messages/channels/{channel_id}/files" {
        let resp = upload_as(
            app,
            token,
            &scene.channel,
            &[file_part("up.png", "image/png", &png(2, 2))],
        )
        .await;
        return Outcome::Status(resp.status, resp.body.to_string());
    }
    let mut req = app.client.request(line.method.clone(), app.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req = match (line.method.as_str(), line.path) {
        // Logging in needs no token: the form is the author's, whoever sends it.
        ("POST", "/token") => req.form(&[
            ("username", scene.cast.author.username.as_str()),
            ("password", scene.cast.author.password.as_str()),
        ]),
        _ => match json_body(line, n) {
            Some(body) => req.json(&body),
            None => req,
        },
    };
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let challenge = resp.headers().get("www-authenticate").cloned();
    let mut body = resp.text().await.unwrap_or_default();
    // Zync clients log in again on exactly this 401; any other is a different answer.
    let contract_body = serde_json::from_str::<Value>(&body).ok() == Some(unauthorized_body());
    if status == 401 && (challenge.as_ref().is_none_or(|c| c != "Bearer") || !contract_body) {
        return Outcome::OtherUnauthorized(format!("WWW-Authenticate: {challenge:?}, body {body}"));
    }
    body.truncate(200);
    Outcome::Status(status, body)
}

/// A valid body for the operations that need one, so that only authorization decides.
fn json_body(line: &Line, n: usize) -> Option<Value> {
    let body = match (line.method.as_str(), line.path) {
        ("POST", "/users/") => json!({
            "username": format!("newcomer{n}"),
            "email": format!("newcomer{n}@example.com"),
            "password": "pw-newcomer-secret",
        }),
        ("PATCH", "/users/{user_id}") => json!({"bio": "changed"}),
        ("POST", "/channels/") => json!({"name": format!("made{n}"), "description": "new"}),
        ("PATCH", "/channels/{channel_id}") => json!({"name": format!("renamed{n}")}),
        ("POST", "/messages/channels/{channel_id}/messages") => json!({"content": "posted"}),
        ("PATCH", "/messages/{message_id}") => json!({"content": "edited"}),
        _ => return None,
    };
    Some(body)
}

/// A socket's outcome. An accepted Zync socket proves it serves by relaying a message posted
/// after the handshake; the native socket's first frame is `ready`.
async fn connect(app: &TestApp, scene: &Scene, path: &str, token: Option<&str>) -> Outcome {
    let path = match token {
        Some(token) => format!("{path}?token={token}"),
        None => path.to_string(),
    };
    let mut ws = match ws_support::handshake(app, &path).await {
        Ok(ws) => ws,
        Err(status) => return Outcome::Status(status, String::new()),
    };
    let native = path.starts_with("/v1/ws");
    let posted = if native {
        None
    } else {
        Some(app.post_message(&scene.cast.owner, &scene.channel, "live").await["id"].clone())
    };
    match ws_support::next_within(&mut ws, PATIENCE).await {
        None => Outcome::Silent,
        Some(Next::Closed(code)) => Outcome::Closed(code),
        Some(Next::Frame(frame)) => {
            let expected = match &posted {
                Some(id) => frame["id"] == *id,
                None => frame["type"] == "ready",
            };
            if expected {
                Outcome::Open
            } else {
                Outcome::Unexpected(frame)
            }
        }
    }
}
