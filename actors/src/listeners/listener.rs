//! One MQTT listener: a task that owns its socket and its connections, accepts within its
//! `max_connections`, and obeys stop (suspend), stop with kill, restart and delete.
//!
//! Stopping closes the listening socket, as ranch's suspend does in VerneMQ: new clients get
//! "connection refused" (a load balancer sees the port closed) while existing connections go on.
//! A kill also fires the listener's own stop signal, which every connection it accepted watches.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use super::state::ConnectionCounts;
use super::ListenerError;

/// How long a listener that ends waits for its connections to close after telling them to.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Pause after a failed accept (out of file descriptors and the like) instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What a listener does with each connection it admits: the front end's transport (TLS,
/// WebSocket) and the MQTT session. The receiver turns true when the connection must close.
pub type Connector = Arc<
    dyn Fn(TcpStream, SocketAddr, watch::Receiver<bool>) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// The requests a listener task takes.
enum Command {
    /// Close the socket; with `kill`, close the connections too.
    Stop {
        kill: bool,
        reply: oneshot::Sender<()>,
    },
    /// Bind again (if stopped) and accept.
    Restart {
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Close the socket and the connections, then end.
    Delete { reply: oneshot::Sender<()> },
}

/// The handle to one listener task; cheap to clone.
#[derive(Clone)]
pub struct ListenerControl {
    commands: mpsc::Sender<Command>,
}

impl std::fmt::Debug for ListenerControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListenerControl")
    }
}

impl ListenerControl {
    /// Stops accepting; with `kill`, closes every connection of the listener as well.
    pub(super) async fn stop(&self, kill: bool) -> Result<(), ListenerError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Stop { kill, reply }).await?;
        answer.await.map_err(|_| ListenerError::Gone)
    }

    /// Accepts again, binding the same address if the socket was closed.
    pub(super) async fn restart(&self) -> Result<(), ListenerError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Restart { reply }).await?;
        answer
            .await
            .map_err(|_| ListenerError::Gone)?
            .map_err(ListenerError::Bind)
    }

    /// Closes the socket and every connection; the task then ends.
    pub(super) async fn delete(&self) -> Result<(), ListenerError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Delete { reply }).await?;
        answer.await.map_err(|_| ListenerError::Gone)
    }

    async fn send(&self, command: Command) -> Result<(), ListenerError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| ListenerError::Gone)
    }
}

/// Whether one more connection fits under `max` (`None` = infinity).
pub(super) fn has_room(max: Option<u64>, active: u64) -> bool {
    max.is_none_or(|max| active < max)
}

/// A listener's task state.
pub(super) struct Listener {
    /// The bound address (a port-0 request resolved), rebound on restart.
    addr: SocketAddr,
    /// `None` while stopped.
    socket: Option<TcpListener>,
    connector: Connector,
    counts: Arc<ConnectionCounts>,
    max_conns: Option<u64>,
    /// Fired to close this listener's connections.
    kill: watch::Sender<bool>,
    /// Signals already fired; kept so their connections keep seeing `true` until they close.
    fired: Vec<watch::Sender<bool>>,
    connections: JoinSet<()>,
}

impl Listener {
    /// Starts the task on a bound socket; it ends when `node_stop` turns true or on delete.
    pub(super) fn spawn(
        socket: TcpListener,
        connector: Connector,
        counts: Arc<ConnectionCounts>,
        max_conns: Option<u64>,
        node_stop: watch::Receiver<bool>,
        tracker: &tokio_util::task::TaskTracker,
    ) -> std::io::Result<(SocketAddr, ListenerControl)> {
        let addr = socket.local_addr()?;
        let (commands, inbox) = mpsc::channel(8);
        let listener = Listener {
            addr,
            socket: Some(socket),
            connector,
            counts,
            max_conns,
            kill: watch::channel(false).0,
            fired: Vec::new(),
            connections: JoinSet::new(),
        };
        tracker.spawn(listener.run(inbox, node_stop));
        Ok((addr, ListenerControl { commands }))
    }

