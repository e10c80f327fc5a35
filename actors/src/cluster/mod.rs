//! Cluster membership over the `ractor_cluster` fabric: members find each other through the
//! `vmq_cluster` process group, exchange a heartbeat every second (a peer silent for more than
//! [`MISS_LIMIT`] beats shows `Running = false`), redial down members with backoff, and persist
//! the member list so that a restarted node rejoins by itself. A node that leaves for good
//! (`cluster leave --kill_sessions`) says so to its peers, which drop it at once.

mod fabric;
mod fabric_tls;
mod handle;
mod members_file;
mod peer;
mod state;
mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use arc_swap::ArcSwap;
use ractor::{pg, Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use fabric::Fabric;
pub use fabric::{parse_discovery_node, DEFAULT_CLUSTER_PORT};
pub use fabric_tls::FabricTls;
pub use handle::{ClusterHandle, ClusterSettings, ClusterStartError};
pub use peer::{CallFuture, CallHandler, CastHandler, PeerError, PeerMessage, Peers};
use state::{ClusterState, JoinStart};
pub use state::{LeaveOutcome, Member, JOIN_TIMEOUT_TICKS, MISS_LIMIT};
use wire::Heartbeat;

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
    /// `cluster leave node=…`: removes a down member; a running one is asked to stop its MQTT
    /// listeners (with `kill_sessions` the caller asks it to leave over the peer service).
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
    /// This node leaves the cluster for good: it tells every peer, forgets them, and persists
    /// itself alone (a restart does not rejoin).
    Depart {
        /// Acknowledgement once the farewell is sent and the list saved.
        reply: RpcReplyPort<()>,
    },
    /// A peer's farewell: it has left the cluster for good.
    Departed {
        /// The peer.
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
            ClusterMessage::Depart { reply } => {
                depart(state, args, &myself);
                let _ = reply.send(());
            }
            ClusterMessage::Departed { node } => {
                if state.peer_departed(&node) {
                    tracing::info!(%node, "cluster member left");
                    persist(state, args);
                    broadcast(&state.heartbeat());
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
    if state.departed() {
        return;
    }
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

/// Sends the farewell to every peer (after any heartbeat this node sent them, so none brings it
/// back), leaves the group, and saves this node alone.
fn depart(state: &mut ClusterState, args: &ClusterArgs, myself: &ActorRef<ClusterMessage>) {
    for cell in pg::get_members(&GROUP.to_owned()) {
        if !cell.get_id().is_local() {
            let farewell = ClusterMessage::Departed {
                node: args.local.clone(),
            };
            let _ = cell.send_message(farewell);
        }
    }
    pg::leave(GROUP.to_owned(), vec![myself.get_cell()]);
    state.depart();
    persist(state, args);
    tracing::info!("this node left the cluster");
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

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
