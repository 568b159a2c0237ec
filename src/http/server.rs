//! The accept loop: every connection served by hyper with the timeouts that keep slow clients
//! (slowloris) from holding connections open, plus graceful shutdown.
//!
//! This replaces `axum::serve`, which builds hyper's connection without a timer: hyper then
//! silently disables its `header_read_timeout` (30 s by default, but it needs a timer to run),
//! so a client that trickles header lines, or connects and says nothing, kept its connection and
//! task forever. Here:
//!
//! - HTTP/1 request heads get `header_timeout` (hyper's `header_read_timeout`, with a Tokio
//!   timer). hyper starts that clock whenever it waits for a request head, so it also closes a
//!   keep-alive connection left idle that long.
//! - Before hyper even parses HTTP/1, `auto::Builder` reads the first bytes to tell HTTP/1 from
//!   an HTTP/2 preface, with no timeout of its own; and HTTP/2 has no header timeout at all. So
//!   every connection must also deliver its *first* request to the service within
//!   `header_timeout` of being accepted, or it is dropped.
//! - Request bodies are bounded separately (see [`super::body_timeout`]).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use futures::FutureExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

/// Timeouts for slow clients (from the environment; tests shorten them).
#[derive(Clone, Copy, Debug)]
pub struct HttpSettings {
    /// `HTTP_HEADER_TIMEOUT_SECS`: how long a request head (request line and headers) may take
    /// to arrive; also how long an idle keep-alive connection is kept. Zero turns it off.
    pub header_timeout: Duration,
    /// `HTTP_BODY_TIMEOUT_SECS`: the window in which a request body must make progress (see
    /// [`super::body_timeout`]). Zero turns it off.
    pub body_timeout: Duration,
}

/// Serves `router` on `listener` until `signal` completes; then stops accepting, lets every
/// connection finish its requests (hyper's graceful shutdown) and returns once all have closed.
/// Upgraded connections (WebSockets) are no longer the server's by then: their sessions watch
/// the application's own shutdown signal.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: HttpSettings,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    // Connections watch `stop_tx.closed()`: dropping the only receiver tells them all.
    let (stop_tx, stop_rx) = watch::channel(());
    tokio::spawn(async move {
        signal.await;
        drop(stop_rx);
    });
    // Each connection task holds a receiver; the sender sees them all gone when the last ends.
    let (done_tx, done_rx) = watch::channel(());

    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            _ = stop_tx.closed() => break,
        };
        // Nagle's algorithm would hold a small write (a WebSocket frame, a short response) while
        // an earlier one is unacknowledged, and clients delay their ACKs by up to 40 ms: the
        // benchmark's delivery p99 was 46 ms for a p50 of 3 ms until this was set.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        let stop = stop_tx.clone();
        let done = done_rx.clone();
        let router = router.clone();
        tokio::spawn(async move {
            serve_connection(tcp, remote, router, settings, stop).await;
            drop(done);
        });
    }

    drop(done_rx);
    drop(listener);
    done_tx.closed().await;
}

async fn serve_connection(
    tcp: TcpStream,
    remote: SocketAddr,
    router: Router,
    settings: HttpSettings,
    stop: watch::Sender<()>,
) {
    let first_request = Arc::new(AtomicBool::new(false));
    // The address the client reached: links fall back to it when a request names no valid Host.
    let local = tcp.local_addr().ok().map(super::origin::LocalAddr);
    let service = {
        let first_request = first_request.clone();
        hyper::service::service_fn(move |mut request: Request<Incoming>| {
            first_request.store(true, Ordering::Relaxed);
            // What `into_make_service_with_connect_info::<SocketAddr>` would have added.
            request.extensions_mut().insert(ConnectInfo(remote));
            if let Some(local) = local {
                request.extensions_mut().insert(local);
            }
            router.clone().oneshot(request.map(Body::new))
        })
    };

    let header_timeout = Some(settings.header_timeout).filter(|t| !t.is_zero());
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    // The CONNECT protocol carries WebSockets over HTTP/2 (as `axum::serve` enabled it).
    builder.http2().timer(TokioTimer::new()).enable_connect_protocol();

    let mut connection = pin!(builder.serve_connection_with_upgrades(TokioIo::new(tcp), service));
    let mut stopping = pin!(stop.closed().fuse());
    let mut first_deadline = pin!(tokio::time::sleep(settings.header_timeout));
    let mut awaiting_first = header_timeout.is_some();
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%remote, %error, "connection ended with an error");
                }
                return;
            }
            _ = &mut stopping => connection.as_mut().graceful_shutdown(),
            _ = &mut first_deadline, if awaiting_first => {
                if !first_request.load(Ordering::Relaxed) {
                    tracing::debug!(%remote, "no request within the header timeout; closing");
                    return;
                }
                awaiting_first = false;
            }
        }
    }
}

/// Not being able to accept (out of file descriptors, say) must not end the server, nor spin.
async fn accept_failed(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    // Per-connection failures: the next accept is unaffected.
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accept failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
