//! The listener registry: every bound listener, its state and its live connection counts; the
//! manager of the MQTT listeners, each of which runs as its own task (`listener.rs`).
//!
//! Requests that change a listener (`listener start|stop|restart|delete`) go through the
//! registry, so two of them never race on one address; `listener show` and `/health` read the
//! published snapshot.

mod listener;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

pub use listener::{Connector, ListenerControl};
use state::ListenersState;
pub use state::{
    ConnectionCounts, ConnectionGuard, ListenerEntry, ListenerId, ListenerInfo, ListenerStatus,
    MqttInfo, TlsInfo,
};

use crate::call::{call, CallError, DEFAULT_CALL_TIMEOUT};
use crate::slot::ActorSlot;
use crate::supervisor::{spawn_supervised, SupervisorHandle};

const NAME: &str = "listener registry";

/// Why a listener request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenerError {
    /// No listener is bound on that address.
    #[error("no listener on {addr}; see listener show")]
    NotFound {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The listener there is not an MQTT one (HTTP listeners follow the config file).
    #[error("the listener on {addr} is not an MQTT listener; change it in the config file")]
    NotMqtt {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// `listener start` on an address that has a listener.
    #[error("a listener on {addr} exists; use listener restart")]
    Exists {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The socket could not be bound (again).
    #[error("{0}")]
    Bind(String),
    /// The listener's task has ended: the node is stopping.
    #[error("the listener has shut down")]
    Gone,
    /// The registry did not answer.
    #[error(transparent)]
    Unavailable(#[from] CallError),
}

/// What `start_listener` needs: a bound socket, what to show, what to do with connections.
pub struct NewListener {
    /// The bound socket.
    pub socket: TcpListener,
    /// What `listener show` prints; its `addr` is replaced by the socket's.
    pub info: ListenerInfo,
    /// What each admitted connection runs.
    pub connector: Connector,
}

/// How many connections may wait for `accept`: tokio's default of 128 makes bursts of clients
/// wait a second for the kernel to retry; brokers see bursts (reconnect storms).
const LISTEN_BACKLOG: u32 = 4096;

/// Binds a listening socket with a backlog of 4096 (and `SO_REUSEADDR`, as `TcpListener::bind`).
pub fn bind(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// The registry's messages.
pub enum ListenersMessage {
    /// Adds a bound listener; answers its id.
    Register {
        /// What `listener show` prints of it.
        info: Box<ListenerInfo>,
        /// The id to use for later changes.
        reply: RpcReplyPort<ListenerId>,
    },
    /// Removes a listener that was closed.
    Deregister {
        /// Which one.
        id: ListenerId,
        /// Acknowledgement.
        reply: RpcReplyPort<()>,
    },
    /// Starts an MQTT listener task on a bound socket and registers it.
    StartListener {
        /// The socket and what to do with it.
        new: Box<NewListener>,
        /// Its id and bound address.
        reply: RpcReplyPort<Result<(ListenerId, SocketAddr), ListenerError>>,
    },
    /// Suspends the MQTT listener on `addr`; with `kill_sessions`, closes its connections.
    StopListener {
        /// Which one.
        addr: SocketAddr,
        /// Close its connections too.
        kill_sessions: bool,
        /// Done or why not.
        reply: RpcReplyPort<Result<(), ListenerError>>,
    },
    /// Resumes the MQTT listener on `addr`.
    RestartListener {
        /// Which one.
        addr: SocketAddr,
        /// Done or why not.
        reply: RpcReplyPort<Result<(), ListenerError>>,
    },
    /// Closes the MQTT listener on `addr` and its connections, and forgets it.
    DeleteListener {
        /// Which one.
        addr: SocketAddr,
        /// Done or why not.
        reply: RpcReplyPort<Result<(), ListenerError>>,
    },
}

/// What the registry is (re)started from.
pub struct ListenersArgs {
    published: Arc<ArcSwap<Vec<ListenerEntry>>>,
    tracker: TaskTracker,
    node_stop: watch::Receiver<bool>,
}

/// The actor; it holds no data.
pub struct ListenersActor;

impl ractor::Message for ListenersMessage {}

impl Actor for ListenersActor {
    type Msg = ListenersMessage;
    type State = ListenersState;
    type Arguments = ListenersArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(ListenersState::resume(
            args.published,
            args.tracker,
            args.node_stop,
        ))
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ListenersMessage::Register { info, reply } => {
                let _ = reply.send(state.register(*info, None));
            }
            ListenersMessage::Deregister { id, reply } => {
                state.deregister(id);
                let _ = reply.send(());
            }
            ListenersMessage::StartListener { new, reply } => {
                let _ = reply.send(state.start_listener(*new));
            }
            ListenersMessage::StopListener {
                addr,
                kill_sessions,
                reply,
            } => {
                let _ = reply.send(state.stop_listener(addr, kill_sessions).await);
            }
            ListenersMessage::RestartListener { addr, reply } => {
                let _ = reply.send(state.restart_listener(addr).await);
            }
            ListenersMessage::DeleteListener { addr, reply } => {
                let _ = reply.send(state.delete_listener(addr).await);
            }
        }
        Ok(())
    }
}

/// The handle to the listener registry.
#[derive(Clone)]
pub struct ListenersHandle {
    slot: ActorSlot<ListenersMessage>,
    published: Arc<ArcSwap<Vec<ListenerEntry>>>,
    tracker: TaskTracker,
}

impl std::fmt::Debug for ListenersHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListenersHandle")
    }
}

