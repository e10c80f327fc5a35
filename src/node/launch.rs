//! How a node comes up: bind every socket first (a config that can't be served fails before any
//! actor runs), then start the actors, import bootstrap keys, and serve.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use vmq_actors::raft::{MetaConfig, MetaMember, MetaNode};
use vmq_actors::vault::VaultHandle;
use vmq_actors::{
    ClusterHandle, ClusterSettings, ClusterStartError, ConnectionCounts, ListenerInfo,
    ListenerStatus, ListenersHandle, PluginsHandle, SessionsHandle, SettingsHandle, Store,
    SupervisorHandle, TlsInfo,
};

use super::{Node, StartError};
use crate::bootstrap;
use crate::config::{Config, HttpListener, HttpScheme, MqttListener, TlsVersions};
use crate::http::{self, HttpContext};
use crate::logging::LogControl;
use crate::metrics::NodeMetrics;
use vmq_actors::metrics::Metrics;

/// Every socket of the node, bound: a config that can't be served fails here, before any actor runs.
pub(super) struct Bound {
    mqtt: Vec<(MqttListener, TcpListener, Option<TlsAcceptor>)>,
    http: Vec<(HttpListener, TcpListener, Option<TlsAcceptor>)>,
    admin: UnixListener,
    pub(super) socket_path: PathBuf,
}

