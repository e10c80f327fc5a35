//! [`MetaHandle`]: writes through raft (forwarded to the leader, bounded by a timeout), local reads, membership changes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use openraft::error::{ClientWriteError, InitializeError, RaftError};
use openraft::metrics::WaitError;
use openraft::{ChangeMembers, Config, SnapshotPolicy};
use serde::{Deserialize, Serialize};

use super::log_store::{self, LogStore};
use super::machine::StateMachine;
use super::network::{Network, Proposal, Written};
use super::{
    Command, MetaNode, MetaRaft, MetaState, NodeId, RaftReply, RaftRequest, RaftTransport, Response,
};

/// Timing and log compaction of the metadata raft.
#[derive(Debug, Clone)]
pub struct MetaConfig {
    /// How often the leader sends heartbeats.
    pub heartbeat: Duration,
    /// A follower that hears no leader for a random time in `election` starts an election.
    pub election: (Duration, Duration),
    /// How long a write (or membership change) may take before it answers [`MetaError::NoQuorum`].
    pub write_timeout: Duration,
    /// A snapshot is built after this many applied entries.
    pub snapshot_after: u64,
    /// Entries kept in the log behind the last snapshot (for lagging followers).
    pub keep_logs: u64,
    /// After a write, how long to wait for each reachable member to confirm it applied it.
    pub confirm_timeout: Duration,
}

impl Default for MetaConfig {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_millis(250),
            election: (Duration::from_millis(1000), Duration::from_millis(2000)),
            write_timeout: Duration::from_secs(5),
            snapshot_after: 1000,
            keep_logs: 200,
            confirm_timeout: Duration::from_secs(1),
        }
    }
}

/// Why a metadata change was not made (or its outcome is unknown).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum MetaError {
    /// No leader with a quorum answered within the write timeout.
    #[error("no quorum: most cluster members are unreachable, so the change could not be confirmed; retry when they are back")]
    NoQuorum,
    /// This node is not part of an initialized cluster.
    #[error("cluster metadata is not ready: this node is not a member of a cluster yet; join or initialize one first")]
    NotReady,
    /// A forwarded change reached a node that is no longer the leader (the sender retries).
    #[error("this node is not the leader; retry")]
    NotLeader,
    /// The raft instance has stopped.
    #[error("cluster metadata has stopped; restart the node")]
    Stopped,
    /// A membership change was refused.
    #[error("membership change refused: {0}")]
    Membership(String),
    /// `meta.redb` could not be opened or raft could not start.
    #[error("cluster metadata storage failed: {0}")]
    Storage(String),
}

/// Where a proposal went when tried on this node.
enum Outcome {
    Done(Result<Written, MetaError>),
    Forward(NodeId, MetaNode),
    NoLeader,
}

/// The node's access to the replicated metadata. Clones share one raft instance.
#[derive(Clone)]
pub struct MetaHandle {
    id: NodeId,
    raft: MetaRaft,
    state: Arc<ArcSwap<MetaState>>,
    transport: Arc<dyn RaftTransport>,
    config: MetaConfig,
}

impl MetaHandle {
    /// Opens `path` (`meta.redb`, created when missing) and starts member `id`, talking to its
    /// peers through `transport`. A restarted node resumes its vote, log and state from the file.
    pub async fn start(
        id: NodeId,
        path: &Path,
        config: MetaConfig,
        transport: Arc<dyn RaftTransport>,
    ) -> Result<Self, MetaError> {
        let raft_config = Config {
            cluster_name: "vmq-meta".to_owned(),
            heartbeat_interval: millis(config.heartbeat),
            election_timeout_min: millis(config.election.0),
            election_timeout_max: millis(config.election.1),
            snapshot_policy: SnapshotPolicy::LogsSinceLast(config.snapshot_after),
            max_in_snapshot_log_to_keep: config.keep_logs,
            purge_batch_size: 1,
            ..Config::default()
        }
        .validate()
        .map_err(|e| MetaError::Storage(format!("invalid raft config: {e}")))?;
        let db = log_store::open(path).map_err(MetaError::Storage)?;
        let machine = StateMachine::load(Arc::clone(&db)).map_err(MetaError::Storage)?;
        let state = machine.published();
        let network = Network {
            transport: Arc::clone(&transport),
        };
        let raft = MetaRaft::new(
            id,
            Arc::new(raft_config),
            network,
            LogStore::new(db),
            machine,
        )
        .await
        .map_err(|e| MetaError::Storage(e.to_string()))?;
        Ok(Self {
            id,
            raft,
            state,
            transport,
            config,
        })
    }

