//! Starts a node: the actor tree, the MQTT and HTTP(S) listeners and the admin socket; stops it with a drain.

mod cluster_config;
mod faults;
mod launch;
mod leave;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use vmq_actors::raft::MetaMember;
use vmq_actors::vault::VaultHandle;
use vmq_actors::{
    ClusterHandle, ListenersHandle, NodeName, PluginsHandle, SessionsHandle, SettingsHandle,
    SupervisorHandle,
};

use crate::config::{Config, HttpScheme};
use crate::logging::{LogControl, LogFilter};
use crate::metrics::{MessageCounts, NodeMetrics};
use launch::{bind_all, launch, Launched};

/// What commands run against: the handles of a running node's actors. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Node {
    /// API keys.
    pub vault: VaultHandle,
    /// The replicated cluster metadata (raft): membership of the metadata, keys, config.
    pub meta: MetaMember,
    /// Cluster membership.
    pub cluster: ClusterHandle,
    /// Bound listeners.
    pub listeners: ListenersHandle,
    /// The effective configuration, changed by `set`.
    pub settings: SettingsHandle<Config>,
    /// Connected MQTT sessions, subscriptions and routing.
    pub sessions: SessionsHandle,
    /// The built-in auth plugins; MQTT connections read `plugins.rules()`.
    pub plugins: PluginsHandle,
    /// The metrics registry (`/metrics`, `metrics show`).
    pub metrics: Arc<NodeMetrics>,
    /// The log levels (`log show config`, `log level`).
    pub log: LogControl,
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

/// One `node status` value: a count, or the version text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Figure {
    /// A counter or gauge.
    Count(u64),
    /// Text (the version).
    Text(&'static str),
}

impl NodeFigures {
    /// The `node status` rows, in VerneMQ's order: the one list `node status` and `/status.json`
    /// both show, so they always agree.
    pub fn rows(&self) -> [(&'static str, Figure); 13] {
        use Figure::{Count, Text};
        [
            ("num_online", Count(self.num_online)),
            ("num_offline", Count(self.num_offline)),
            ("msg_in", Count(self.msg_in)),
            ("msg_out", Count(self.msg_out)),
            ("queue_in", Count(self.queue_in)),
            ("queue_out", Count(self.queue_out)),
            ("queue_drop", Count(self.queue_drop)),
            ("queue_unhandled", Count(self.queue_unhandled)),
            ("num_subscriptions", Count(self.num_subscriptions)),
            ("num_retained", Count(self.num_retained)),
            ("matches_local", Count(self.matches_local)),
            ("matches_remote", Count(self.matches_remote)),
            ("version", Text(env!("CARGO_PKG_VERSION"))),
        ]
    }
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
        let sessions = self.sessions.sessions();
        let online = sessions.values().filter(|s| s.online.is_some()).count();
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let counted = MessageCounts::of(self.metrics.data_plane());
        NodeFigures {
            num_online: count(online),
            num_offline: count(sessions.len() - online),
            msg_in: counted.msg_in,
            msg_out: counted.msg_out,
            queue_in: counted.queue_in,
            queue_out: counted.queue_out,
            queue_drop: counted.queue_drop,
            queue_unhandled: 0,
            num_subscriptions: count(self.sessions.routes().len()),
            num_retained: count(self.sessions.retained().len()),
            matches_local: counted.matches_local,
            matches_remote: counted.matches_remote,
        }
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

    /// Where the cluster fabric listens (`listener.vmq.clustering`, port 0 resolved).
    pub fn cluster_addr(&self) -> SocketAddr {
        self.node.cluster.listen_addr()
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
        // Streaming answers (`trace client`) end now, so that the drain need not wait for them.
        self.node.sessions.traces().stop_all();
        let _ = self.stop_tx.send(true);
        for server in self.servers {
            let _ = server.await;
        }
        self.node.listeners.closed().await;
        // The connections detached: their sessions and messages become durable.
        self.node.sessions.close().await;
        self.node.meta.shutdown().await;
        let _ = std::fs::remove_file(&self.socket_path);
        self.supervisor.shutdown();
        tracing::info!("node stopped");
    }
}

/// Runs a node until Ctrl-C or SIGTERM or until it has left the cluster (then drains; exit
/// code 0), or until its supervisor gives up (exit code 70). Returns the process exit code.
/// `log` is the control [`crate::logging::init`] returned.
pub async fn run(config: Config, env: &[(String, String)], log: LogControl) -> u8 {
    let mut signal = match crate::logging::ShutdownSignal::install() {
        Ok(signal) => signal,
        Err(error) => {
            eprintln!("vmq-node: cannot install signal handlers: {error}");
            return 71;
        }
    };
    let running = match start_with_log(config, env, log).await {
        Ok(running) => running,
        Err(error) => {
            tracing::error!(%error, "the node could not start");
            eprintln!("vmq-node: {error}");
            return u8::try_from(error.exit_code()).unwrap_or(1);
        }
    };
    let code = tokio::select! {
        () = signal.received() => 0,
        () = running.node.cluster.leave_finished() => 0,
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
/// `env` is the process environment (for the bootstrap key). The node's log control is detached
/// (see [`LogControl`]): use [`start_with_log`] to give it the process's subscriber.
pub async fn start(config: Config, env: &[(String, String)]) -> Result<RunningNode, StartError> {
    let console = config
        .log_level()
        .parse()
        .unwrap_or(crate::logging::LogLevel::Info);
    start_with_log(config, env, LogControl::detached(LogFilter::new(console))).await
}

/// [`start`] with the log control `log level` changes.
pub async fn start_with_log(
    config: Config,
    env: &[(String, String)],
    log: LogControl,
) -> Result<RunningNode, StartError> {
    let bound = bind_all(&config).await?;
    let socket_path = bound.socket_path.clone();
    let (supervisor, _join) = SupervisorHandle::start()
        .await
        .map_err(StartError::Internal)?;
    match launch(bound, &supervisor, config, env, log).await {
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