impl ListenersHandle {
    /// Starts an empty registry under `supervisor`. Its MQTT listeners close, with their
    /// connections, when `node_stop` turns true; [`ListenersHandle::closed`] waits for that.
    pub async fn start(
        supervisor: &SupervisorHandle,
        node_stop: watch::Receiver<bool>,
    ) -> Result<Self, String> {
        let published = Arc::new(ArcSwap::from_pointee(Vec::new()));
        let tracker = TaskTracker::new();
        let (shared, tasks) = (Arc::clone(&published), tracker.clone());
        let slot = spawn_supervised(supervisor, NAME, move || {
            let args = ListenersArgs {
                published: Arc::clone(&shared),
                tracker: tasks.clone(),
                node_stop: node_stop.clone(),
            };
            (ListenersActor, args)
        })
        .await?;
        Ok(Self {
            slot,
            published,
            tracker,
        })
    }

    /// Every registered listener as of now, in registration order.
    pub fn entries(&self) -> Arc<Vec<ListenerEntry>> {
        self.published.load_full()
    }

    /// Registers a bound listener.
    pub async fn register(&self, info: ListenerInfo) -> Result<ListenerId, CallError> {
        call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            ListenersMessage::Register {
                info: Box::new(info),
                reply,
            }
        })
        .await
    }

    /// Removes a closed listener.
    pub async fn deregister(&self, id: ListenerId) -> Result<(), CallError> {
        call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            ListenersMessage::Deregister { id, reply }
        })
        .await
    }

    /// Starts an MQTT listener on a bound socket; answers its id and address.
    pub async fn start_listener(
        &self,
        new: NewListener,
    ) -> Result<(ListenerId, SocketAddr), ListenerError> {
        call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            ListenersMessage::StartListener {
                new: Box::new(new),
                reply,
            }
        })
        .await?
    }

    /// `listener stop`: the listener on `addr` stops accepting (its socket closes); with
    /// `kill_sessions` its connections are closed too.
    pub async fn stop_listener(
        &self,
        addr: SocketAddr,
        kill_sessions: bool,
    ) -> Result<(), ListenerError> {
        call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            ListenersMessage::StopListener {
                addr,
                kill_sessions,
                reply,
            }
        })
        .await?
    }

    /// `listener restart`: the listener on `addr` accepts again.
    pub async fn restart_listener(&self, addr: SocketAddr) -> Result<(), ListenerError> {
        call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            ListenersMessage::RestartListener { addr, reply }
        })
        .await?
    }

    /// `listener delete`: the listener on `addr` closes with its connections and is forgotten.
    pub async fn delete_listener(&self, addr: SocketAddr) -> Result<(), ListenerError> {
        call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            ListenersMessage::DeleteListener { addr, reply }
        })
        .await?
    }

    /// Resolves once every MQTT listener task has ended (after the node's stop signal).
    pub async fn closed(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }
}
