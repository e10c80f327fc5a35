//! Starts a node: the actor tree, the HTTP(S) listeners and the admin socket; stops it with a drain.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vmq_actors::vault::VaultHandle;
use vmq_actors::{
    ClusterHandle, ConnectionCounts, ListenerInfo, ListenerStatus, ListenersHandle, NodeName,
    SettingsHandle, SupervisorHandle, TlsInfo,
};

use crate::bootstrap;
use crate::config::{Config, HttpListener, HttpScheme};
use crate::http::{self, HttpContext};

/// What commands run against: the handles of a running node's actors. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Node {
    /// API keys.
    pub vault: VaultHandle,
    /// Cluster membership.
    pub cluster: ClusterHandle,
    /// Bound listeners.
    pub listeners: ListenersHandle,
    /// The effective configuration, changed by `set`.
    pub settings: SettingsHandle<Config>,
}

/// The figures `node status` reports. The MQTT data plane is what moves them; until a node has
/// one, they are all zero.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeFigures {
    /// Online sessions.
    pub num_online: u64,
    /// Offline (persistent) sessions.
    pub num_offline: u64,
    /// PUBLISH packets received.
    pub msg_in: u64,
    /// PUBLISH packets sent.
    pub msg_out: u64,
    /// Messages put into queues.
    pub queue_in: u64,
    /// Messages taken out of queues.
    pub queue_out: u64,
    /// Messages dropped by full queues.
    pub queue_drop: u64,
    /// Messages for queues that had gone.
    pub queue_unhandled: u64,
    /// Subscriptions.
    pub num_subscriptions: u64,
    /// Retained messages.
    pub num_retained: u64,
    /// Publishes matched to local subscribers.
    pub matches_local: u64,
    /// Publishes matched to remote subscribers.
    pub matches_remote: u64,
}

impl Node {
    /// This node's name.
    pub fn name(&self) -> &NodeName {
        self.cluster.local()
    }

    /// The configuration in force now.
    pub fn config(&self) -> Arc<Config> {
        self.settings.current()
    }

    /// The figures for `node status`.
    pub fn figures(&self) -> NodeFigures {
        NodeFigures::default()
    }
}

/// Why a node could not start, with the exit code `main` uses for it.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener address or TLS file that can't be used (EX_CONFIG).
    #[error("{0}")]
    Config(String),
    /// The data directory can't be created or used (EX_CANTCREAT).
    #[error("{0}")]
    DataDir(String),
    /// Stored data can't be read (EX_DATAERR).
    #[error("{0}")]
    Data(String),
    /// The actor system failed to start (EX_SOFTWARE).
    #[error("{0}")]
    Internal(String),
}

impl StartError {
    /// The sysexits code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            StartError::Config(_) => 78,
            StartError::DataDir(_) => 73,
            StartError::Data(_) => 65,
            StartError::Internal(_) => 70,
        }
    }
}

/// A started node. Dropping it does not stop it: call [`RunningNode::stop`].
#[derive(Debug)]
pub struct RunningNode {
    node: Node,
    supervisor: SupervisorHandle,
    http_addrs: Vec<(HttpScheme, String, SocketAddr)>,
    stop_tx: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    socket_path: PathBuf,
}

impl RunningNode {
    /// The handles, for in-process callers (tests, benches).
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Where each HTTP(S) listener is bound: (scheme, name, address).
    pub fn http_addrs(&self) -> &[(HttpScheme, String, SocketAddr)] {
        &self.http_addrs
    }

    /// The admin socket `vmq-admin` talks to.
    pub fn admin_socket(&self) -> &std::path::Path {
        &self.socket_path
    }

    /// Resolves if the supervisor gave up on the actor tree (the node must then stop).
    pub async fn failed(&self) -> String {
        self.supervisor.gave_up().await
    }

    /// Marks the node not ready, stops accepting, drains open requests, stops the actors.
    pub async fn stop(self) {
        let _ = self.node.cluster.set_local_running(false).await;
        let _ = self.stop_tx.send(true);
        for server in self.servers {
            let _ = server.await;
        }
        let _ = std::fs::remove_file(&self.socket_path);
        self.supervisor.shutdown();
        tracing::info!("node stopped");
    }
}

