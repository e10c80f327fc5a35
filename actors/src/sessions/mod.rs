//! The session registry actor (sessions by client id, takeover, subscriptions, expiry, wills),
//! its messages and what it is started with; its handle is in `handle.rs`. Publishes route
//! through the shared routing table without a message.

mod cluster;
mod connect;
mod connection;
mod handle;
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

use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

pub use cluster::Moved;
pub use connect::{refusal, AllowedProtocols, ConnectPolicy, Refusal};
pub use connection::{ConnectionSettings, SessionSettings};
pub use handle::SessionsHandle;
pub(crate) use message::encode as encode_record;
pub use message::{now_ms, Message, RetainHandling, SessionKey, SubOptions};
pub use queue::{QueueLimits, QueueStats};
use registry::{AttachRequest, Attached, SessionsState, Timer, Will};
pub use registry::{Handover, SessionExpiry, SessionId};
pub use routes::{Routed, Routes};
pub use snapshot::{OnlineInfo, SessionIndex, SessionView};

use crate::cluster::Peers;
use crate::metrics::Metrics;
use crate::retain::RetainStore;
use crate::store::Store;
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