pub(super) async fn bind_all(config: &Config) -> Result<Bound, StartError> {
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
            .map(|files| crate::tls::acceptor(files, TlsVersions::BOTH, crate::tls::HTTP_ALPN))
            .transpose()
            .map_err(|e| listener_error(listener, &e))?;
        let socket = vmq_actors::listeners::bind(listener.addr).map_err(|e| {
            listener_error(listener, &format!("cannot bind {}: {e}", listener.addr))
        })?;
        http.push((listener.clone(), socket, tls));
    }
    let mut mqtt = Vec::new();
    for listener in config.mqtt_listeners() {
        let key = format!(
            "listener.{}.{}",
            listener.transport.config_word(),
            listener.name
        );
        let tls = crate::mqtt::tls_acceptor(listener)
            .map_err(|e| StartError::Config(format!("{key}: {e}")))?;
        let addr = listener.addr;
        let socket = vmq_actors::listeners::bind(addr)
            .map_err(|e| StartError::Config(format!("{key}: cannot bind {addr}: {e}")))?;
        mqtt.push((listener.clone(), socket, tls));
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
pub(super) struct Launched {
    pub(super) node: Node,
    pub(super) servers: Vec<JoinHandle<()>>,
    pub(super) http_addrs: Vec<(HttpScheme, String, SocketAddr)>,
    pub(super) mqtt_addrs: Vec<(String, SocketAddr)>,
    pub(super) stop_tx: watch::Sender<bool>,
}

/// Starts the actors, imports bootstrap keys, then serves every bound socket.
pub(super) async fn launch(
    bound: Bound,
    supervisor: &SupervisorHandle,
    config: Config,
    env: &[(String, String)],
    log: LogControl,
) -> Result<Launched, StartError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let node = start_actors(supervisor, config.clone(), stop_rx.clone(), log).await?;
    bootstrap::import_keys(&node, &config, env).await?;
    let mut servers = Vec::new();
    let mut mqtt_addrs = Vec::new();
    for (listener, socket, tls) in bound.mqtt {
        let addr = crate::mqtt::start(&node, &listener, socket, tls)
            .await
            .map_err(|e| StartError::Internal(e.to_string()))?;
        mqtt_addrs.push((listener.name, addr));
    }
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
    servers.push(tokio::spawn(super::leave::serve(
        node.clone(),
        stop_rx.clone(),
    )));
    servers.push(tokio::spawn(super::cluster_config::serve(
        node.clone(),
        stop_rx.clone(),
    )));
    if super::faults::enabled() {
        servers.push(tokio::spawn(super::faults::serve(
            node.clone(),
            stop_rx.clone(),
        )));
    }
    servers.push(tokio::spawn(crate::admin::session_leave::serve(
        node.clone(),
        stop_rx.clone(),
    )));
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

async fn start_actors(
    supervisor: &SupervisorHandle,
    config: Config,
    stop: watch::Receiver<bool>,
    log: LogControl,
) -> Result<Node, StartError> {
    let data_dir = config.data_dir();
    let tls = config.cluster_tls().map(crate::tls::fabric).transpose();
    let settings = ClusterSettings {
        listen: config.cluster_listener(),
        cookie: config.distributed_cookie().to_owned(),
        members_file: data_dir.join("cluster_members.json"),
        tls: tls.map_err(|e| StartError::Config(format!("listener.vmqs: {e}")))?,
    };
    let cluster = ClusterHandle::start(config.nodename().clone(), settings, supervisor)
        .await
        .map_err(|e| match e {
            ClusterStartError::Bind { .. } => StartError::Config(e.to_string()),
            ClusterStartError::Members(_) => StartError::Data(e.to_string()),
            ClusterStartError::Actor(_) => StartError::Internal(e.to_string()),
        })?;
    let (meta, vault) = start_metadata(&cluster, data_dir).await?;
    let listeners = ListenersHandle::start(supervisor, stop.clone())
        .await
        .map_err(StartError::Internal)?;
    let limits = crate::mqtt::session_settings(&config).limits;
    let cluster_buffer = config.cluster_buffer_bytes();
    let plugins = PluginsHandle::start(supervisor, config.plugins().clone())
        .await
        .map_err(StartError::Internal)?;
    let store =
        Store::open(&data_dir.join("mqtt.redb")).map_err(|e| StartError::Data(e.to_string()))?;
    let settings = SettingsHandle::start(config, supervisor)
        .await
        .map_err(StartError::Internal)?;
    let data_plane = Arc::new(Metrics::new(settings.current().metrics_enabled()));
    let sessions = SessionsHandle::start(supervisor, Some(store), limits, data_plane)
        .await
        .map_err(StartError::Data)?;
    sessions.join_cluster(cluster.peers(), cluster_buffer);
    crate::admin::session_cluster::serve(cluster.peers(), sessions.published_index());
    let metrics = Arc::new(NodeMetrics::new(
        &settings.current().nodename().to_string(),
        settings.current().prometheus_namespace(),
        sessions.clone(),
        listeners.clone(),
        crate::admin::command_paths(),
        stop.clone(),
    ));
    let node = Node {
        vault,
        meta,
        cluster,
        listeners,
        settings,
        sessions,
        plugins,
        metrics,
        log,
    };
    crate::http::status::answer_peers(&node, stop);
    Ok(node)
}

/// The replicated metadata in `meta.redb` (a fresh node is a cluster of its own) and the
/// api-key vault on it, with the keys of a previous version's `api_keys.json` imported once.
async fn start_metadata(
    cluster: &ClusterHandle,
    data_dir: &std::path::Path,
) -> Result<(MetaMember, VaultHandle), StartError> {
    let local = MetaNode::new(cluster.local().as_str(), &cluster.listen_addr().to_string());
    let meta = MetaMember::start(
        cluster.peers().clone(),
        local,
        data_dir.join("meta.redb"),
        MetaConfig::default(),
    )
    .await
    .map_err(|e| StartError::Data(e.to_string()))?;
    match VaultHandle::replicated(meta.clone(), &data_dir.join("api_keys.json")).await {
        Ok(vault) => Ok((meta, vault)),
        Err(e) => {
            meta.shutdown().await;
            Err(StartError::Data(e.to_string()))
        }
    }
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
        mqtt: None,
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
    let files = listener.tls.as_ref()?;
    Some(crate::tls::info(files, TlsVersions::BOTH))
}

fn listener_error(listener: &HttpListener, problem: &str) -> StartError {
    StartError::Config(format!(
        "listener.{}.{}: {problem}",
        listener.scheme.as_str(),
        listener.name
    ))
}
