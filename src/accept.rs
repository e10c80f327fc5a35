//! The accept loop of the HTTP listeners: accept until the node stops, hand each
//! connection to its own task, then drain.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Accepts on `listener` until `stop` turns true, running `connection(stream, peer)` as a task
/// per connection. Then it waits up to `drain_timeout` for those tasks (each is expected to
/// notice `stop` itself and wind down), and cuts the rest.
pub async fn accept_until_stopped<F, Fut>(
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
    drain_timeout: Duration,
    what: &'static str,
    mut connection: F,
) where
    F: FnMut(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, listener = what, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        connections.spawn(connection(stream, peer));
    }
    drop(listener);
    let drained = tokio::time::timeout(drain_timeout, async {
        while connections.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        tracing::warn!(
            listener = what,
            "connections still open after the drain timeout; closing them"
        );
        connections.abort_all();
    }
}

/// Resolves once the node stops (or has gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}
