//! The session registry actor (sessions by client id, takeover, subscriptions, expiry, wills)
//! and its handle; publishes route through the shared routing table without a message.

mod cluster;
mod connect;
mod connection;
mod message;
mod packets;
mod persist;
mod queue;
mod registry;
mod routes;
mod session;
mod snapshot;
pub mod state;
mod wire_checks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

pub use cluster::Moved;
pub use connect::{refusal, AllowedProtocols, ConnectPolicy, Refusal};
pub use connection::{ConnectionSettings, SessionSettings};
pub(crate) use message::encode as encode_record;
pub use message::{now_ms, Message, RetainHandling, SessionKey, SubOptions};
pub use queue::{QueueLimits, QueueStats};
use registry::{AttachRequest, Attached, SessionsState, Timer, Will};
pub use registry::{Handover, SessionExpiry, SessionId};
pub use routes::{Routed, Routes};
pub use snapshot::{OnlineInfo, SessionIndex, SessionView};

use crate::call::{call, CallError, DEFAULT_CALL_TIMEOUT};
use crate::cluster::Peers;
use crate::metrics::Metrics;
use crate::retain::RetainStore;
use crate::slot::ActorSlot;
use crate::store::Store;
use crate::supervisor::{spawn_supervised, SupervisorHandle};
use crate::trace::TraceHub;

const NAME: &str = "session registry";

/// The registry's messages.
pub enum SessionsMessage {
    /// Gives a connection its session (new or resumed), taking over an online holder.
    Attach {
        /// Who asks for what.
        request: Box<AttachRequest>,
        /// The session.
        reply: RpcReplyPort<Attached>,
    },
    /// A connection closed.
    Detach {
        /// Which session.
        key: SessionKey,
        /// The connection's hold.
        id: SessionId,
        /// The will to publish (now or after its delay).
        will: Option<Will>,
        /// MQTT 5: the session expiry the DISCONNECT set.
        expiry: Option<SessionExpiry>,
    },
    /// Subscribes the session held by `id`.
    Subscribe {
        /// Which session.
        key: SessionKey,
        /// The connection's hold.
        id: SessionId,
        /// Validated, authorized filters.
        filters: Vec<(String, SubOptions)>,
        /// Per filter whether it is new; `None` if `id` no longer holds the session.
        reply: RpcReplyPort<Option<Vec<bool>>>,
    },
    /// Removes subscriptions (of the connection `id`, or an operator's with `None`).
    Unsubscribe {
        /// Which session.
        key: SessionKey,
        /// The connection's hold, or `None` for `session unsubscribe`.
        id: Option<SessionId>,
        /// Filters.
        filters: Vec<String>,
        /// Per filter whether it existed; `None` if there is no such session (holder).
        reply: RpcReplyPort<Option<Vec<bool>>>,
    },
    /// `session disconnect`: closes the client's connection; `cleanup` deletes the session.
    Disconnect {
        /// Which session.
        key: SessionKey,
        /// Also delete the session.
        cleanup: bool,
        /// Whether the session existed.
        reply: RpcReplyPort<bool>,
    },
    /// The client connected to another node: close its connection here, delete the session,
    /// and answer what it held if `keep` (the other node resumes it).
    Handover {
        /// Which session.
        key: SessionKey,
        /// Answer the subscriptions and messages (no clean start over there).
        keep: bool,
        /// What the session held; `None` if there was none (or not `keep`).
        reply: RpcReplyPort<Option<Handover>>,
    },
    /// Keeps the session of a node that left, offline, here.
    Adopt {
        /// Which session.
        key: SessionKey,
        /// What it held.
        handed: Box<Handover>,
        /// The queue limits for it.
        limits: QueueLimits,
    },
    /// Answers once every message sent before it was handled (connections' last detaches).
    Flush {
        /// Acknowledgement.
        reply: RpcReplyPort<()>,
    },
    /// A will delay or session expiry timer fired.
    Timer {
        /// Which session.
        key: SessionKey,
        /// Ignored if the session changed since.
        generation: u64,
    },
}

