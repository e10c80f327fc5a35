//! Cluster membership over the `ractor_cluster` fabric: members find each other through the
//! `vmq_cluster` process group, exchange a heartbeat every second (a peer silent for more than
//! [`MISS_LIMIT`] beats shows `Running = false`), redial down members with backoff, and persist
//! the member list so that a restarted node rejoins by itself.

mod fabric;
mod fabric_tls;
mod members_file;
mod peer;
mod state;
mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use arc_swap::ArcSwap;
use ractor::{pg, Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use fabric::Fabric;
pub use fabric::{parse_discovery_node, DEFAULT_CLUSTER_PORT};
pub use fabric_tls::FabricTls;
pub use peer::{CallFuture, CallHandler, CastHandler, PeerError, PeerMessage, Peers};
use state::{ClusterState, JoinStart};
pub use state::{LeaveOutcome, Member, JOIN_TIMEOUT_TICKS, MISS_LIMIT};
use wire::Heartbeat;

use crate::call::{call, CallError, DEFAULT_CALL_TIMEOUT};
use crate::slot::ActorSlot;
use crate::supervisor::{spawn_supervised, SupervisorHandle};
use crate::types::NodeName;

/// The process group every node's membership actor joins; peers see each other's through it.
const GROUP: &str = "vmq_cluster";
/// How often members exchange heartbeats (one tick of the state).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// The membership actor's messages. Only `Heartbeat` crosses the fabric.
pub enum ClusterMessage {
    /// Marks the local node as ready (serving) or not (starting, draining).
    SetLocalRunning {
        /// The new readiness.
        running: bool,
        /// Acknowledgement once the snapshot shows it.
        reply: RpcReplyPort<()>,
    },
    /// Joins the cluster of `node`, dialled at `address`.
    Join {
        /// The discovery node.
        node: NodeName,
        /// Its `host:port`.
        address: String,
        /// `Ok` once both nodes list each other, else why not.
        reply: RpcReplyPort<Result<(), String>>,
    },
    /// Dialling a join's discovery node failed.
    JoinFailed {
        /// The discovery node.
        node: NodeName,
        /// Why.
        error: String,
    },
    /// `cluster leave node=…`: removes a down member; a running one (unless `kill_sessions`,
    /// not supported yet) is asked to stop its MQTT listeners.
    Leave {
        /// The member to remove.
        node: NodeName,
        /// `--kill_sessions`.
        kill_sessions: bool,
        /// What was found.
        reply: RpcReplyPort<LeaveOutcome>,
    },
    /// A connection to `addr` closed before authenticating (another cookie, or not a node).
    Refused {
        /// The peer's `ip:port`.
        addr: String,
    },
    /// Asks `node` (this one, or a peer over the fabric) to stop its MQTT listeners.
    StopListeners {
        /// The leaving node.
        node: NodeName,
    },
    /// A heartbeat interval passed.
    Tick,
    /// A peer's heartbeat.
    Heartbeat(Heartbeat),
}

/// The actor; it holds no data.
pub struct ClusterActor;

/// Arguments for (re)starting the actor.
pub struct ClusterArgs {
    local: NodeName,
    address: String,
    members_file: PathBuf,
    fabric: Fabric,
    published: Arc<ArcSwap<Vec<Member>>>,
    leave_requests: Arc<Notify>,
}

impl Actor for ClusterActor {
    type Msg = ClusterMessage;
    type State = (ClusterState, ClusterArgs);
    type Arguments = ClusterArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let stored = members_file::load(&args.members_file)?;
        let mut state = ClusterState::new(
            args.local.clone(),
            args.address.clone(),
            &stored,
            Arc::clone(&args.published),
        );
        // A restart keeps the local readiness the snapshot shows.
        let running = args
            .published
            .load()
            .iter()
            .any(|m| m.node == args.local && m.running);
        state.set_local_running(running);
        pg::join(GROUP.to_owned(), vec![myself.get_cell()]);
        myself.send_interval(HEARTBEAT_EVERY, || ClusterMessage::Tick);
        Ok((state, args))
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        (state, args): &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ClusterMessage::SetLocalRunning { running, reply } => {
                state.set_local_running(running);
                let _ = reply.send(());
            }
            ClusterMessage::Join {
                node,
                address,
                reply,
            } => {
                if state.join(node.clone(), address.clone(), reply) == JoinStart::Connect {
                    let fabric = args.fabric.clone();
                    tokio::spawn(async move {
                        if let Err(error) = fabric::dial(&fabric, &node, &address).await {
                            let _ = myself.cast(ClusterMessage::JoinFailed { node, error });
                        }
                    });
                }
            }
            ClusterMessage::JoinFailed { node, error } => state.join_failed(&node, &error),
            ClusterMessage::Refused { addr } => state.refused(&addr),
            ClusterMessage::Leave {
                node,
                kill_sessions,
                reply,
            } => {
                let outcome = state.leave(&node);
                if outcome == LeaveOutcome::Removed {
                    tracing::info!(%node, "cluster member removed");
                    persist(state, args);
                    broadcast(&state.heartbeat());
                } else if outcome == LeaveOutcome::Running && !kill_sessions {
                    stop_listeners(args, node);
                }
                let _ = reply.send(outcome);
            }
            ClusterMessage::StopListeners { node } => {
                if node == args.local {
                    stop_local_listeners(args);
                }
            }
            ClusterMessage::Tick => tick(state, args),
            ClusterMessage::Heartbeat(beat) => {
                let heard = state.heard(&beat);
                if heard.members_changed {
                    persist(state, args);
                }
                if heard.came_up {
                    tracing::info!(node = %beat.from, "cluster member up");
                    broadcast(&state.heartbeat());
                }
            }
        }
        Ok(())
    }
}

