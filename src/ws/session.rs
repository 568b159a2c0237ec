//! The plumbing both WebSocket endpoints share: a bounded outbound queue drained by a writer task,
//! heartbeats, idle detection, shutdown, and an orderly close. What is sent, and when a session
//! ends, is up to a [`Protocol`].
//!
//! The session task never writes to the socket itself: it only queues frames, so a client that
//! stops reading blocks nothing but its own writer. A full queue means the client fell behind;
//! the session stops feeding it and lets the protocol say goodbye (`overflow`).

use std::collections::VecDeque;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{interval_at, sleep, sleep_until, Instant, MissedTickBehavior};

use std::sync::Arc;

use super::protocol::{Ending, Frame, Protocol};
use super::{close, TOKEN_EXPIRED};
use crate::limits::Limiters;
use crate::state::{AppState, WebSocketSettings};

/// How long a socket closed by a shutdown gets to deliver what it has queued and its close frame:
/// the server stops waiting for sockets shortly after it signals them.
const SHUTDOWN_FLUSH: Duration = Duration::from_millis(300);
/// How long we read on after our close frame, for the client's answering one. Closing with
/// unread input in the kernel makes the close a TCP reset, which can destroy the close frame
/// (and anything before it) before the client reads it.
const CLOSE_LINGER: Duration = Duration::from_secs(2);
/// How long a frame may wait for room in a full queue before the client counts as fallen
/// behind (or one ping interval, if shorter). A burst larger than the queue (a channel cleared at
/// once, say) is no reason to cut off a client that reads; one whose queue doesn't move for this
/// long has stopped reading.
const STALL_GRACE: Duration = Duration::from_secs(2);
const MIN_PING_INTERVAL: Duration = Duration::from_millis(100);

/// Why the drive loop stopped.
enum Exit {
    /// We close, with this code.
    Close(Ending),
    /// The client closed or the connection broke: nothing more to say.
    Quit,
}

pub struct Session {
    stream: SplitStream<WebSocket>,
    out: mpsc::Sender<Message>,
    last_words: oneshot::Sender<Vec<Message>>,
    writer: JoinHandle<()>,
    settings: WebSocketSettings,
    shutdown: watch::Receiver<bool>,
    /// Frames that found the queue full, waiting (at most `STALL_GRACE` each) for room. While
    /// there are any, nothing new is taken from the hub, so this stays a frame or two.
    pending: VecDeque<Frame>,
    last_queued: Option<i64>,
    limits: Arc<Limiters>,
    /// Whether the client was told it is throttled since its last admitted frame.
    throttled: bool,
}

impl Session {
    pub fn new(socket: WebSocket, state: &AppState) -> Self {
        let (sink, stream) = socket.split();
        // A zero-capacity mpsc channel panics; one frame is the least a socket can hold.
        let (out, queue) = mpsc::channel(state.websocket.send_queue.max(1));
        let (last_words, last_words_rx) = oneshot::channel();
        Self {
            stream,
            out,
            last_words,
            writer: tokio::spawn(write(sink, queue, last_words_rx)),
            settings: state.websocket,
            shutdown: state.shutdown.clone(),
            pending: VecDeque::new(),
            last_queued: None,
            limits: state.limits.clone(),
            throttled: false,
        }
    }

    /// Serves `protocol` until either side ends the session, then closes.
    pub async fn run<P: Protocol>(mut self, mut protocol: P) {
        let exit = self.drive(&mut protocol).await;
        match exit {
            Exit::Close(ending) => self.close(Some(ending)).await,
            Exit::Quit => self.close(None).await,
        }
    }

