//! WebSocket members: real sockets to the server's Zync endpoint (`/ws/{channel}?token=`), each
//! read by its own task into an [`Inbox`] that the workload defines.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use anyhow::{bail, Context};
use futures::StreamExt;
use serde::Deserialize;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use uuid::Uuid;

use crate::loopback;

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

pub type Socket = WebSocketStream<TcpStream>;

/// The part of a MessageRead frame the workloads look at.
#[derive(Debug, Deserialize)]
pub struct Frame {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub content: Option<String>,
}

/// What a member does with each frame, and what it knows at the end.
pub trait Inbox: Send + 'static {
    fn receive(&mut self, frame: Frame, arrived: Instant);
}

/// Opens a socket to `url` (loopback only), from `source` when given (to spread many
/// connections over several 127.0.0.x addresses, each with its own range of ports).
pub async fn connect(
    url: &str,
    source: Option<IpAddr>,
    config: Option<WebSocketConfig>,
) -> anyhow::Result<Socket> {
    let addr = loopback::require_url(url)?;
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(loopback::require_ip(ip)?, 0))?;
    }
    let stream = socket
        .connect(addr)
        .await
        .with_context(|| format!("connect {addr}"))?;
    stream.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, config)
        .await
        .context("WebSocket handshake")?;
    Ok(ws)
}

/// Reads `ws` into `inbox` until `stop` turns true (then closes the socket politely and hands the
/// inbox back). The server closing first, or an unreadable frame, is an error: a member that
/// drops out would miss messages.
pub fn subscribe<I: Inbox>(
    mut ws: Socket,
    mut inbox: I,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<anyhow::Result<I>> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                next = ws.next() => match next {
                    Some(Ok(Message::Text(text))) => {
                        let arrived = Instant::now();
                        let frame: Frame = serde_json::from_str(&text)
                            .with_context(|| format!("not a MessageRead frame: {text}"))?;
                        inbox.receive(frame, arrived);
                    }
                    // Pings are answered by tungstenite itself as it reads.
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Binary(_))) => bail!("unexpected binary frame"),
                    Some(Ok(Message::Close(close))) => bail!("the server closed the socket: {close:?}"),
                    Some(Err(e)) => bail!("socket error: {e}"),
                    None => bail!("the socket ended"),
                },
                _ = stopped(&mut stop) => {
                    let _ = ws.close(None).await;
                    return Ok(inbox);
                }
            }
        }
    })
}
