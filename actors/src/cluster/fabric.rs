//! The node-to-node fabric: a supervised `ractor_cluster::NodeServer` (cookie auth, full mesh),
//! a log of its sessions, and dialling a peer; with `listener.vmqs`, over mutual TLS.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use ractor::ActorCell;
use ractor_cluster::node::{NodeConnectionMode, NodeServerSessionInformation};
use ractor_cluster::{
    ClientConnectErr, IncomingEncryptionMode, NodeEventSubscription, NodeServer, NodeServerMessage,
};

use super::fabric_tls::{self, FabricTls, OnRefused};

use crate::call::call;
use crate::slot::ActorSlot;
use crate::supervisor::{spawn_supervised, SupervisorHandle};
use crate::types::NodeName;

/// The cluster port a discovery node without one is dialled on.
pub const DEFAULT_CLUSTER_PORT: u16 = 44053;
/// How long dialling a peer may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);

/// The running fabric: the node server and, with `listener.vmqs`, the TLS settings.
#[derive(Clone)]
pub(crate) struct Fabric {
    server: ActorSlot<NodeServerMessage>,
    tls: Option<FabricTls>,
    /// While set, every fabric session is closed as soon as it opens (a partition, for tests).
    cut_off: Arc<AtomicBool>,
}

/// Starts the node server on `listen` (a concrete port: the caller resolved port 0). With TLS,
/// our accept loop owns `listen` and the node server listens on a loopback port of its own
/// (with the same mutual TLS) that nobody dials; members form the full mesh by dialling every
/// member themselves, as ractor_cluster's transitive dials would not use TLS.
pub(crate) async fn start(
    supervisor: &SupervisorHandle,
    local: &NodeName,
    listen: SocketAddr,
    cookie: String,
    tls: Option<FabricTls>,
) -> Result<(Fabric, Option<std::net::TcpListener>), String> {
    let (name, host) = local
        .as_str()
        .split_once('@')
        .map(|(n, h)| (n.to_owned(), h.to_owned()))
        .unwrap_or_default();
    let socket = match &tls {
        Some(_) => Some(std::net::TcpListener::bind(listen).map_err(|e| e.to_string())?),
        None => None,
    };
    let encryption = tls
        .as_ref()
        .map(|tls| IncomingEncryptionMode::Tls(tls.acceptor.clone()));
    let server = spawn_supervised(supervisor, "cluster fabric", move || {
        let (port, ip, mode) = match &encryption {
            Some(_) => (
                0,
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                NodeConnectionMode::Isolated,
            ),
            None => (listen.port(), listen.ip(), NodeConnectionMode::Transitive),
        };
        let server = NodeServer::new(
            port,
            cookie.clone(),
            name.clone(),
            host.clone(),
            encryption.clone(),
            Some(mode),
        )
        .with_listen_addr(ip);
        (server, ())
    })
    .await?;
    let cut_off = Arc::default();
    Ok((
        Fabric {
            server,
            tls,
            cut_off,
        },
        socket,
    ))
}

/// Logs the fabric's sessions and, with TLS, starts accepting on `socket` until `owner` stops;
/// `on_refused` gets the peer address of every connection refused before authenticating.
pub(crate) fn watch(
    fabric: &Fabric,
    socket: Option<std::net::TcpListener>,
    owner: ActorCell,
    on_refused: impl Fn(String) + Send + Sync + 'static,
) -> Result<(), String> {
    let on_refused: OnRefused = Arc::new(on_refused);
    if let (Some(tls), Some(socket)) = (&fabric.tls, socket) {
        let acceptor = tls.acceptor.clone();
        let refused = Arc::clone(&on_refused);
        fabric_tls::accept_loop(socket, fabric.server.clone(), acceptor, owner, refused)?;
    }
    let _ = fabric
        .server
        .get()
        .cast(NodeServerMessage::SubscribeToEvents {
            id: "vmq-fabric-log".to_owned(),
            subscription: Box::new(SessionLog {
                authenticated: Mutex::default(),
                on_refused,
                cut_off: Arc::clone(&fabric.cut_off),
            }),
        });
    Ok(())
}

/// Dials `address` unless a session with `node` is already up.
pub(crate) async fn dial(fabric: &Fabric, node: &NodeName, address: &str) -> Result<(), String> {
    let server = fabric.server.get();
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
    let connect = async {
        match &fabric.tls {
            Some(tls) => {
                let name = fabric_tls::server_name(address)
                    .map_err(|e| ClientConnectErr::Encryption(std::io::Error::other(e)))?;
                let connector = tls.connector.clone();
                ractor_cluster::client_connect_enc(&server, address, connector, name).await
            }
            None => ractor_cluster::client_connect(&server, address).await,
        }
    };
    match tokio::time::timeout(DIAL_TIMEOUT, connect).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(ClientConnectErr::Socket(e))) => Err(format!("{address}: {e}")),
        Ok(Err(ClientConnectErr::Encryption(e))) => Err(format!(
            "{address}: TLS handshake failed ({e}); both nodes need certificates signed by the \
             CA of listener.vmqs.cafile"
        )),
        Ok(Err(ClientConnectErr::Messaging(_))) => Err("the cluster fabric stopped".to_owned()),
        Err(_) => Err(format!(
            "{address}: no answer within {} s",
            DIAL_TIMEOUT.as_secs()
        )),
    }
}

