//! Replicated cluster metadata (members, API keys, runtime config) on `openraft`, stored in `meta.redb`.
//!
//! - `state.rs`: the metadata as plain data, the commands that change it and their answers;
//! - `log_store.rs`: the raft log, vote and committed index in redb (durable before acknowledged);
//! - `machine.rs`: the state machine in the same file: applied state, snapshots, and the published
//!   [`MetaState`] that local reads use without a round trip;
//! - `network.rs`: openraft's network over our [`RaftTransport`] (one request, one reply), and the
//!   wire types a transport carries;
//! - `local.rs`: an in-process transport for tests, able to cut a node off and heal it;
//! - `handle.rs`: [`MetaHandle`], one raft instance: writes (forwarded to the leader), local
//!   reads, membership changes;
//! - `fabric.rs`: [`PeersTransport`], raft requests as peer calls between node processes, and
//!   [`node_id`], the member id of a node name;
//! - `member.rs`: [`MetaMember`], what the node uses: starts its member (alone at first), joins
//!   another node's cluster (dropping its own log, merging its keys), leaves it for good (removed
//!   by another member, then alone with its keys), serves its peers.

mod fabric;
mod handle;
mod local;
mod log_store;
mod machine;
mod member;
mod network;
mod state;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_recovery;
#[cfg(test)]
mod tests_storage;

use std::io::Cursor;

use serde::{Deserialize, Serialize};

pub use fabric::{node_id, PeersTransport, RAFT_TOPIC};
pub use handle::{MetaConfig, MetaError, MetaHandle};
pub use local::LocalNet;
pub use member::{MetaMember, JOIN_TOPIC, LEAVE_TOPIC};
pub use network::{
    decode_reply, decode_request, encode_reply, encode_request, Proposal, RaftReply, RaftRequest,
    RaftTransport, TransportError, TransportFuture, Written,
};
pub use state::{Command, MetaKey, MetaState, Response};

/// A raft member's id. The fabric maps node names to ids; ids are never reused for another name.
pub type NodeId = u64;

/// What raft knows about a member: its node name and where its cluster listener is.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MetaNode {
    /// `Name@host`.
    pub name: String,
    /// The cluster listener's `host:port`.
    pub addr: String,
}

impl MetaNode {
    /// A member named `name` listening on `addr`.
    pub fn new(name: &str, addr: &str) -> Self {
        Self {
            name: name.to_owned(),
            addr: addr.to_owned(),
        }
    }
}

openraft::declare_raft_types!(
    /// The types openraft runs with for the cluster metadata.
    pub TypeConfig:
        D = Command,
        R = Response,
        NodeId = NodeId,
        Node = MetaNode,
        SnapshotData = Cursor<Vec<u8>>,
);

/// The raft instance of the metadata.
pub type MetaRaft = openraft::Raft<TypeConfig>;