/// What the registry is started with; it survives restarts of the actor.
#[derive(Clone)]
pub struct SessionsShared {
    routes: Arc<Routes>,
    retained: Arc<RetainStore>,
    published: Arc<ArcSwap<SessionIndex>>,
    metrics: Arc<Metrics>,
    store: Option<Store>,
    /// Queue limits for sessions restored from the store (until their client reconnects).
    limits: QueueLimits,
    /// `trace client`: the running traces, tapped by every connection's codec.
    traces: Arc<TraceHub>,
    /// The other nodes, once the registry joined the cluster (see `cluster.rs`).
    peers: Arc<OnceLock<Peers>>,
}

/// The actor; it holds no data.
pub struct SessionsActor;

impl ractor::Message for SessionsMessage {}

impl Actor for SessionsActor {
    type Msg = SessionsMessage;
    type State = SessionsState;
    type Arguments = SessionsShared;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        shared: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let mut state = SessionsState::new(
            shared.routes,
            shared.retained,
            shared.published,
            shared.store.clone(),
            shared.metrics,
        );
        if let Some(store) = &shared.store {
            let loaded = store.load()?;
            for timer in state.restore(&loaded.sessions, shared.limits, now_ms()) {
                start_timer(&myself, timer);
            }
        }
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SessionsMessage::Attach { request, reply } => {
                let _ = reply.send(state.attach(*request, now_ms()));
            }
            SessionsMessage::Detach {
                key,
                id,
                will,
                expiry,
            } => {
                for timer in state.detach(&key, id, will, expiry) {
                    start_timer(&myself, timer);
                }
            }
            SessionsMessage::Subscribe {
                key,
                id,
                filters,
                reply,
            } => {
                let _ = reply.send(state.subscribe(&key, id, filters));
            }
            SessionsMessage::Unsubscribe {
                key,
                id,
                filters,
                reply,
            } => {
                let _ = reply.send(state.unsubscribe(&key, id, &filters));
            }
            SessionsMessage::Disconnect {
                key,
                cleanup,
                reply,
            } => {
                let _ = reply.send(state.disconnect(&key, cleanup));
            }
            SessionsMessage::Handover { key, keep, reply } => {
                let _ = reply.send(state.handover(&key, keep));
            }
            SessionsMessage::Adopt {
                key,
                handed,
                limits,
            } => {
                if let Some(timer) = state.adopt(&key, *handed, limits, now_ms()) {
                    start_timer(&myself, timer);
                }
            }
            SessionsMessage::Flush { reply } => {
                let _ = reply.send(());
            }
            SessionsMessage::Timer { key, generation } => state.timer(&key, generation),
        }
        Ok(())
    }
}

fn start_timer(myself: &ActorRef<SessionsMessage>, timer: Timer) {
    let Timer {
        delay,
        key,
        generation,
    } = timer;
    myself.send_after(delay, move || SessionsMessage::Timer { key, generation });
}

/// The handle to the session registry and the shared routing and retain tables.
#[derive(Clone)]
pub struct SessionsHandle {
    slot: ActorSlot<SessionsMessage>,
    shared: SessionsShared,
}

impl std::fmt::Debug for SessionsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionsHandle")
    }
}

impl SessionsHandle {
    /// Starts the registry under `supervisor`, with the persistent sessions and retained
    /// messages of `store` (none without one).
    pub async fn start(
        supervisor: &SupervisorHandle,
        store: Option<Store>,
        limits: QueueLimits,
        metrics: Arc<Metrics>,
    ) -> Result<Self, String> {
        let retained = RetainStore::new(store.clone());
        if let Some(store) = &store {
            let loaded = store.load().map_err(|e| e.to_string())?;
            retained.restore(&loaded.retained);
        }
        let shared = SessionsShared {
            routes: Arc::new(Routes::default()),
            retained: Arc::new(retained),
            published: Arc::new(ArcSwap::from_pointee(SessionIndex::new())),
            metrics,
            store,
            limits,
            traces: Arc::default(),
            peers: Arc::default(),
        };
        let arguments = shared.clone();
        let slot =
            spawn_supervised(supervisor, NAME, move || (SessionsActor, arguments.clone())).await?;
        Ok(Self { slot, shared })
    }