/// Cuts this node off the fabric (`true`: every session is closed, and so is every new one)
/// or lets it reconnect (`false`; the membership's redials and the peers' bring it back).
pub(crate) async fn set_cut_off(fabric: &Fabric, cut_off: bool) -> Result<(), String> {
    fabric.cut_off.store(cut_off, Ordering::SeqCst);
    if !cut_off {
        return Ok(());
    }
    let server = fabric.server.get();
    let sessions = call(&server, "cluster fabric", DIAL_TIMEOUT, |reply| {
        NodeServerMessage::GetSessions(reply)
    })
    .await
    .map_err(|e| e.to_string())?;
    for session in sessions.values() {
        session.actor.stop(Some("cut off".to_owned()));
    }
    Ok(())
}

/// Logs peers connecting and leaving, and connections refused before authentication; closes
/// every session while the node is cut off.
struct SessionLog {
    authenticated: Mutex<HashSet<u64>>,
    on_refused: OnRefused,
    cut_off: Arc<AtomicBool>,
}

fn peer(ses: &NodeServerSessionInformation) -> String {
    ses.peer_name
        .as_ref()
        .map_or_else(|| "unknown".to_owned(), |p| p.name.clone())
}

impl NodeEventSubscription for SessionLog {
    fn node_session_opened(&self, ses: NodeServerSessionInformation) {
        if self.cut_off.load(Ordering::SeqCst) {
            tracing::debug!(addr = %ses.peer_addr, "cluster connection closed: cut off");
            ses.actor.stop(Some("cut off".to_owned()));
            return;
        }
        tracing::debug!(addr = %ses.peer_addr, "cluster connection opened");
    }

    fn node_session_disconnected(&self, ses: NodeServerSessionInformation) {
        if self.cut_off.load(Ordering::SeqCst) {
            self.authenticated.lock().remove(&ses.node_id);
            tracing::info!(addr = %ses.peer_addr, "cluster connection closed: this node is cut off");
        } else if self.authenticated.lock().remove(&ses.node_id) {
            tracing::info!(peer = %peer(&ses), addr = %ses.peer_addr, "cluster peer disconnected");
        } else {
            tracing::warn!(
                addr = %ses.peer_addr,
                "cluster connection refused: it closed before authenticating (a different \
                 distributed_cookie, or not a cluster node)"
            );
            (self.on_refused)(ses.peer_addr);
        }
    }

    fn node_session_authenticated(&self, ses: NodeServerSessionInformation) {
        if self.cut_off.load(Ordering::SeqCst) {
            ses.actor.stop(Some("cut off".to_owned()));
            return;
        }
        self.authenticated.lock().insert(ses.node_id);
        tracing::info!(peer = %peer(&ses), addr = %ses.peer_addr, "cluster peer connected");
    }
}

/// `Name@host[:port]` → the node name `Name@host` and the address `host:port` to dial.
pub fn parse_discovery_node(text: &str) -> Result<(NodeName, String), String> {
    let (name, rest) = text.split_once('@').unwrap_or((text, ""));
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') || host.ends_with(']') => {
            let port: u16 = port
                .parse()
                .map_err(|_| format!("'{text}': the port after ':' must be a number 1-65535"))?;
            (host, port)
        }
        _ => (rest, DEFAULT_CLUSTER_PORT),
    };
    let node = NodeName::parse(&format!("{name}@{host}"))?;
    Ok((node, format!("{host}:{port}")))
}

/// Port 0 becomes a concrete free port: the fabric advertises its port to peers, so it must be
/// known before the node server binds it.
pub(crate) fn resolve_port(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    std::net::TcpListener::bind(addr)?.local_addr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_nodes_parse_with_and_without_a_port() {
        let parsed = |t: &str| parse_discovery_node(t).map(|(n, a)| (n.to_string(), a));
        assert_eq!(
            parsed("B@10.0.0.2"),
            Ok(("B@10.0.0.2".into(), "10.0.0.2:44053".into()))
        );
        assert_eq!(
            parsed("B@127.0.0.1:4000"),
            Ok(("B@127.0.0.1".into(), "127.0.0.1:4000".into()))
        );
        assert!(parsed("B@h:port").is_err());
        assert!(parsed("nohost").is_err());
        assert!(parsed("@h").is_err());
    }
}
