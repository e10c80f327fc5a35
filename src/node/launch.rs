//! How a node comes up: bind every socket first (a config that can't be served fails before any
//! actor runs), then start the actors, import bootstrap keys, and serve.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use vmq_actors::vault::VaultHandle;
use vmq_actors::{
    ClusterHandle, ConnectionCounts, ListenerInfo, ListenerStatus, ListenersHandle, PluginsHandle,
    SessionsHandle, SettingsHandle, Store, SupervisorHandle, TlsInfo,
};

use super::{Node, StartError};
use crate::bootstrap;
use crate::config::{Config, HttpListener, HttpScheme};
use crate::http::{self, HttpContext};

/// Every socket of the node, bound: a config that can't be served fails here, before any actor runs.
pub(super) struct Bound {
    mqtt: Vec<(String, TcpListener)>,
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
    let limits = crate::mqtt::session_settings(&config).limits;
    let plugins = PluginsHandle::start(supervisor, config.plugins().clone())
        .await
        .map_err(StartError::Internal)?;
    let settings = SettingsHandle::start(config, supervisor)
        .await
        .map_err(StartError::Internal)?;
    let store =
        Store::open(&data_dir.join("mqtt.redb")).map_err(|e| StartError::Data(e.to_string()))?;
    let sessions = SessionsHandle::start(supervisor, Some(store), limits)
        .await
        .map_err(StartError::Data)?;
    Ok(Node {
        vault,
        cluster,
        listeners,
        settings,
        sessions,
        plugins,
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
