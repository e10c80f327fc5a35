//! The actor system of vmq-node.
//!
//! # Supervision tree
//!
//! One `NodeSupervisor` (`supervisor.rs`) owns every long-lived actor of a node. A child that
//! fails is restarted from its arguments (its published snapshot survives the restart, and the
//! handles are re-pointed through an `ActorSlot`); when children keep failing the supervisor
//! gives up and the node stops rather than run with part of its control plane dead.
//!
//! - the **vault** (`vault/`, not an actor) keeps the API keys as SHA-256 digests in the cluster
//!   metadata, and derives an immutable snapshot that HTTP authentication reads without a
//!   message round trip;
//! - **cluster membership** (`cluster/`) knows the members and whether each runs;
//! - the **listener registry** (`listeners/`) knows every bound listener and its connection counts,
//!   and manages the MQTT listeners: one task per listener accepts within its limits, and is
//!   stopped, restarted or deleted through the registry (`listener start|stop|restart|delete`);
//! - the **session registry** (`sessions/`) knows every connected MQTT session by client id
//!   (a second connection takes the id over), owns the subscription trie (`router/`) and routes
//!   publishes; each connection runs its own task around the MQTT state machine (`sessions/state.rs`).
//!   In a cluster (`router/link.rs`, not an actor) the routing table tells the peers of its
//!   subscriptions and forwards publishes to theirs, and retained messages are replicated;
//! - **runtime settings** (`settings/`) hold the effective configuration and apply `set`;
//! - the **store** (`store/`, not an actor) keeps persistent sessions, their offline messages and
//!   retained messages in `mqtt.redb`; one writer thread commits queued writes in batches.
//! - the **plugin manager** (`plugins/`) runs the built-in auth plugins `vmq_passwd` and
//!   `vmq_acl`: it reads their files (again when they change) and publishes an `AuthRules`
//!   snapshot that MQTT connections consult without a message round trip.
//! - the **cluster metadata** (`raft/`) replicates members, API-key digests and
//!   cluster-wide config on `openraft`, stored in `meta.redb`; writes go to the leader, reads are
//!   a local snapshot;
//! - the **trace hub** (`trace/`, not an actor) holds the running `trace client` traces; every
//!   connection's codec taps it, at the cost of one relaxed load per packet while no trace changes.
//!
//! Callers never see an `ActorRef`: each actor comes with a `…Handle` whose methods send one
//! message each (see `call.rs`), and whose reads of published state are snapshots.

pub mod call;
pub mod cluster;
mod data_file;
pub mod listeners;
pub mod metrics;
pub mod plugins;
pub mod raft;
pub mod retain;
pub mod router;
pub mod sessions;
pub mod settings;
mod slot;
pub mod store;
pub mod supervisor;
pub mod trace;
pub mod types;
pub mod vault;

pub use call::{CallError, DEFAULT_CALL_TIMEOUT};
pub use cluster::{
    parse_discovery_node, CallFuture, CallHandler, CastHandler, ClusterHandle, ClusterSettings,
    ClusterStartError, FabricTls, LeaveOutcome, Member, PeerError, Peers,
};
pub use listeners::{
    ConnectionCounts, ConnectionGuard, Connector, ListenerEntry, ListenerError, ListenerId,
    ListenerInfo, ListenerStatus, ListenersHandle, MqttInfo, NewListener, TlsInfo,
};
pub use plugins::{AuthRules, AuthVerdict, PluginConfig, PluginError, PluginInfo, PluginsHandle};
pub use retain::{RetainStore, RetainedRow};
pub use sessions::{
    AllowedProtocols, ConnectPolicy, ConnectionSettings, OnlineInfo, SessionKey, SessionSettings,
    SessionView, SessionsHandle,
};
pub use settings::{RuntimeSettings, SettingsHandle};
pub use store::{Loaded, LoadedRetained, LoadedSession, Store, StoreError};
pub use supervisor::SupervisorHandle;
pub use trace::{TraceBusy, TraceHub, TraceOptions, TraceStream};
pub use types::{ApiKey, KeyDigest, NodeName, Scope};
pub use vault::{KeyPolicy, KeyRow, VaultError, VaultHandle, VaultSnapshot};
