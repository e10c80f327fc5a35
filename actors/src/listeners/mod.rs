//! The listener registry: every bound listener, its state and its live connection counts.

mod state;

use std::sync::Arc;

use arc_swap::ArcSwap;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use state::ListenersState;
pub use state::{
    ConnectionCounts, ConnectionGuard, ListenerEntry, ListenerId, ListenerInfo, ListenerStatus,
    TlsInfo,
};

use crate::call::{call, CallError, DEFAULT_CALL_TIMEOUT};
use crate::slot::ActorSlot;
use crate::supervisor::{spawn_supervised, SupervisorHandle};

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
}

/// The actor; it holds no data.
pub struct ListenersActor;

impl Actor for ListenersActor {
    type Msg = ListenersMessage;
    type State = ListenersState;
    type Arguments = Arc<ArcSwap<Vec<ListenerEntry>>>;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        published: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(ListenersState::resume(published))
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ListenersMessage::Register { info, reply } => {
                let _ = reply.send(state.register(*info));
            }
            ListenersMessage::Deregister { id, reply } => {
                state.deregister(id);
                let _ = reply.send(());
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
}

impl std::fmt::Debug for ListenersHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListenersHandle")
    }
}

impl ListenersHandle {
    /// Starts an empty registry under `supervisor`.
    pub async fn start(supervisor: &SupervisorHandle) -> Result<Self, String> {
        let published = Arc::new(ArcSwap::from_pointee(Vec::new()));
        let shared = Arc::clone(&published);
        let slot = spawn_supervised(supervisor, "listener registry", move || {
            (ListenersActor, Arc::clone(&shared))
        })
        .await?;
        Ok(Self { slot, published })
    }

    /// Every registered listener as of now, in registration order.
    pub fn entries(&self) -> Arc<Vec<ListenerEntry>> {
        self.published.load_full()
    }

    /// Registers a bound listener.
    pub async fn register(&self, info: ListenerInfo) -> Result<ListenerId, CallError> {
        call(
            &self.slot.get(),
            "listener registry",
            DEFAULT_CALL_TIMEOUT,
            |reply| ListenersMessage::Register {
                info: Box::new(info),
                reply,
            },
        )
        .await
    }

    /// Removes a closed listener.
    pub async fn deregister(&self, id: ListenerId) -> Result<(), CallError> {
        call(
            &self.slot.get(),
            "listener registry",
            DEFAULT_CALL_TIMEOUT,
            |reply| ListenersMessage::Deregister { id, reply },
        )
        .await
    }
}