    async fn drive<P: Protocol>(&mut self, protocol: &mut P) -> Exit {
        let settings = self.settings;
        let mut shutdown_rx = self.shutdown.clone();
        // A dropped sender means the server is gone too.
        let shutdown = async move {
            let _ = shutdown_rx.wait_for(|down| *down).await;
        };
        tokio::pin!(shutdown);
        let idle = sleep(settings.idle_timeout);
        tokio::pin!(idle);
        // A zero period would make `interval_at` panic (and ping in a busy loop).
        let ping_interval = settings.ping_interval.max(MIN_PING_INTERVAL);
        let stall_grace = STALL_GRACE.min(ping_interval);
        let stall = sleep(stall_grace);
        tokio::pin!(stall);
        let mut ping = interval_at(Instant::now() + ping_interval, ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let expiry = sleep_until(expiry_deadline(protocol.token_expires_at()));
        tokio::pin!(expiry);
        let mut produced = Vec::new();

        loop {
            let stalled = !self.pending.is_empty();
            let backfilling = protocol.backfilling();
            let step: Result<(), Exit> = tokio::select! {
                biased;
                _ = &mut shutdown => Err(Exit::Close(Ending::shutdown())),
                // What a revocation does (`authenticate` would now refuse the token), without
                // waiting for an event that will never come.
                _ = &mut expiry => Err(Exit::Close(Ending::policy(TOKEN_EXPIRED))),
                incoming = self.stream.next() => match incoming {
                    Some(Err(e)) if too_big(&e) => {
                        Err(Exit::Close(Ending::new(close::TOO_BIG, "message too big")))
                    }
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => Err(Exit::Quit),
                    Some(Ok(message)) => {
                        // Anything at all (a pong included) proves the client alive.
                        idle.as_mut().reset(Instant::now() + settings.idle_timeout);
                        match message {
                            Message::Text(_) | Message::Binary(_)
                                if !admit_frame(&self.limits, &mut self.throttled, protocol, &mut produced) =>
                            {
                                Ok(())
                            }
                            Message::Text(text) => {
                                protocol.on_text(text.as_str(), &mut produced).await.map_err(Exit::Close)
                            }
                            _ => Ok(()),
                        }
                    }
                },
                // After the socket: a pong that is already there counts.
                _ = &mut idle => Err(Exit::Close(Ending::new(close::AWAY, "idle timeout"))),
                _ = ping.tick() => {
                    // A full queue means frames are pending already; their delivery is the test.
                    let _ = self.out.try_send(Message::Ping(Bytes::new()));
                    Ok(())
                }
                permit = self.out.reserve(), if stalled => match (permit, self.pending.pop_front()) {
                    (Ok(permit), Some(frame)) => {
                        if frame.position.is_some() {
                            self.last_queued = frame.position;
                        }
                        permit.send(Message::Text(frame.text));
                        stall.as_mut().reset(Instant::now() + stall_grace);
                        Ok(())
                    }
                    _ => Err(Exit::Quit),
                },
                _ = &mut stall, if stalled => {
                    // Frames already queued are what the client gets; the stalled ones are
                    // re-sent after a resume.
                    self.pending.clear();
                    Err(Exit::Close(protocol.overflow(self.last_queued)))
                }
                permit = self.out.reserve(), if backfilling && !stalled => match permit {
                    Err(_) => Err(Exit::Quit),
                    Ok(permit) => match protocol.next_backlog().await {
                        Ok(Some(frame)) => {
                            if frame.position.is_some() {
                                self.last_queued = frame.position;
                            }
                            permit.send(Message::Text(frame.text));
                            Ok(())
                        }
                        Ok(None) => Ok(()),
                        Err(ending) => Err(Exit::Close(ending)),
                    },
                },
                item = protocol.recv(), if !backfilling && !stalled => match item {
                    Ok(item) => protocol.on_item(item, &mut produced).await.map_err(Exit::Close),
                    // The hub outran this session: as good as a full queue.
                    Err(RecvError::Lagged(_)) => Err(Exit::Close(protocol.overflow(self.last_queued))),
                    Err(RecvError::Closed) => Err(Exit::Close(Ending::shutdown())),
                },
            };
            for frame in produced.drain(..) {
                self.offer(frame);
            }
            if !stalled && !self.pending.is_empty() {
                stall.as_mut().reset(Instant::now() + stall_grace);
            }
            if let Err(exit) = step {
                return exit;
            }
        }
    }

    /// Queues a frame without waiting, or sets it aside until there is room (in order).
    fn offer(&mut self, frame: Frame) {
        if !self.pending.is_empty() {
            if !frame.droppable {
                self.pending.push_back(frame);
            }
            return;
        }
        let Frame {
            text,
            position,
            droppable,
        } = frame;
        match self.out.try_send(Message::Text(text)) {
            Ok(()) => {
                if position.is_some() {
                    self.last_queued = position;
                }
            }
            Err(TrySendError::Full(Message::Text(text))) if !droppable => self.pending.push_back(Frame {
                text,
                position,
                droppable,
            }),
            // Ephemeral frames are not worth waiting for; if the writer stopped, the connection
            // is broken and the reading side ends the session.
            Err(_) => {}
        }
    }

    /// Ends the session: lets the writer flush what is queued, then what is pending, `ending`'s
    /// last frame and close frame, within a deadline; then waits briefly for the client's close.
    pub async fn close(self, ending: Option<Ending>) {
        let Self {
            mut stream,
            out,
            last_words,
            mut writer,
            settings,
            mut shutdown,
            pending,
            ..
        } = self;
        let mut hurried = matches!(&ending, Some(e) if e.code == close::AWAY) || ending.is_none();
        // A client that fell behind may still be reading: give it as long as a live one may stay
        // silent. Shutdowns and quits don't wait.
        let deadline = sleep(if hurried {
            SHUTDOWN_FLUSH
        } else {
            settings.idle_timeout
        });
        tokio::pin!(deadline);
        if let Some(ending) = ending {
            let words: Vec<Message> = pending
                .into_iter()
                .map(|frame| frame.text)
                .chain(ending.last_frame.map(Utf8Bytes::from))
                .map(Message::Text)
                .chain([Message::Close(Some(CloseFrame {
                    code: ending.code,
                    reason: ending.reason.into(),
                }))])
                .collect();
            let _ = last_words.send(words);
        }
        // The writer ends once the queue is empty and it has no sender left.
        drop(out);

        let mut reading = true;
        loop {
            tokio::select! {
                _ = &mut writer => break,
                _ = &mut deadline => {
                    writer.abort();
                    break;
                }
                _ = shutdown.wait_for(|down| *down), if !hurried => {
                    hurried = true;
                    deadline.as_mut().reset(Instant::now() + SHUTDOWN_FLUSH);
                }
                // Keep consuming input (pongs, the client's close) while the writer works.
                next = stream.next(), if reading => {
                    if !matches!(next, Some(Ok(_))) {
                        reading = false;
                    }
                }
            }
        }
        if reading {
            let _ = tokio::time::timeout(CLOSE_LINGER, async {
                while let Some(Ok(_)) = stream.next().await {}
            })
            .await;
        }
    }
}

/// When a token whose `exp` is `exp` stops being accepted: requests compare whole seconds with no
/// leeway, so a token is good through the second `exp` names, and the session ends with it.
fn expiry_deadline(exp: i64) -> Instant {
    let left_ms = exp
        .saturating_add(1)
        .saturating_mul(1000)
        .saturating_sub(chrono::Utc::now().timestamp_millis());
    Instant::now() + Duration::from_millis(u64::try_from(left_ms).unwrap_or(0))
}

/// Whether the WebSocket layer refused a message for its size (over `MAX_CLIENT_MESSAGE`). That
/// ends the stream, but the socket can still carry our close frame. A refused frame under the
/// layer's frame limit (16 MiB) was read whole, so closing leaves no unread input behind to turn
/// the close into a reset; past that limit the close frame is sent all the same, best effort.
fn too_big(e: &axum::Error) -> bool {
    use std::error::Error as _;
    matches!(
        e.source()
            .and_then(|inner| inner.downcast_ref::<tungstenite::Error>()),
        Some(tungstenite::Error::Capacity(_))
    )
}

/// Drains the queue into the socket in order, then the session's last words.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<Message>,
    last_words: oneshot::Receiver<Vec<Message>>,
) {
    while let Some(message) = queue.recv().await {
        if sink.send(message).await.is_err() {
            return;
        }
    }
    if let Ok(words) = last_words.await {
        for message in words {
            if sink.send(message).await.is_err() {
                return;
            }
        }
    }
}

/// Whether a data frame from the client is within the user's frame limit. Control frames
/// (pings, pongs) are never counted: they keep the connection alive.
fn admit_frame<P: Protocol>(
    limits: &Limiters,
    throttled: &mut bool,
    protocol: &mut P,
    out: &mut Vec<Frame>,
) -> bool {
    let Some(limiter) = &limits.ws_frames else {
        return true;
    };
    let decision = limiter.take(&protocol.user());
    if decision.allowed {
        *throttled = false;
    } else if !*throttled {
        *throttled = true;
        protocol.on_throttled(decision.retry_after, out);
    }
    decision.allowed
}
