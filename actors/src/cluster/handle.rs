//! The handle to cluster membership: starting the fabric, the peer service and the membership
//! actor, and the calls the node makes on them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::Notify;

use super::fabric::{self, Fabric};
use super::fabric_tls::FabricTls;
use super::peer::{self, Peers};
use super::state::{LeaveOutcome, Member, JOIN_TIMEOUT_TICKS};
use super::{members_file, ClusterActor, ClusterArgs, ClusterMessage, HEARTBEAT_EVERY};
use crate::call::{call, CallError, DEFAULT_CALL_TIMEOUT};
use crate::slot::ActorSlot;
use crate::supervisor::{spawn_supervised, SupervisorHandle};
use crate::types::NodeName;

/// Where and how this node joins the fabric.
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    /// `listener.vmq.clustering`; port 0 picks a free one.
    pub listen: SocketAddr,
    /// `distributed_cookie`.
    pub cookie: String,
    /// The persisted member list.
    pub members_file: PathBuf,
    /// `listener.vmqs.*`: mutual TLS between nodes (`listen` is then the TLS listener).
    pub tls: Option<FabricTls>,
}

/// Why membership could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterStartError {
    /// The cluster listener cannot be bound.
    #[error("{key}: cannot bind {addr}: {error}")]
    Bind {
        /// `listener.vmq.clustering`, or `listener.vmqs.clustering` with TLS.
        key: &'static str,
        /// The configured address.
        addr: SocketAddr,
        /// Why.
        error: String,
    },
    /// The member file cannot be read.
    #[error("{0}")]
    Members(String),
    /// An actor did not start.
    #[error("{0}")]
    Actor(String),
}

/// The handle to cluster membership.
#[derive(Clone)]
pub struct ClusterHandle {
    pub(super) slot: ActorSlot<ClusterMessage>,
    local: NodeName,
    listen: SocketAddr,
    members: Arc<ArcSwap<Vec<Member>>>,
    leave_requests: Arc<Notify>,
    leave_finished: Arc<Notify>,
    peers: Peers,
    fabric: Fabric,
}

impl std::fmt::Debug for ClusterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClusterHandle({})", self.local)
    }
}

impl ClusterHandle {
    /// Starts the fabric and membership with the stored members (down until heard from) and this
    /// node, not yet running.
    pub async fn start(
        local: NodeName,
        settings: ClusterSettings,
        supervisor: &SupervisorHandle,
    ) -> Result<Self, ClusterStartError> {
        members_file::load(&settings.members_file).map_err(ClusterStartError::Members)?;
        let key = match settings.tls {
            Some(_) => "listener.vmqs.clustering",
            None => "listener.vmq.clustering",
        };
        let listen =
            fabric::resolve_port(settings.listen).map_err(|e| ClusterStartError::Bind {
                key,
                addr: settings.listen,
                error: e.to_string(),
            })?;
        let (fabric, tls_socket) =
            fabric::start(supervisor, &local, listen, settings.cookie, settings.tls)
                .await
                .map_err(|error| ClusterStartError::Bind {
                    key,
                    addr: settings.listen,
                    error,
                })?;
        tracing::info!(addr = %listen, "cluster listener bound");
        let members = Arc::new(ArcSwap::from_pointee(Vec::new()));
        let peers = Peers::new(local.clone()).with_members(Arc::clone(&members));
        let service_peers = peers.clone();
        spawn_supervised(supervisor, "peer service", move || {
            (peer::PeerService, service_peers.clone())
        })
        .await
        .map_err(ClusterStartError::Actor)?;
        let host = local.as_str().split_once('@').map_or("", |(_, h)| h);
        let address = format!("{host}:{}", listen.port());
        let (name, published) = (local.clone(), Arc::clone(&members));
        let members_file = settings.members_file;
        let watched = fabric.clone();
        let cut = fabric.clone();
        let leave_requests = Arc::new(Notify::new());
        let requests = Arc::clone(&leave_requests);
        let slot = spawn_supervised(supervisor, "cluster membership", move || {
            let args = ClusterArgs {
                local: name.clone(),
                address: address.clone(),
                members_file: members_file.clone(),
                fabric: fabric.clone(),
                published: Arc::clone(&published),
                leave_requests: Arc::clone(&requests),
            };
            (ClusterActor, args)
        })
        .await
        .map_err(ClusterStartError::Actor)?;
        let membership = slot.clone();
        fabric::watch(&watched, tls_socket, supervisor.cell(), move |addr| {
            let _ = membership.get().cast(ClusterMessage::Refused { addr });
        })
        .map_err(|error| ClusterStartError::Bind {
            key,
            addr: listen,
            error,
        })?;
        Ok(Self {
            slot,
            local,
            listen,
            members,
            leave_requests,
            leave_finished: Arc::new(Notify::new()),
            peers,
            fabric: cut,
        })
    }

    /// Cuts this node off the cluster (every fabric connection closed, new ones refused), or
    /// heals it. For partition tests: the node keeps serving its own clients meanwhile.
    pub async fn set_cut_off(&self, cut_off: bool) -> Result<(), String> {
        fabric::set_cut_off(&self.fabric, cut_off).await
    }

    /// Requests to and from the other nodes.
    pub fn peers(&self) -> &Peers {
        &self.peers
    }

    /// Resolves when `cluster leave` (here or on a peer) asked this running node to stop its
    /// MQTT listeners.
    pub async fn leave_requested(&self) {
        self.leave_requests.notified().await;
    }

    /// Leaves the cluster for good: every peer is told and drops this node at once; this node
    /// forgets them and persists itself alone, so that a restart does not rejoin.
    pub async fn depart(&self) -> Result<(), CallError> {
        call(
            &self.slot.get(),
            "cluster membership",
            DEFAULT_CALL_TIMEOUT,
            |reply| ClusterMessage::Depart { reply },
        )
        .await
    }

    /// Says that this node's leave is over and answered: the node process may stop now.
    pub fn finish_leave(&self) {
        self.leave_finished.notify_one();
    }

    /// Resolves once [`Self::finish_leave`] was called (even before this was awaited).
    pub async fn leave_finished(&self) {
        self.leave_finished.notified().await;
    }

    /// This node's name.
    pub fn local(&self) -> &NodeName {
        &self.local
    }

    /// Where the fabric listens (the real port when port 0 was configured).
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
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

    /// Joins the cluster of `node` at `address`; the inner error says why the join failed.
    pub async fn join(
        &self,
        node: NodeName,
        address: String,
    ) -> Result<Result<(), String>, CallError> {
        let timeout = HEARTBEAT_EVERY * (JOIN_TIMEOUT_TICKS + 2);
        call(&self.slot.get(), "cluster membership", timeout, |reply| {
            ClusterMessage::Join {
                node,
                address,
                reply,
            }
        })
        .await
    }

    /// Removes a down member from this node's list and, through the heartbeat, from every peer's.
    pub async fn leave(
        &self,
        node: NodeName,
        kill_sessions: bool,
    ) -> Result<LeaveOutcome, CallError> {
        call(
            &self.slot.get(),
            "cluster membership",
            DEFAULT_CALL_TIMEOUT,
            |reply| ClusterMessage::Leave {
                node,
                kill_sessions,
                reply,
            },
        )
        .await
    }
}
