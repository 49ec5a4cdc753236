//! The accept loop: what `axum::serve` does, plus the limits a public node needs. Every TCP
//! connection takes a slot ([`ConnectionLimits`]) held through any WebSocket upgrade; past the
//! node's or the client's cap it gets `503` with `Retry-After` and is closed. Request headers
//! must arrive within the header timeout (HTTP/1.1), which also closes connections that sit idle between
//! requests (a WebSocket, once upgraded, has its own idle rule). Accept errors (out of file
//! descriptors) back off instead of spinning.

use std::future::Future;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::admission::{ConnectionLimits, Full, Slot};

/// Seconds a refused client is asked to wait.
pub const RETRY_AFTER_SECS: u64 = 5;
/// Refusals answered at once; past this a refused connection is just closed.
const REFUSALS_IN_FLIGHT: usize = 64;
/// How long a refusal waits for the client's request before answering (clients that send
/// first expect the answer after it), and then for the client to take the answer.
const REFUSAL_WAIT: Duration = Duration::from_millis(250);
const REFUSAL_LINGER: Duration = Duration::from_millis(750);

#[derive(Debug, Clone, Copy)]
pub struct ServeSettings {
    pub header_timeout: Duration,
    /// How long open HTTP requests may take to finish once shutdown begins.
    pub drain: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Arc<ConnectionLimits>,
    settings: ServeSettings,
    shutdown: impl Future<Output = ()>,
) {
    // HTTP/1.1 only: browsers reach a node over HTTP/1.1 (directly, or from a TLS-terminating
    // proxy), and protocol detection would read before the header timer starts, so a silent
    // connection would never time out.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout);
    let builder = Arc::new(builder);
    let draining = CancellationToken::new();
    let connections = TaskTracker::new();
    let refusals = Arc::new(Semaphore::new(REFUSALS_IN_FLIGHT));
    let mut backoff = Duration::from_millis(5);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    if !is_connection_error(&e) {
                        // Out of descriptors or memory: wait for connections to go away.
                        tracing::warn!(error = %e, backoff_ms = backoff.as_millis() as u64, "accept failed; backing off");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                    }
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        backoff = Duration::from_millis(5);
        let slot = match limits.accept(peer.ip()) {
            Ok(slot) => slot,
            Err(full) => {
                refuse(tcp, full, &refusals, &limits);
                continue;
            }
        };
        // Small real-time writes (20 ms Opus frames, events) go out at once, not when Nagle's
        // algorithm decides.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let service =
            tower::ServiceExt::map_request(router.clone(), move |req: Request<Incoming>| {
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let io = TokioIo::new(Counted { tcp, _slot: slot });
        let conn = builder
            .serve_connection(io, TowerToHyperService::new(service))
            .with_upgrades();
        let draining = draining.clone();
        connections.spawn(async move {
            tokio::pin!(conn);
            let ended = tokio::select! {
                r = conn.as_mut() => r,
                _ = draining.cancelled() => {
                    // Finish the request in flight, then close.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, peer = %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    draining.cancel();
    connections.close();
    if tokio::time::timeout(settings.drain, connections.wait())
        .await
        .is_err()
    {
        tracing::debug!("some HTTP requests were still open at shutdown");
    }
}

/// Errors of one connection (the peer gave up before it was accepted), not of the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    )
}

/// Answers a connection over a cap with `503` and `Retry-After`, without serving its request.
fn refuse(mut tcp: TcpStream, full: Full, refusals: &Arc<Semaphore>, limits: &ConnectionLimits) {
    let message = match full {
        Full::Node => "this server is at its connection limit; retry shortly",
        Full::Client => "too many connections from your address; retry shortly",
    };
    tracing::debug!(
        ?full,
        open = limits.open(),
        "connection refused at the door"
    );
    let Ok(permit) = refusals.clone().try_acquire_owned() else {
        return; // Dropped: under a flood, closing is the answer.
    };
    let body =
        serde_json::json!({"error": {"code": "UNAVAILABLE", "message": message, "details": null}})
            .to_string();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\nretry-after: {RETRY_AFTER_SECS}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    tokio::spawn(async move {
        let mut sink = [0u8; 1024];
        let _ = tokio::time::timeout(REFUSAL_WAIT, tcp.read(&mut sink)).await;
        let _ = tokio::time::timeout(REFUSAL_LINGER, async {
            tcp.write_all(response.as_bytes()).await?;
            tcp.shutdown().await?;
            // Read what the client sent, so closing does not reset the connection before it
            // has read the answer.
            while tcp.read(&mut sink).await? > 0 {}
            Ok::<_, std::io::Error>(())
        })
        .await;
        drop(permit);
    });
}

/// A TCP stream that holds its connection slot until it is dropped (also after an upgrade,
/// which moves the stream into the WebSocket).
struct Counted {
    tcp: TcpStream,
    _slot: Slot,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

/// Raises the soft limit on open files to the hard limit; returns the limit now in force.
pub fn raise_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return None;
            }
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim = raised;
                }
            }
        }
        Some(lim.rlim_cur)
    }
    #[cfg(not(unix))]
    None
}

/// The connection cap that leaves descriptors for live interviews (voice processes, the
/// database, vendor calls): at most the configured cap, and a quarter of the file limit (at
/// least 128) kept in reserve.
pub fn connection_cap(configured: usize, fd_limit: Option<u64>) -> usize {
    match fd_limit {
        Some(limit) => {
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            let reserve = (limit / 4).max(128);
            configured.min(limit.saturating_sub(reserve).max(1))
        }
        None => configured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_keeps_descriptors_in_reserve() {
        assert_eq!(connection_cap(10_000, Some(1_048_576)), 10_000);
        assert_eq!(connection_cap(10_000, Some(1024)), 768);
        assert_eq!(connection_cap(10_000, Some(256)), 128);
        assert_eq!(connection_cap(10_000, None), 10_000);
    }
}