    /// Every session as of now, ordered by (mountpoint, client id).
    pub fn sessions(&self) -> Arc<SessionIndex> {
        self.shared.published.load_full()
    }

    /// Where [`SessionsHandle::sessions`] reads from, for a holder (a peer handler) that must
    /// not keep the rest of the registry (its store) alive.
    pub fn published_index(&self) -> Arc<ArcSwap<SessionIndex>> {
        Arc::clone(&self.shared.published)
    }

    /// The routing table.
    pub fn routes(&self) -> &Routes {
        &self.shared.routes
    }

    /// Links the routing table and the retained messages to the cluster of `peers`: peers hear
    /// of this node's subscriptions and retained messages, publishes reach their subscribers
    /// (up to `buffer` bytes are kept per unreachable peer).
    fn link_routes(&self, peers: &Peers, buffer: usize) {
        let shared = &self.shared;
        let metrics = Arc::clone(&shared.metrics);
        crate::router::link::start(&shared.routes, &shared.retained, metrics, peers, buffer);
    }

    /// The retained messages.
    pub fn retained(&self) -> &RetainStore {
        &self.shared.retained
    }

    /// The data plane's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    /// The running `trace client` traces.
    pub fn traces(&self) -> &Arc<TraceHub> {
        &self.shared.traces
    }

    /// Runs the MQTT protocol on one accepted connection until it closes or `stop` turns true.
    /// (Not an `async fn`: the future is the connection's own, with no wrapper holding a second
    /// copy of its arguments; an idle session's memory is mostly this future.)
    pub fn serve<S>(
        &self,
        stream: S,
        peer: SocketAddr,
        settings: ConnectionSettings,
        stop: watch::Receiver<bool>,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        connection::run(self.clone(), stream, peer, settings, stop)
    }

    /// Makes what the sessions hold durable and closes the store (node shutdown, after the
    /// connections closed).
    pub async fn close(&self) {
        let _ = call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            SessionsMessage::Flush { reply }
        })
        .await;
        if let Some(store) = &self.shared.store {
            if let Err(error) = store.close().await {
                tracing::error!(%error, "the session store did not close cleanly");
            }
        }
    }

    /// `session unsubscribe`: removes one subscription of a session. Answers whether it existed.
    pub async fn unsubscribe_client(
        &self,
        key: SessionKey,
        filter: String,
    ) -> Result<bool, CallError> {
        let existed = call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            SessionsMessage::Unsubscribe {
                key,
                id: None,
                filters: vec![filter],
                reply,
            }
        })
        .await?;
        Ok(existed.is_some_and(|e| e.first() == Some(&true)))
    }

    pub(crate) async fn attach(&self, request: AttachRequest) -> Result<Attached, CallError> {
        call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            SessionsMessage::Attach {
                request: Box::new(request),
                reply,
            }
        })
        .await
    }

    pub(crate) fn detach(
        &self,
        key: &SessionKey,
        id: SessionId,
        will: Option<Will>,
        expiry: Option<SessionExpiry>,
    ) {
        let _ = self.slot.get().cast(SessionsMessage::Detach {
            key: key.clone(),
            id,
            will,
            expiry,
        });
    }

    pub(crate) async fn subscribe(
        &self,
        key: &SessionKey,
        id: SessionId,
        filters: Vec<(String, SubOptions)>,
    ) -> Option<Vec<bool>> {
        call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            SessionsMessage::Subscribe {
                key: key.clone(),
                id,
                filters,
                reply,
            }
        })
        .await
        .ok()
        .flatten()
    }

    pub(crate) async fn unsubscribe(
        &self,
        key: &SessionKey,
        id: SessionId,
        filters: Vec<String>,
    ) -> Option<Vec<bool>> {
        call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            SessionsMessage::Unsubscribe {
                key: key.clone(),
                id: Some(id),
                filters,
                reply,
            }
        })
        .await
        .ok()
        .flatten()
    }
}