    /// This member's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The metadata as applied on this node: no round trip, works without a quorum.
    pub fn state(&self) -> Arc<MetaState> {
        self.state.load_full()
    }

    /// The leader this node knows of.
    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    /// Resolves when raft's metrics change (an entry applied, a leader elected), or after `at_most`.
    pub async fn changed(&self, at_most: Duration) {
        let mut metrics = self.raft.metrics();
        drop(metrics.borrow_and_update());
        match tokio::time::timeout(at_most, metrics.changed()).await {
            Ok(Ok(())) | Err(_) => {}
            // Stopped: nothing will change here; don't spin.
            Ok(Err(_)) => tokio::time::sleep(at_most).await,
        }
    }

    /// Makes `members` the first voters of a new cluster (once, on one node).
    pub async fn initialize(&self, members: BTreeMap<NodeId, MetaNode>) -> Result<(), MetaError> {
        self.raft
            .initialize(members)
            .await
            .map_err(|e| MetaError::Membership(e.to_string()))
    }

    /// [`Self::initialize`] unless this node already has a log (it was started before).
    pub(super) async fn initialize_if_new(
        &self,
        members: BTreeMap<NodeId, MetaNode>,
    ) -> Result<(), MetaError> {
        // Asked first: openraft logs a refused initialize as an error.
        if self
            .raft
            .is_initialized()
            .await
            .map_err(|_| MetaError::Stopped)?
        {
            return Ok(());
        }
        match self.raft.initialize(members).await {
            Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => Ok(()),
            Err(e) => Err(MetaError::Membership(e.to_string())),
        }
    }

    /// Applies `command` cluster-wide; answers once a quorum has committed it and every reachable
    /// member has applied it (so a key deleted here is refused everywhere reachable).
    pub async fn write(&self, command: Command) -> Result<Response, MetaError> {
        self.propose(Proposal::Write(command)).await
    }

    /// Adds member `id` as a voter once it has caught up.
    pub async fn add_member(&self, id: NodeId, node: MetaNode) -> Result<(), MetaError> {
        self.propose(Proposal::AddMember(id, node)).await.map(drop)
    }

    /// Removes member `id`.
    pub async fn remove_member(&self, id: NodeId) -> Result<(), MetaError> {
        self.propose(Proposal::RemoveMember(id)).await.map(drop)
    }

    /// Answers a request a peer sent through the transport.
    pub async fn serve(&self, request: RaftRequest) -> RaftReply {
        match request {
            RaftRequest::AppendEntries(rpc) => {
                RaftReply::AppendEntries(self.raft.append_entries(rpc).await)
            }
            RaftRequest::Vote(rpc) => RaftReply::Vote(self.raft.vote(rpc).await),
            RaftRequest::InstallSnapshot(rpc) => {
                RaftReply::InstallSnapshot(self.raft.install_snapshot(rpc).await)
            }
            RaftRequest::AwaitApplied(index) => {
                let wait = self.raft.wait(Some(self.config.confirm_timeout));
                let applied = wait.applied_index_at_least(Some(index), "entry applied");
                RaftReply::Applied(applied.await.is_ok())
            }
            RaftRequest::Propose(proposal) => {
                // A forwarded change is tried here only: no second hop, the sender retries.
                let tried =
                    tokio::time::timeout(self.config.write_timeout, self.try_here(&proposal));
                RaftReply::Propose(match tried.await {
                    Ok(Outcome::Done(result)) => result,
                    Ok(Outcome::Forward(..) | Outcome::NoLeader) => Err(MetaError::NotLeader),
                    Err(_) => Err(MetaError::NoQuorum),
                })
            }
        }
    }

