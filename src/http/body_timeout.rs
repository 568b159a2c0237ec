//! Request bodies that stop making progress are cut off with 408.
//!
//! Why a minimum-progress window rather than a total deadline or a plain idle timeout:
//!
//! - A total deadline fits a JSON body of a few KiB but not a 25 MiB upload on a slow link,
//!   which may honestly take many minutes; any deadline long enough for that one is useless
//!   against a client that trickles a small JSON body.
//! - An idle timeout between chunks (nginx's `client_body_timeout`) is beaten by trickling: one
//!   byte every few seconds resets it forever.
//! - So (like Apache's `mod_reqtimeout` with a `MinRate`): within every window of
//!   `HTTP_BODY_TIMEOUT_SECS` the body must deliver at least [`MIN_PROGRESS_BYTES`] (or end).
//!   Each time it does, a new window starts. A body smaller than that (every JSON request) must
//!   therefore arrive whole within one window, while an upload only needs to sustain about
//!   `MIN_PROGRESS_BYTES / window` (≈ 550 B/s at the 30 s default): any real link does.
//!
//! The clock starts when the handler first asks for the body (not when the request arrived),
//! so time the server spends before reading (authorization, a busy pool) is not the client's.
//!
//! A body that times out fails its reader with [`BodyTimedOut`]; whatever refusal the handler
//! then makes of "could not read the body" (400, 413, or axum's multipart 500) is replaced by a
//! 408 with `Connection: close`, so the client learns why and the connection is freed.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use super::error::ApiError;

/// How much a body must deliver per window to keep going.
pub const MIN_PROGRESS_BYTES: usize = 16 * 1024;

const TIMED_OUT: &str = "Request body timed out: the client sent it too slowly";

/// The error a body that stopped making progress fails with.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body made too little progress")
    }
}

impl std::error::Error for BodyTimedOut {}

/// Middleware: every request body gets a progress window of `window` (zero: none); a refusal
/// caused by the body timing out becomes a 408.
pub async fn guard(State(window): State<Duration>, request: Request, next: Next) -> Response {
    if window.is_zero() {
        return next.run(request).await;
    }
    let timed_out = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| Body::new(ProgressBody::new(body, window, timed_out.clone())));
    let response = next.run(request).await;
    let status = response.status();
    if timed_out.load(Ordering::Relaxed) && (status.is_client_error() || status.is_server_error()) {
        tracing::info!(refused_with = %status, "request body timed out");
        let mut response = ApiError::new(StatusCode::REQUEST_TIMEOUT, TIMED_OUT).into_response();
        // The rest of the body was never read: the connection cannot carry another request.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    response
}

pin_project! {
    /// A body that fails with [`BodyTimedOut`] when a window passes with less than
    /// [`MIN_PROGRESS_BYTES`] received.
    pub struct ProgressBody {
        #[pin]
        inner: Body,
        // Armed on the first poll: the end of the current window.
        #[pin]
        deadline: Option<Sleep>,
        window: Duration,
        // Received in the current window.
        progress: usize,
        timed_out: Arc<AtomicBool>,
    }
}

impl ProgressBody {
    pub fn new(inner: Body, window: Duration, timed_out: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            deadline: None,
            window,
            progress: 0,
            timed_out,
        }
    }
}

impl HttpBody for ProgressBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let mut this = self.project();
        if this.deadline.is_none() {
            this.deadline.set(Some(tokio::time::sleep(*this.window)));
        }
        // Whatever has already arrived counts before the deadline is looked at.
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            if let Some(Ok(data)) = frame.as_ref().map(|f| f.as_ref().map(Frame::data_ref)) {
                *this.progress += data.map_or(0, Bytes::len);
                if *this.progress >= MIN_PROGRESS_BYTES {
                    *this.progress = 0;
                    if let Some(deadline) = this.deadline.as_mut().as_pin_mut() {
                        deadline.reset(Instant::now() + *this.window);
                    }
                }
            }
            return Poll::Ready(frame);
        }
        if let Some(deadline) = this.deadline.as_pin_mut() {
            ready!(deadline.poll(cx));
            this.timed_out.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use http_body_util::BodyExt;

    /// A body fed by hand: (the body, its sender).
    fn fed() -> (Body, tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>) {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx).boxed();
        (Body::from_stream(stream), tx)
    }

    fn wrap(body: Body) -> (ProgressBody, Arc<AtomicBool>) {
        let flag = Arc::new(AtomicBool::new(false));
        (
            ProgressBody::new(body, Duration::from_secs(10), flag.clone()),
            flag,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickled_small_body_times_out_within_one_window() {
        let (body, tx) = fed();
        let (body, flag) = wrap(body);
        tokio::spawn(async move {
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if tx.send(Ok(Bytes::from_static(b"x"))).await.is_err() {
                    return;
                }
            }
        });
        let started = Instant::now();
        let error = body.collect().await.expect_err("times out");
        assert!(std::error::Error::source(&error).is_some_and(|e| e.is::<BodyTimedOut>()));
        assert!(flag.load(Ordering::Relaxed));
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_but_steady_upload_keeps_going() {
        let (body, tx) = fed();
        let (body, flag) = wrap(body);
        // 4 KiB a second: under a window's minimum per second, above it per window.
        tokio::spawn(async move {
            for _ in 0..60 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                tx.send(Ok(Bytes::from(vec![0; 4096]))).await.unwrap();
            }
        });
        let collected = body.collect().await.expect("completes").to_bytes();
        assert_eq!(collected.len(), 60 * 4096);
        assert!(!flag.load(Ordering::Relaxed));
    }

    #[tokio::test(start_paused = true)]
    async fn the_clock_starts_when_the_body_is_first_read() {
        let (body, flag) = wrap(Body::from("complete"));
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(body.collect().await.unwrap().to_bytes(), "complete");
        assert!(!flag.load(Ordering::Relaxed));
    }
}
