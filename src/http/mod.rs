//! The HTTP(S) front end: `serve` runs one bound listener until shutdown, then drains.

pub mod auth;
pub mod health;
pub mod response;
pub mod routes;
pub mod tls;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use vmq_actors::ConnectionCounts;

pub use routes::HttpContext;

/// HTTP/1 request heads (and HTTP/2 header lists) larger than this are refused (431).
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// How long a drain waits for open requests before closing what is left.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections on `listener` until `shutdown` resolves, then drains open connections.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    ctx: Arc<HttpContext>,
    counts: Arc<ConnectionCounts>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            ctx: Arc::clone(&ctx),
            tls: tls.clone(),
            guard: counts.open(),
            header_timeout: ctx.node.config().http_header_read_timeout(),
        };
        let watcher = graceful.watcher();
        tokio::spawn(async move { connection.run(stream, watcher).await });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after the drain timeout; closing them");
    }
}

/// One accepted connection and what serving it needs.
struct Connection {
    ctx: Arc<HttpContext>,
    tls: Option<TlsAcceptor>,
    guard: vmq_actors::ConnectionGuard,
    header_timeout: Duration,
}

impl Connection {
    async fn run(self, stream: TcpStream, watcher: hyper_util::server::graceful::Watcher) {
        // A client that connects and sends nothing must not hold a task forever.
        let mut first = [0u8; 1];
        if !matches!(
            tokio::time::timeout(self.header_timeout, stream.peek(&mut first)).await,
            Ok(Ok(1..))
        ) {
            return;
        }
        match self.tls.clone() {
            None => self.serve(stream, watcher).await,
            Some(acceptor) => {
                match tokio::time::timeout(self.header_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(tls_stream)) => self.serve(tls_stream, watcher).await,
                    Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake timed out"),
                }
            }
        }
    }

    async fn serve<S>(self, stream: S, watcher: hyper_util::server::graceful::Watcher)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let header_timeout = self.header_timeout;
        let ctx = Arc::clone(&self.ctx);
        let seen_request = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&seen_request);
        let mut served = tokio::spawn(async move {
            let builder = http_builder(header_timeout);
            let service = service_fn(move |request| {
                seen.store(true, Ordering::Relaxed);
                routes::route_incoming(request, Arc::clone(&ctx))
            });
            let connection = watcher.watch(builder.serve_connection(TokioIo::new(stream), service));
            if let Err(error) = connection.await {
                tracing::debug!(%error, "HTTP connection ended with an error");
            }
        });
        // hyper's header timeout covers HTTP/1 only; this also closes an HTTP/2 client that sends
        // half a preface, or a preface and then nothing. The connection runs in its own task, so
        // this timer is polled once, not on every wake-up of the connection.
        tokio::select! {
            _ = &mut served => {}
            () = tokio::time::sleep(self.header_timeout) => {
                if seen_request.load(Ordering::Relaxed) {
                    let _ = served.await;
                } else {
                    tracing::debug!("closing a connection that sent no request in time");
                    served.abort();
                }
            }
        }
        drop(self.guard);
    }
}

/// HTTP/1.1 and h2 with the limits of every listener: header size, header read timeout.
fn http_builder(header_timeout: Duration) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(MAX_HEADER_BYTES).unwrap_or(u32::MAX));
    builder
}