    /// Stops raft; the handle answers [`MetaError::Stopped`] afterwards.
    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!("cluster metadata did not stop cleanly: {e}");
        }
    }

    #[cfg(test)]
    pub(super) fn raft(&self) -> &MetaRaft {
        &self.raft
    }

    /// Commits `proposal` (within the write timeout, else `NoQuorum`), waits until this node has
    /// applied it, then until the reachable members confirm they have too.
    async fn propose(&self, proposal: Proposal) -> Result<Response, MetaError> {
        let answered = async {
            let written = self.propose_until_answered(proposal).await?;
            self.raft
                .wait(Some(self.config.write_timeout))
                .applied_index_at_least(Some(written.index), "write applied")
                .await
                .map_err(|e| match e {
                    WaitError::Timeout(..) => MetaError::NoQuorum,
                    WaitError::ShuttingDown => MetaError::Stopped,
                })?;
            Ok(written)
        };
        let written = tokio::time::timeout(self.config.write_timeout, answered)
            .await
            .unwrap_or(Err(MetaError::NoQuorum))?;
        self.confirm_applied(written.index).await;
        Ok(written.response)
    }

    /// Waits until every reachable member has applied entry `index` (each bounded by the confirm
    /// timeout), so that after the answer a read on any of them sees the change. A member that
    /// cannot be reached is skipped: it serves its older state until it catches up.
    async fn confirm_applied(&self, index: u64) {
        let state = self.state();
        let peers = state.members().iter().filter(|(id, _)| **id != self.id);
        let confirmations = peers.map(|(id, node)| {
            let ask = self
                .transport
                .send(*id, node, RaftRequest::AwaitApplied(index));
            async move {
                match tokio::time::timeout(self.config.confirm_timeout, ask).await {
                    Ok(Ok(RaftReply::Applied(true))) => {}
                    _ => tracing::debug!("member {id} did not confirm entry {index}"),
                }
            }
        });
        futures_util::future::join_all(confirmations).await;
    }

    /// Tries here, then at the leader, until an answer; the caller bounds it with the timeout.
    async fn propose_until_answered(&self, proposal: Proposal) -> Result<Written, MetaError> {
        loop {
            match self.try_here(&proposal).await {
                Outcome::Done(result) => return result,
                Outcome::Forward(leader, node) => {
                    let request = RaftRequest::Propose(proposal.clone());
                    match self.transport.send(leader, &node, request).await {
                        Ok(RaftReply::Propose(Err(MetaError::NotLeader))) => {}
                        Ok(RaftReply::Propose(result)) => return result,
                        Ok(_) => tracing::warn!("leader {leader} answered another request"),
                        Err(e) => tracing::debug!("cannot forward to leader {leader}: {e}"),
                    }
                }
                Outcome::NoLeader if !self.is_member_of_cluster() => {
                    return Err(MetaError::NotReady)
                }
                Outcome::NoLeader => {}
            }
            // Wait for news (a leader elected, a term change) or one heartbeat, then retry.
            let mut metrics = self.raft.metrics();
            // A fresh receiver reports the current value as changed: mark it seen first.
            drop(metrics.borrow_and_update());
            let _ = tokio::time::timeout(self.config.heartbeat, metrics.changed()).await;
        }
    }

    fn is_member_of_cluster(&self) -> bool {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow();
        let member = metrics
            .membership_config
            .membership()
            .voter_ids()
            .next()
            .is_some();
        member
    }

    /// The leader this node knows of, when it is another node, with its address.
    fn other_leader(&self) -> Option<(NodeId, MetaNode)> {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow();
        let leader = metrics.current_leader.filter(|id| *id != self.id)?;
        let node = metrics.membership_config.membership().get_node(&leader)?;
        Some((leader, node.clone()))
    }

    async fn try_here(&self, proposal: &Proposal) -> Outcome {
        // A follower forwards at once (openraft would refuse, and log the refusal as an error).
        if let Some((leader, node)) = self.other_leader() {
            return Outcome::Forward(leader, node);
        }
        let result = match proposal {
            Proposal::Write(command) => self.raft.client_write(command.clone()).await,
            Proposal::AddMember(id, node) => {
                match self.raft.add_learner(*id, node.clone(), true).await {
                    Ok(_) => {
                        self.raft
                            .change_membership(
                                ChangeMembers::AddVoterIds(BTreeSet::from([*id])),
                                false,
                            )
                            .await
                    }
                    Err(e) => Err(e),
                }
            }
            Proposal::RemoveMember(id) => {
                let change = ChangeMembers::RemoveVoters(BTreeSet::from([*id]));
                self.raft.change_membership(change, false).await
            }
        };
        match result {
            Ok(written) => Outcome::Done(Ok(Written {
                index: written.log_id.index,
                response: written.data,
            })),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(to))) => {
                match (to.leader_id, to.leader_node) {
                    (Some(leader), Some(node)) if leader != self.id => {
                        Outcome::Forward(leader, node)
                    }
                    _ => Outcome::NoLeader,
                }
            }
            Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e))) => {
                Outcome::Done(Err(MetaError::Membership(e.to_string())))
            }
            Err(RaftError::Fatal(_)) => Outcome::Done(Err(MetaError::Stopped)),
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
