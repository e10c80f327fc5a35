//! The HTTP(S) front end: `serve` runs one bound listener until shutdown, then drains.

pub mod api_v2;
pub mod auth;
pub mod body;
pub mod health;
pub mod response;
pub mod routes;
pub mod status;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use vmq_actors::ConnectionCounts;

use crate::accept::{accept_until_stopped, stopped};

pub use routes::HttpContext;

/// HTTP/1 request heads (and HTTP/2 header lists) larger than this are refused (431).
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// How long a drain waits for open requests before closing what is left.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections on `listener` until `stop` turns true, then drains open connections:
/// each finishes the request it is serving, then closes; after a drain timeout (10 s) the rest are cut.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    ctx: Arc<HttpContext>,
    counts: Arc<ConnectionCounts>,
    stop: watch::Receiver<bool>,
) {
    let accepting = stop.clone();
    accept_until_stopped(
        listener,
        accepting,
        DRAIN_TIMEOUT,
        "http",
        |stream, peer| {
            let connection = Connection {
                peer,
                ctx: Arc::clone(&ctx),
                tls: tls.clone(),
                guard: counts.open(),
                header_timeout: ctx.node.config().http_header_read_timeout(),
                stop: stop.clone(),
            };
            connection.run(stream)
        },
    )
    .await;
}

/// One accepted connection and what serving it needs.
struct Connection {
    peer: SocketAddr,
    ctx: Arc<HttpContext>,
    tls: Option<TlsAcceptor>,
    guard: vmq_actors::ConnectionGuard,
    header_timeout: Duration,
    stop: watch::Receiver<bool>,
}

impl Connection {
    async fn run(self, stream: TcpStream) {
        // A client that connects and sends nothing must not hold a task forever.
        let mut first = [0u8; 1];
        if !matches!(
            tokio::time::timeout(self.header_timeout, stream.peek(&mut first)).await,
            Ok(Ok(1..))
        ) {
            return;
        }
        match self.tls.clone() {
            None => self.supervise(stream).await,
            Some(acceptor) => {
                match tokio::time::timeout(self.header_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(tls_stream)) => self.supervise(tls_stream).await,
                    Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake timed out"),
                }
            }
        }
    }

    /// Serves the connection in its own task and watches it from this one, which wakes only
    /// for the first-request deadline, the node's stop, or the end of the connection: the hot
    /// path of a request polls neither a timer nor a channel shared by all connections.
    async fn supervise<S>(mut self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let seen_request = Arc::new(AtomicBool::new(false));
        let (drain_tx, drain_rx) = oneshot::channel();
        let mut served = AbortOnDrop(tokio::spawn(serve_connection(
            stream,
            self.peer,
            Arc::clone(&self.ctx),
            self.header_timeout,
            Arc::clone(&seen_request),
            drain_rx,
        )));
        let deadline = tokio::time::sleep(self.header_timeout);
        tokio::pin!(deadline);
        let mut deadline_passed = false;
        loop {
            tokio::select! {
                _ = &mut served.0 => break,
                () = &mut deadline, if !deadline_passed => {
                    deadline_passed = true;
                    // hyper's header timeout covers HTTP/1 only; this also closes an HTTP/2
                    // client that sends half a preface, or a preface and then nothing.
                    if !seen_request.load(Ordering::Relaxed) {
                        tracing::debug!("closing a connection that sent no request in time");
                        break;
                    }
                }
                () = stopped(&mut self.stop) => {
                    let _ = drain_tx.send(());
                    let _ = (&mut served.0).await;
                    break;
                }
            }
        }
        drop(served);
        drop(self.guard);
    }
}

/// The connection task: aborted when its supervisor goes (timeout, drain cut-off).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// hyper on one connection; on `drain` it finishes the request in flight and closes.
async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    ctx: Arc<HttpContext>,
    header_timeout: Duration,
    seen_request: Arc<AtomicBool>,
    drain: oneshot::Receiver<()>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let builder = http_builder(header_timeout);
    let service = service_fn(move |request: hyper::Request<_>| {
        seen_request.store(true, Ordering::Relaxed);
        routes::route_incoming(request, Arc::clone(&ctx), peer)
    });
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        _ = drain => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = outcome {
        tracing::debug!(%error, "HTTP connection ended with an error");
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
