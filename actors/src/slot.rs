//! `ActorSlot`: where a handle finds its actor, re-pointed by the supervisor after a restart.

use std::sync::Arc;

use arc_swap::ArcSwap;
use ractor::{ActorRef, Message};

/// The current `ActorRef` of a supervised actor; cloned handles share it.
#[derive(Debug)]
pub(crate) struct ActorSlot<M: Message>(Arc<ArcSwap<ActorRef<M>>>);

impl<M: Message> Clone for ActorSlot<M> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<M: Message> ActorSlot<M> {
    pub(crate) fn new(actor: ActorRef<M>) -> Self {
        Self(Arc::new(ArcSwap::from_pointee(actor)))
    }

    /// The actor as of now.
    pub(crate) fn get(&self) -> Arc<ActorRef<M>> {
        self.0.load_full()
    }

    /// Points the slot at a restarted actor.
    pub(crate) fn replace(&self, actor: ActorRef<M>) {
        self.0.store(Arc::new(actor));
    }
}
