//! The session registry actor (client ids, takeover, subscriptions, routing) and its handle.

mod connection;
mod registry;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

pub use connection::ConnectionSettings;
pub use registry::{Delivery, SessionId, SessionInfo};
use registry::{Mailbox, SessionsState};
pub use state::{AllowedProtocols, ConnectPolicy};

use crate::call::{call, CallError, DEFAULT_CALL_TIMEOUT};
use crate::slot::ActorSlot;
use crate::supervisor::{spawn_supervised, SupervisorHandle};

const NAME: &str = "session registry";

/// The registry's messages.
pub enum SessionsMessage {
    /// Adds a connected session, taking over an older one with the same client id.
    Register {
        /// What listings show of it.
        info: Box<SessionInfo>,
        /// How to reach its connection.
        mailbox: Mailbox,
        /// Its id in the registry.
        reply: RpcReplyPort<SessionId>,
    },
    /// Removes a closed session.
    Unregister {
        /// Which one.
        id: SessionId,
    },
    /// Subscribes a session to valid filters.
    Subscribe {
        /// Which session.
        id: SessionId,
        /// Validated filters.
        filters: Vec<String>,
        /// Sent once the subscriptions are in place (so that SUBACK follows them).
        reply: RpcReplyPort<()>,
    },
    /// Removes subscriptions of a session.
    Unsubscribe {
        /// Which session.
        id: SessionId,
        /// Filters.
        filters: Vec<String>,
        /// Sent once they are gone.
        reply: RpcReplyPort<()>,
    },
    /// Routes a message to the matching sessions.
    Publish {
        /// Topic name.
        topic: String,
        /// Payload.
        payload: Bytes,
    },
}

/// The actor; it holds no data.
pub struct SessionsActor;

impl Actor for SessionsActor {
    type Msg = SessionsMessage;
    type State = SessionsState;
    type Arguments = Arc<ArcSwap<Vec<SessionInfo>>>;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        published: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(SessionsState::new(published))
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SessionsMessage::Register {
                info,
                mailbox,
                reply,
            } => {
                let _ = reply.send(state.register(*info, mailbox));
            }
            SessionsMessage::Unregister { id } => state.unregister(id),
            SessionsMessage::Subscribe { id, filters, reply } => {
                state.subscribe(id, filters);
                let _ = reply.send(());
            }
            SessionsMessage::Unsubscribe { id, filters, reply } => {
                state.unsubscribe(id, filters);
                let _ = reply.send(());
            }
            SessionsMessage::Publish { topic, payload } => {
                state.publish(&topic, &payload);
            }
        }
        Ok(())
    }
}

/// The handle to the session registry.
#[derive(Clone)]
pub struct SessionsHandle {
    slot: ActorSlot<SessionsMessage>,
    published: Arc<ArcSwap<Vec<SessionInfo>>>,
}

impl std::fmt::Debug for SessionsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionsHandle")
    }
}

impl SessionsHandle {
    /// Starts an empty registry under `supervisor`.
    pub async fn start(supervisor: &SupervisorHandle) -> Result<Self, String> {
        let published = Arc::new(ArcSwap::from_pointee(Vec::new()));
        let shared = Arc::clone(&published);
        let slot = spawn_supervised(supervisor, NAME, move || {
            (SessionsActor, Arc::clone(&shared))
        })
        .await?;
        Ok(Self { slot, published })
    }

    /// The connected sessions as of now, ordered by (mountpoint, client id).
    pub fn sessions(&self) -> Arc<Vec<SessionInfo>> {
        self.published.load_full()
    }

    /// Runs the MQTT protocol on one accepted connection until it closes or `stop` turns true.
    pub async fn serve<S>(
        &self,
        stream: S,
        peer: SocketAddr,
        settings: ConnectionSettings,
        stop: watch::Receiver<bool>,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        connection::run(self, stream, peer, settings, stop).await;
    }

    pub(crate) async fn register(
        &self,
        info: SessionInfo,
        mailbox: Mailbox,
    ) -> Result<SessionId, CallError> {
        call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            SessionsMessage::Register {
                info: Box::new(info),
                mailbox,
                reply,
            }
        })
        .await
    }

    pub(crate) fn unregister(&self, id: SessionId) {
        let _ = self.slot.get().cast(SessionsMessage::Unregister { id });
    }

    pub(crate) async fn subscribe(
        &self,
        id: SessionId,
        filters: Vec<String>,
    ) -> Result<(), CallError> {
        call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            SessionsMessage::Subscribe { id, filters, reply }
        })
        .await
    }

    pub(crate) async fn unsubscribe(
        &self,
        id: SessionId,
        filters: Vec<String>,
    ) -> Result<(), CallError> {
        call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            SessionsMessage::Unsubscribe { id, filters, reply }
        })
        .await
    }

    pub(crate) fn publish(&self, topic: String, payload: Bytes) -> Result<(), CallError> {
        self.slot
            .get()
            .cast(SessionsMessage::Publish { topic, payload })
            .map_err(|_| CallError::Stopped { actor: NAME })
    }
}