fn tick(state: &mut ClusterState, args: &ClusterArgs) {
    let tick = state.tick();
    for node in &tick.went_down {
        tracing::warn!(%node, "cluster member down: no heartbeat");
    }
    for (node, address) in tick.connect {
        let fabric = args.fabric.clone();
        tokio::spawn(async move {
            if let Err(error) = fabric::dial(&fabric, &node, &address).await {
                tracing::debug!(%node, %error, "cluster member not reachable yet");
            }
        });
    }
    broadcast(&state.heartbeat());
}

/// Stops this node's MQTT listeners, or asks every peer to (only `node` acts on it).
fn stop_listeners(args: &ClusterArgs, node: NodeName) {
    if node == args.local {
        stop_local_listeners(args);
        return;
    }
    for cell in pg::get_members(&GROUP.to_owned()) {
        if !cell.get_id().is_local() {
            let request = ClusterMessage::StopListeners { node: node.clone() };
            let _ = cell.send_message(request);
        }
    }
}

fn stop_local_listeners(args: &ClusterArgs) {
    tracing::warn!("cluster leave: this node stops its MQTT listeners");
    args.leave_requests.notify_one();
}

fn persist(state: &ClusterState, args: &ClusterArgs) {
    if let Err(error) = members_file::save(&args.members_file, &state.list()) {
        tracing::error!(%error, "cluster member list not saved");
    }
}

/// Sends `beat` to every remote member of the group (local ones are other in-process nodes).
fn broadcast(beat: &Heartbeat) {
    for cell in pg::get_members(&GROUP.to_owned()) {
        if !cell.get_id().is_local() {
            let _ = cell.send_message(ClusterMessage::Heartbeat(beat.clone()));
        }
    }
}

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
    slot: ActorSlot<ClusterMessage>,
    local: NodeName,
    listen: SocketAddr,
    members: Arc<ArcSwap<Vec<Member>>>,
    leave_requests: Arc<Notify>,
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
        let peers = Peers::new(local.clone());
        let service_peers = peers.clone();
        spawn_supervised(supervisor, "peer service", move || {
            (peer::PeerService, service_peers.clone())
        })
        .await
        .map_err(ClusterStartError::Actor)?;
        let members = Arc::new(ArcSwap::from_pointee(Vec::new()));
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

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
