//! vmq-node: an MQTT broker node with a VerneMQ-compatible admin API over an actor-system control plane.
//!
//! # Layout
//!
//! ```text
//! src/
//!   main.rs           args → Config::load → node::start → wait for a signal → drain
//!   bin/vmq-admin.rs  the CLI: argv → admin socket → print
//!   node/             mod.rs: Node, run, start, RunningNode::stop (drain); launch.rs: bind, start actors, serve
//!   bootstrap.rs      api_key_file and DOCKER_VERNEMQ_API_KEY imported at start
//!   logging/          tracing subscriber with a reloadable filter (LogControl), shutdown signals
//!   config/           vernemq.conf parser, typed schema, embedded defaults, env overrides
//!   admin/            the command tree: cmdline.rs (path+query / argv → CommandLine), args.rs
//!                     (per-command checks), mod.rs (enum Command, parse, run), one file per group,
//!                     reply.rs (data), render.rs (the only formatter), error.rs (AdminError),
//!                     audit.rs (audit lines of state-changing commands)
//!   http/             serve (hyper, HTTP/1.1 + h2, TLS), routes.rs, auth.rs, health.rs,
//!                     response.rs (THE error → status table)
//!   tls.rs            rustls server configs for HTTPS and MQTT over TLS / secure WebSocket
//!   admin_socket.rs   the Unix-socket server the CLI talks to
//!   accept.rs         the accept loop of the HTTP listeners, drain on stop
//!   mqtt/             the MQTT listeners' front end: transports (TCP, TLS, WebSocket in
//!                     websocket.rs), per-connection settings, starting a listener
//!                     (the accept loop, limits and stop/restart are in vmq-actors' listeners/)
//! actors/             the `vmq-actors` crate: supervisor, vault, cluster, listeners, settings,
//!                     sessions (MQTT state machine, registry), router (subscription trie)
//! ```

pub mod accept;
pub mod admin;
pub mod admin_socket;
pub mod bootstrap;
pub mod config;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod mqtt;
pub mod node;
pub mod tls;