    async fn run(
        mut self,
        mut inbox: mpsc::Receiver<Command>,
        mut node_stop: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                () = stopped(&mut node_stop) => break,
                command = inbox.recv() => match command {
                    Some(Command::Delete { reply }) => {
                        self.stop(true);
                        let _ = reply.send(());
                        break;
                    }
                    Some(command) => self.handle(command).await,
                    None => break,
                },
                accepted = accept(self.socket.as_ref()) => self.admit(accepted).await,
                Some(_) = self.connections.join_next(), if !self.connections.is_empty() => {}
            }
        }
        self.stop(true);
        drop(inbox);
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
            while self.connections.join_next().await.is_some() {}
        });
        if drained.await.is_err() {
            tracing::warn!(addr = %self.addr, "MQTT connections still open after the drain timeout; closing them");
            self.connections.abort_all();
        }
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::Stop { kill, reply } => {
                self.stop(kill);
                let _ = reply.send(());
            }
            Command::Restart { reply } => {
                let _ = reply.send(self.restart().await);
            }
            Command::Delete { reply } => {
                self.stop(true);
                let _ = reply.send(());
            }
        }
    }

    fn stop(&mut self, kill: bool) {
        self.socket = None;
        if kill && !*self.kill.borrow() {
            let _ = self.kill.send(true);
        }
    }

    async fn restart(&mut self) -> Result<(), String> {
        if *self.kill.borrow() {
            let fired = std::mem::replace(&mut self.kill, watch::channel(false).0);
            self.fired.push(fired);
        }
        if self.socket.is_none() {
            let socket =
                super::bind(self.addr).map_err(|e| format!("cannot bind {}: {e}", self.addr))?;
            self.socket = Some(socket);
        }
        Ok(())
    }

    async fn admit(&mut self, accepted: std::io::Result<(TcpStream, SocketAddr)>) {
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, addr = %self.addr, "MQTT accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                return;
            }
        };
        if !has_room(self.max_conns, self.counts.active()) {
            self.counts.refuse();
            tracing::debug!(%peer, addr = %self.addr, "listener full (max_connections); connection closed");
            return;
        }
        let _ = stream.set_nodelay(true);
        let guard = self.counts.open();
        let connection = (self.connector)(stream, peer, self.kill.subscribe());
        self.connections.spawn(async move {
            connection.await;
            drop(guard);
        });
    }
}

/// Resolves once the node stops (or has gone); the watch guard never lives across an await.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// The next connection, or never while the socket is closed.
async fn accept(socket: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match socket {
        Some(socket) => socket.accept().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connector whose connections wait for their stop signal, then close.
    fn waiting() -> Connector {
        Arc::new(|stream, _peer, mut stop| {
            Box::pin(async move {
                stopped(&mut stop).await;
                drop(stream);
            })
        })
    }

    /// Waits (with a deadline) until `condition` holds.
    async fn until(what: &str, condition: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !condition() {
            assert!(tokio::time::Instant::now() < deadline, "never: {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn open_connections(counts: &ConnectionCounts, want: u64) {
        until(&format!("{want} open"), || counts.active() == want).await;
    }

    #[tokio::test]
    async fn limits_stop_restart_and_kill() {
        let socket = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let counts = Arc::new(ConnectionCounts::default());
        let (node_tx, node_stop) = watch::channel(false);
        let tracker = tokio_util::task::TaskTracker::new();
        let (addr, control) = Listener::spawn(
            socket,
            waiting(),
            Arc::clone(&counts),
            Some(2),
            node_stop,
            &tracker,
        )
        .expect("spawned");
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(TcpStream::connect(addr).await.expect("connect"));
        }
        open_connections(&counts, 2).await;
        until("one refusal", || counts.refused() == 1).await;
        control.stop(false).await.expect("stopped");
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "the socket is closed"
        );
        assert_eq!(counts.active(), 2, "suspending keeps the connections");
        control.restart().await.expect("restarted");
        clients.push(TcpStream::connect(addr).await.expect("accepting again"));
        control.stop(true).await.expect("killed");
        open_connections(&counts, 0).await;
        control.restart().await.expect("restarted after a kill");
        let _late = TcpStream::connect(addr).await.expect("accepting again");
        open_connections(&counts, 1).await;
        node_tx.send(true).expect("the listener watches");
        tracker.close();
        tokio::time::timeout(Duration::from_secs(5), tracker.wait())
            .await
            .expect("the task ends and drains on node stop");
        assert_eq!(counts.active(), 0);
    }

    #[test]
    fn room_is_below_the_limit() {
        assert!(has_room(None, u64::MAX));
        assert!(has_room(Some(3), 2));
        assert!(!has_room(Some(3), 3));
        assert!(!has_room(Some(0), 0));
    }
}
