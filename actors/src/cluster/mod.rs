//! Cluster membership: the members and whether each runs, published as a snapshot for `cluster show`.

mod state;

use std::sync::Arc;

use arc_swap::ArcSwap;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use state::ClusterState;
pub use state::Member;

use crate::call::{call, CallError, DEFAULT_CALL_TIMEOUT};
use crate::slot::ActorSlot;
use crate::supervisor::{spawn_supervised, SupervisorHandle};
use crate::types::NodeName;

/// The membership actor's messages.
pub enum ClusterMessage {
    /// Marks the local node as ready (serving) or not (starting, draining).
    SetLocalRunning {
        /// The new readiness.
        running: bool,
        /// Acknowledgement once the snapshot shows it.
        reply: RpcReplyPort<()>,
    },
}

/// The actor; it holds no data.
pub struct ClusterActor;

/// Arguments for (re)starting the actor: the shared snapshot it publishes into.
pub struct ClusterArgs {
    local: NodeName,
    published: Arc<ArcSwap<Vec<Member>>>,
}

impl Actor for ClusterActor {
    type Msg = ClusterMessage;
    type State = ClusterState;
    type Arguments = ClusterArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        // A restart keeps what the snapshot says rather than starting over.
        let members = args.published.load_full();
        Ok(ClusterState::new(
            args.local,
            members.as_ref().clone(),
            args.published,
        ))
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ClusterMessage::SetLocalRunning { running, reply } => {
                state.set_local_running(running);
                let _ = reply.send(());
            }
        }
        Ok(())
    }
}

/// The handle to cluster membership.
#[derive(Clone)]
pub struct ClusterHandle {
    slot: ActorSlot<ClusterMessage>,
    local: NodeName,
    members: Arc<ArcSwap<Vec<Member>>>,
}

impl std::fmt::Debug for ClusterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClusterHandle({})", self.local)
    }
}

impl ClusterHandle {
    /// Starts membership with this node alone, not yet running.
    pub async fn start(local: NodeName, supervisor: &SupervisorHandle) -> Result<Self, String> {
        let members = Arc::new(ArcSwap::from_pointee(vec![Member {
            node: local.clone(),
            running: false,
        }]));
        let (name, published) = (local.clone(), Arc::clone(&members));
        let slot = spawn_supervised(supervisor, "cluster membership", move || {
            let args = ClusterArgs {
                local: name.clone(),
                published: Arc::clone(&published),
            };
            (ClusterActor, args)
        })
        .await?;
        Ok(Self {
            slot,
            local,
            members,
        })
    }

    /// This node's name.
    pub fn local(&self) -> &NodeName {
        &self.local
    }

    /// Every member as of now, sorted by name.
    pub fn members(&self) -> Arc<Vec<Member>> {
        self.members.load_full()
    }

    /// Whether this node is a running member now.
    pub fn local_running(&self) -> bool {
        self.members()
            .iter()
            .any(|m| m.node == self.local && m.running)
    }

    /// Marks this node ready or not.
    pub async fn set_local_running(&self, running: bool) -> Result<(), CallError> {
        call(
            &self.slot.get(),
            "cluster membership",
            DEFAULT_CALL_TIMEOUT,
            |reply| ClusterMessage::SetLocalRunning { running, reply },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_local_node_is_listed_and_becomes_running() {
        let (supervisor, _join) = SupervisorHandle::start().await.expect("supervisor");
        let node = NodeName::parse("VerneMQ@127.0.0.1").expect("name");
        let cluster = ClusterHandle::start(node.clone(), &supervisor)
            .await
            .expect("start");
        assert!(!cluster.local_running());
        cluster.set_local_running(true).await.expect("answer");
        assert_eq!(
            *cluster.members(),
            vec![Member {
                node,
                running: true
            }]
        );
        assert!(cluster.local_running());
        supervisor.shutdown();
    }
}