/// Starts everything; every listener is bound before this returns.
/// `env` is the process environment (for the bootstrap key).
pub async fn start(config: Config, env: &[(String, String)]) -> Result<RunningNode, StartError> {
    let data_dir = config.data_dir().to_path_buf();
    std::fs::create_dir_all(&data_dir).map_err(|e| {
        StartError::DataDir(format!(
            "cannot create data directory {}: {e}",
            data_dir.display()
        ))
    })?;
    let tls: Vec<_> = config
        .http_listeners()
        .iter()
        .map(|l| {
            l.tls
                .as_ref()
                .map(http::tls::acceptor)
                .transpose()
                .map_err(|e| listener_error(l, &e))
        })
        .collect::<Result<_, _>>()?;
    let mut bound = Vec::new();
    for listener in config.http_listeners() {
        let socket = TcpListener::bind(listener.addr).await.map_err(|e| {
            listener_error(listener, &format!("cannot bind {}: {e}", listener.addr))
        })?;
        bound.push(socket);
    }
    let socket_path = data_dir.join("vmq-admin.sock");
    let admin_listener = crate::admin_socket::bind(&socket_path)
        .await
        .map_err(StartError::DataDir)?;
    let (supervisor, _join) = SupervisorHandle::start()
        .await
        .map_err(StartError::Internal)?;
    let node = start_actors(&supervisor, config.clone(), &data_dir).await?;
    bootstrap::import_keys(&node, &config, env).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut servers = Vec::new();
    let mut http_addrs = Vec::new();
    for ((listener, socket), acceptor) in config.http_listeners().iter().zip(bound).zip(tls) {
        let addr = socket
            .local_addr()
            .map_err(|e| StartError::Internal(e.to_string()))?;
        let counts = register(&node, listener, addr).await?;
        let ctx = Arc::new(HttpContext {
            node: node.clone(),
            listener: Arc::new(listener.clone()),
        });
        tracing::info!(listener = %listener.name, scheme = listener.scheme.as_str(), %addr, "HTTP listener bound");
        http_addrs.push((listener.scheme, listener.name.clone(), addr));
        servers.push(tokio::spawn(http::serve(
            socket,
            acceptor,
            ctx,
            counts,
            stopped(stop_rx.clone()),
        )));
    }
    servers.push(tokio::spawn(crate::admin_socket::serve(
        admin_listener,
        node.clone(),
        stopped(stop_rx),
    )));
    tracing::info!(socket = %socket_path.display(), "admin socket bound");
    node.cluster
        .set_local_running(true)
        .await
        .map_err(|e| StartError::Internal(e.to_string()))?;
    tracing::info!(node = %node.name(), "node running");
    Ok(RunningNode {
        node,
        supervisor,
        http_addrs,
        stop_tx,
        servers,
        socket_path,
    })
}

async fn start_actors(
    supervisor: &SupervisorHandle,
    config: Config,
    data_dir: &std::path::Path,
) -> Result<Node, StartError> {
    let vault = VaultHandle::start(data_dir.join("api_keys.json"), supervisor)
        .await
        .map_err(|e| StartError::Data(e.to_string()))?;
    let cluster = ClusterHandle::start(config.nodename().clone(), supervisor)
        .await
        .map_err(StartError::Internal)?;
    let listeners = ListenersHandle::start(supervisor)
        .await
        .map_err(StartError::Internal)?;
    let settings = SettingsHandle::start(config, supervisor)
        .await
        .map_err(StartError::Internal)?;
    Ok(Node {
        vault,
        cluster,
        listeners,
        settings,
    })
}

async fn register(
    node: &Node,
    listener: &HttpListener,
    addr: SocketAddr,
) -> Result<Arc<ConnectionCounts>, StartError> {
    let counts = Arc::new(ConnectionCounts::default());
    let tls = listener.tls.as_ref().map(|files| TlsInfo {
        certfile: files.certfile.display().to_string(),
        keyfile: files.keyfile.display().to_string(),
        cafile: files
            .cafile
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        require_certificate: files.require_certificate,
        tls_version: "tlsv1.2, tlsv1.3".to_owned(),
    });
    let info = ListenerInfo {
        kind: listener.scheme.as_str(),
        name: listener.name.clone(),
        addr,
        mountpoint: String::new(),
        max_conns: None,
        tls,
        status: ListenerStatus::Running,
        counts: Arc::clone(&counts),
    };
    node.listeners
        .register(info)
        .await
        .map_err(|e| StartError::Internal(e.to_string()))?;
    Ok(counts)
}

fn listener_error(listener: &HttpListener, problem: &str) -> StartError {
    StartError::Config(format!(
        "listener.{}.{}: {problem}",
        listener.scheme.as_str(),
        listener.name
    ))
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}
