//! Starts a node: the actor tree, the MQTT and HTTP(S) listeners and the admin socket; stops it with a drain.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use vmq_actors::vault::VaultHandle;
use vmq_actors::{
    ClusterHandle, ConnectionCounts, ListenerInfo, ListenerStatus, ListenersHandle, NodeName,
    SessionsHandle, SettingsHandle, SupervisorHandle, TlsInfo,
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
    /// Connected MQTT sessions, subscriptions and routing.
    pub sessions: SessionsHandle,
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
    mqtt_addrs: Vec<(String, SocketAddr)>,
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

    /// Where each MQTT listener is bound: (name, address).
    pub fn mqtt_addrs(&self) -> &[(String, SocketAddr)] {
        &self.mqtt_addrs
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

/// Runs a node until Ctrl-C or SIGTERM (then drains; exit code 0) or until its supervisor gives
/// up (exit code 70). Returns the process exit code.
pub async fn run(config: Config, env: &[(String, String)]) -> u8 {
    let mut signal = match crate::logging::ShutdownSignal::install() {
        Ok(signal) => signal,
        Err(error) => {
            eprintln!("vmq-node: cannot install signal handlers: {error}");
            return 71;
        }
    };
    let running = match start(config, env).await {
        Ok(running) => running,
        Err(error) => {
            tracing::error!(%error, "the node could not start");
            eprintln!("vmq-node: {error}");
            return u8::try_from(error.exit_code()).unwrap_or(1);
        }
    };
    let code = tokio::select! {
        () = signal.received() => 0,
        reason = running.failed() => {
            eprintln!("vmq-node: {reason}");
            70
        }
    };
    tracing::info!("draining");
    running.stop().await;
    code
}

/// Starts everything; every listener is bound before this returns.
/// `env` is the process environment (for the bootstrap key).
pub async fn start(config: Config, env: &[(String, String)]) -> Result<RunningNode, StartError> {
    let bound = bind_all(&config).await?;
    let socket_path = bound.socket_path.clone();
    let (supervisor, _join) = SupervisorHandle::start()
        .await
        .map_err(StartError::Internal)?;
    match launch(bound, &supervisor, config, env).await {
        Ok(Launched {
            node,
            servers,
            http_addrs,
            mqtt_addrs,
            stop_tx,
        }) => {
            tracing::info!(node = %node.name(), "node running");
            Ok(RunningNode {
                node,
                supervisor,
                http_addrs,
                mqtt_addrs,
                stop_tx,
                servers,
                socket_path,
            })
        }
        Err(error) => {
            supervisor.shutdown();
            let _ = std::fs::remove_file(&socket_path);
            Err(error)
        }
    }
}

/// Every socket of the node, bound: a config that can't be served fails here, before any actor runs.
struct Bound {
    mqtt: Vec<(String, TcpListener)>,
    http: Vec<(HttpListener, TcpListener, Option<TlsAcceptor>)>,
    admin: UnixListener,
    socket_path: PathBuf,
}

async fn bind_all(config: &Config) -> Result<Bound, StartError> {
    let data_dir = config.data_dir();
    std::fs::create_dir_all(data_dir).map_err(|e| {
        StartError::DataDir(format!(
            "cannot create data directory {}: {e}",
            data_dir.display()
        ))
    })?;
    let mut http = Vec::new();
    for listener in config.http_listeners() {
        let tls = listener
            .tls
            .as_ref()
            .map(http::tls::acceptor)
            .transpose()
            .map_err(|e| listener_error(listener, &e))?;
        let socket = TcpListener::bind(listener.addr).await.map_err(|e| {
            listener_error(listener, &format!("cannot bind {}: {e}", listener.addr))
        })?;
        http.push((listener.clone(), socket, tls));
    }
    let mut mqtt = Vec::new();
    for (name, addr) in config.mqtt_listeners() {
        let socket = TcpListener::bind(addr).await.map_err(|e| {
            StartError::Config(format!("listener.tcp.{name}: cannot bind {addr}: {e}"))
        })?;
        mqtt.push((name.clone(), socket));
    }
    let socket_path = data_dir.join("vmq-admin.sock");
    let admin = crate::admin_socket::bind(&socket_path)
        .await
        .map_err(StartError::DataDir)?;
    Ok(Bound {
        mqtt,
        http,
        admin,
        socket_path,
    })
}

/// What `launch` started.
struct Launched {
    node: Node,
    servers: Vec<JoinHandle<()>>,
    http_addrs: Vec<(HttpScheme, String, SocketAddr)>,
    mqtt_addrs: Vec<(String, SocketAddr)>,
    stop_tx: watch::Sender<bool>,
}

/// Starts the actors, imports bootstrap keys, then serves every bound socket.
async fn launch(
    bound: Bound,
    supervisor: &SupervisorHandle,
    config: Config,
    env: &[(String, String)],
) -> Result<Launched, StartError> {
    let node = start_actors(supervisor, config.clone(), config.data_dir()).await?;
    bootstrap::import_keys(&node, &config, env).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut servers = Vec::new();
    let mqtt_addrs = serve_mqtt(bound.mqtt, &node, &stop_rx, &mut servers).await?;
    let mut http_addrs = Vec::new();
    for (listener, socket, acceptor) in bound.http {
        let addr = socket
            .local_addr()
            .map_err(|e| StartError::Internal(e.to_string()))?;
        let counts = register(
            &node,
            listener.scheme.as_str(),
            &listener.name,
            addr,
            tls_info(&listener),
        )
        .await?;
        tracing::info!(listener = %listener.name, scheme = listener.scheme.as_str(), %addr, "HTTP listener bound");
        http_addrs.push((listener.scheme, listener.name.clone(), addr));
        let ctx = Arc::new(HttpContext {
            node: node.clone(),
            listener: Arc::new(listener),
        });
        servers.push(tokio::spawn(http::serve(
            socket,
            acceptor,
            ctx,
            counts,
            stop_rx.clone(),
        )));
    }
    servers.push(tokio::spawn(crate::admin_socket::serve(
        bound.admin,
        node.clone(),
        stop_rx,
    )));
    tracing::info!(socket = %bound.socket_path.display(), "admin socket bound");
    node.cluster
        .set_local_running(true)
        .await
        .map_err(|e| StartError::Internal(e.to_string()))?;
    Ok(Launched {
        node,
        servers,
        http_addrs,
        mqtt_addrs,
        stop_tx,
    })
}

/// Registers each bound MQTT listener as kind `mqtt` and starts its accept loop.
async fn serve_mqtt(
    bound: Vec<(String, TcpListener)>,
    node: &Node,
    stop_rx: &watch::Receiver<bool>,
    servers: &mut Vec<JoinHandle<()>>,
) -> Result<Vec<(String, SocketAddr)>, StartError> {
    let mut addrs = Vec::new();
    for (name, socket) in bound {
        let addr = socket
            .local_addr()
            .map_err(|e| StartError::Internal(e.to_string()))?;
        let counts = register(node, "mqtt", &name, addr, None).await?;
        tracing::info!(listener = %name, %addr, "MQTT listener bound");
        servers.push(tokio::spawn(crate::mqtt::serve(
            socket,
            node.clone(),
            counts,
            stop_rx.clone(),
        )));
        addrs.push((name, addr));
    }
    Ok(addrs)
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
    let sessions = SessionsHandle::start(supervisor)
        .await
        .map_err(StartError::Internal)?;
    Ok(Node {
        vault,
        cluster,
        listeners,
        settings,
        sessions,
    })
}

/// Puts a bound listener in the registry (`listener show`, `/health`); returns the counts its
/// accept loop keeps up to date.
async fn register(
    node: &Node,
    kind: &'static str,
    name: &str,
    addr: SocketAddr,
    tls: Option<TlsInfo>,
) -> Result<Arc<ConnectionCounts>, StartError> {
    let counts = Arc::new(ConnectionCounts::default());
    let info = ListenerInfo {
        kind,
        name: name.to_owned(),
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

/// What `listener show --tls` prints of an HTTPS listener's files.
fn tls_info(listener: &HttpListener) -> Option<TlsInfo> {
    listener.tls.as_ref().map(|files| TlsInfo {
        certfile: files.certfile.display().to_string(),
        keyfile: files.keyfile.display().to_string(),
        cafile: files
            .cafile
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        require_certificate: files.require_certificate,
        tls_version: "tlsv1.2, tlsv1.3".to_owned(),
    })
}

fn listener_error(listener: &HttpListener, problem: &str) -> StartError {
    StartError::Config(format!(
        "listener.{}.{}: {problem}",
        listener.scheme.as_str(),
        listener.name
    ))
}
