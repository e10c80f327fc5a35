//! The node-to-node fabric: a supervised `ractor_cluster::NodeServer` (cookie auth, full mesh),
//! a log of its sessions, and dialling a peer.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use parking_lot::Mutex;
use ractor_cluster::node::{NodeConnectionMode, NodeServerSessionInformation};
use ractor_cluster::{ClientConnectErr, NodeEventSubscription, NodeServer, NodeServerMessage};

use crate::call::call;
use crate::slot::ActorSlot;
use crate::supervisor::{spawn_supervised, SupervisorHandle};
use crate::types::NodeName;

/// How long dialling a peer may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);

/// The running fabric.
pub(crate) type Fabric = ActorSlot<NodeServerMessage>;

/// Starts the node server on `listen` (a concrete port: the caller resolved port 0).
pub(crate) async fn start(
    supervisor: &SupervisorHandle,
    local: &NodeName,
    listen: SocketAddr,
    cookie: String,
) -> Result<Fabric, String> {
    let (name, host) = local
        .as_str()
        .split_once('@')
        .map(|(n, h)| (n.to_owned(), h.to_owned()))
        .unwrap_or_default();
    let fabric = spawn_supervised(supervisor, "cluster fabric", move || {
        let server = NodeServer::new(
            listen.port(),
            cookie.clone(),
            name.clone(),
            host.clone(),
            None,
            Some(NodeConnectionMode::Transitive),
        )
        .with_listen_addr(listen.ip());
        (server, ())
    })
    .await?;
    let _ = fabric.get().cast(NodeServerMessage::SubscribeToEvents {
        id: "vmq-fabric-log".to_owned(),
        subscription: Box::new(SessionLog::default()),
    });
    Ok(fabric)
}

/// Dials `address` unless a session with `node` is already up.
pub(crate) async fn dial(fabric: &Fabric, node: &NodeName, address: &str) -> Result<(), String> {
    let server = fabric.get();
    let sessions = call(&server, "cluster fabric", DIAL_TIMEOUT, |reply| {
        NodeServerMessage::GetSessions(reply)
    })
    .await
    .map_err(|e| e.to_string())?;
    let connected = sessions.values().any(|s| {
        s.peer_name
            .as_ref()
            .is_some_and(|p| p.name == node.as_str())
    });
    if connected {
        return Ok(());
    }
    match tokio::time::timeout(
        DIAL_TIMEOUT,
        ractor_cluster::client_connect(&server, address),
    )
    .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(ClientConnectErr::Socket(e) | ClientConnectErr::Encryption(e))) => {
            Err(format!("{address}: {e}"))
        }
        Ok(Err(ClientConnectErr::Messaging(_))) => Err("the cluster fabric stopped".to_owned()),
        Err(_) => Err(format!(
            "{address}: no answer within {} s",
            DIAL_TIMEOUT.as_secs()
        )),
    }
}

/// Logs peers connecting and leaving, and connections refused before authentication.
#[derive(Default)]
struct SessionLog {
    authenticated: Mutex<HashSet<u64>>,
}

fn peer(ses: &NodeServerSessionInformation) -> String {
    ses.peer_name
        .as_ref()
        .map_or_else(|| "unknown".to_owned(), |p| p.name.clone())
}

impl NodeEventSubscription for SessionLog {
    fn node_session_opened(&self, ses: NodeServerSessionInformation) {
        tracing::debug!(addr = %ses.peer_addr, "cluster connection opened");
    }

    fn node_session_disconnected(&self, ses: NodeServerSessionInformation) {
        if self.authenticated.lock().remove(&ses.node_id) {
            tracing::info!(peer = %peer(&ses), addr = %ses.peer_addr, "cluster peer disconnected");
        } else {
            tracing::warn!(
                addr = %ses.peer_addr,
                "cluster connection refused: it closed before authenticating (a different \
                 distributed_cookie, or not a cluster node)"
            );
        }
    }

    fn node_session_authenticated(&self, ses: NodeServerSessionInformation) {
        self.authenticated.lock().insert(ses.node_id);
        tracing::info!(peer = %peer(&ses), addr = %ses.peer_addr, "cluster peer connected");
    }
}
