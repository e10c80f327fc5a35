//! openraft's network over [`RaftTransport`]: one request to one node, one reply; plus the wire types a transport carries.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::AnyError;
use serde::{Deserialize, Serialize};

use super::log_store::{decode, encode};
use super::{Command, MetaError, MetaNode, NodeId, Response, TypeConfig};

/// A request from one member to another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RaftRequest {
    /// Raft log replication and heartbeats.
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    /// An election vote.
    Vote(VoteRequest<NodeId>),
    /// One chunk of a snapshot.
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// A change forwarded from a follower to the leader.
    Propose(Proposal),
    /// Asks a member to answer once it has applied the entry at this log index.
    AwaitApplied(u64),
}

/// A change that only the leader can make; followers forward it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Proposal {
    /// A metadata command.
    Write(Command),
    /// Adds a voting member (first as a learner, then as a voter once it has caught up).
    AddMember(NodeId, MetaNode),
    /// Removes a member.
    RemoveMember(NodeId),
}

/// The answer to a [`RaftRequest`], of the same variant.
#[derive(Debug, Serialize, Deserialize)]
pub enum RaftReply {
    /// Answer to [`RaftRequest::AppendEntries`].
    AppendEntries(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    /// Answer to [`RaftRequest::Vote`].
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    /// Answer to [`RaftRequest::InstallSnapshot`].
    InstallSnapshot(
        Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>,
    ),
    /// Answer to [`RaftRequest::Propose`].
    Propose(Result<Written, MetaError>),
    /// Answer to [`RaftRequest::AwaitApplied`]: whether the entry was applied in time.
    Applied(bool),
}

/// A committed proposal: its log index and what applying it answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    /// The entry's index in the raft log.
    pub index: u64,
    /// What the state machine answered.
    pub response: Response,
}

/// Why a request got no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The node cannot be reached (down, partitioned, unknown); openraft backs off.
    #[error("node {0} is unreachable")]
    Unreachable(NodeId),
    /// The exchange failed on the way (bad frame, wrong reply, timeout).
    #[error("{0}")]
    Failed(String),
}

/// What [`RaftTransport::send`] returns.
pub type TransportFuture = Pin<Box<dyn Future<Output = Result<RaftReply, TransportError>> + Send>>;

/// Carries a request to `target` and brings back its reply. The receiving side answers with
/// [`MetaHandle::serve`](super::MetaHandle::serve).
pub trait RaftTransport: Send + Sync + 'static {
    /// Sends `request` to `target` (known to raft as `node`).
    fn send(&self, target: NodeId, node: &MetaNode, request: RaftRequest) -> TransportFuture;
}

/// Decodes a request received from a peer; garbage is an error, never a panic.
pub fn decode_request(bytes: &[u8]) -> Result<RaftRequest, TransportError> {
    decode(bytes).map_err(|e| TransportError::Failed(format!("malformed raft request: {e}")))
}

/// Encodes a request for the wire.
pub fn encode_request(request: &RaftRequest) -> Result<Vec<u8>, TransportError> {
    encode(request).map_err(|e| TransportError::Failed(format!("cannot encode raft request: {e}")))
}

/// Decodes a peer's reply; garbage is an error, never a panic.
pub fn decode_reply(bytes: &[u8]) -> Result<RaftReply, TransportError> {
    decode(bytes).map_err(|e| TransportError::Failed(format!("malformed raft reply: {e}")))
}

/// Encodes a reply for the wire.
pub fn encode_reply(reply: &RaftReply) -> Result<Vec<u8>, TransportError> {
    encode(reply).map_err(|e| TransportError::Failed(format!("cannot encode raft reply: {e}")))
}

/// Creates one [`Connection`] per target node.
pub(super) struct Network {
    pub(super) transport: Arc<dyn RaftTransport>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, node: &MetaNode) -> Connection {
        Connection {
            transport: Arc::clone(&self.transport),
            target,
            node: node.clone(),
        }
    }
}

/// openraft's view of one peer.
pub(super) struct Connection {
    transport: Arc<dyn RaftTransport>,
    target: NodeId,
    node: MetaNode,
}

type RpcResult<T, E> = Result<T, RPCError<NodeId, MetaNode, E>>;

impl Connection {
    /// Sends within openraft's deadline for this RPC.
    async fn call<E: std::error::Error>(
        &self,
        request: RaftRequest,
        option: &RPCOption,
    ) -> RpcResult<RaftReply, E> {
        let send = self.transport.send(self.target, &self.node, request);
        match tokio::time::timeout(option.hard_ttl(), send).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e @ TransportError::Unreachable(_))) => {
                Err(RPCError::Unreachable(Unreachable::new(&e)))
            }
            Ok(Err(e)) => Err(RPCError::Network(NetworkError::new(&e))),
            Err(_) => Err(RPCError::Network(NetworkError::new(
                &TransportError::Failed(format!("node {} did not answer in time", self.target)),
            ))),
        }
    }

    // openraft's RPC error type is large; it is what `RaftNetwork` must return.
    #[allow(clippy::result_large_err)]
    fn remote<T, E: std::error::Error>(
        &self,
        reply: Result<T, RaftError<NodeId, E>>,
    ) -> RpcResult<T, RaftError<NodeId, E>> {
        reply.map_err(|e| {
            RPCError::RemoteError(RemoteError::new_with_node(
                self.target,
                self.node.clone(),
                e,
            ))
        })
    }

    fn mismatched<E: std::error::Error>(&self) -> RPCError<NodeId, MetaNode, E> {
        let e = TransportError::Failed(format!("node {} answered another request", self.target));
        RPCError::Network(NetworkError::new(&AnyError::new(&e)))
    }
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>, RaftError<NodeId>> {
        match self.call(RaftRequest::AppendEntries(rpc), &option).await? {
            RaftReply::AppendEntries(reply) => self.remote(reply),
            _ => Err(self.mismatched()),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>> {
        match self
            .call(RaftRequest::InstallSnapshot(rpc), &option)
            .await?
        {
            RaftReply::InstallSnapshot(reply) => self.remote(reply),
            _ => Err(self.mismatched()),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>, RaftError<NodeId>> {
        match self.call(RaftRequest::Vote(rpc), &option).await? {
            RaftReply::Vote(reply) => self.remote(reply),
            _ => Err(self.mismatched()),
        }
    }
}
