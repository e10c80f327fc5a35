//! The table of the node's own `vernemq.conf` keys (node, HTTP listeners, HTTP modules, API
//! keys), with VerneMQ's names and defaults; the MQTT listener keys are in
//! `mqtt_listener_keys.rs`, the broker behaviour keys in `mqtt_keys.rs`.
//!
//! `min_apikey_length`, `max_apikey_expiry_days`, `api_key_file` and `http_header_read_timeout`
//! are ours: the first two exist in VerneMQ only as hidden keys that `set` cannot change.

use crate::config::mqtt_keys::MQTT_KEYS;
use crate::config::mqtt_listener_keys::MQTT_LISTENER_KEYS;
use crate::config::schema::KeySpec;
use crate::config::value::ValueKind::{self, Enum, Flag, IpPort, NodeName, Path, Text};

const AUTH_MODES: ValueKind = Enum(&["apikey", "noauth"]);

pub(crate) const fn at_least(min: i64) -> ValueKind {
    ValueKind::Integer { min, max: i64::MAX }
}

pub(crate) const fn between(min: i64, max: i64) -> ValueKind {
    ValueKind::Integer { min, max }
}

pub(crate) const fn fixed(
    pattern: &'static str,
    kind: ValueKind,
    default: Option<&'static str>,
    doc: &'static str,
) -> KeySpec {
    KeySpec {
        pattern,
        kind,
        default,
        settable: false,
        doc,
    }
}

pub(crate) const fn settable(
    pattern: &'static str,
    kind: ValueKind,
    default: Option<&'static str>,
    doc: &'static str,
) -> KeySpec {
    KeySpec {
        pattern,
        kind,
        default,
        settable: true,
        doc,
    }
}

/// Every key of the schema: these and the `set` whitelist.
pub fn all() -> impl Iterator<Item = &'static KeySpec> {
    NODE_KEYS
        .iter()
        .chain(MQTT_LISTENER_KEYS.iter())
        .chain(MQTT_KEYS)
}

/// The node, its listeners, HTTP modules and API keys, in documentation order.
static NODE_KEYS: &[KeySpec] = &[
    // The node.
    fixed(
        "nodename",
        NodeName,
        Some("VerneMQ@127.0.0.1"),
        "The node's name, Name@host; cluster peers address the node by it.",
    ),
    fixed(
        "platform_data_dir",
        Path,
        Some("./data"),
        "Directory of the node's persistent data and of the vmq-admin socket.",
    ),
    fixed(
        "log.console.level",
        Enum(&["debug", "info", "warning", "error"]),
        Some("info"),
        "Lowest level of log lines written to the console.",
    ),
    // Metrics.
    fixed(
        "metrics_enabled",
        Flag,
        Some("on"),
        "Count the data plane's metrics; off only to measure what counting costs (message counts then stay 0).",
    ),
    fixed(
        "prometheus_namespace",
        Text,
        Some("vernemq"),
        "Prefix of the metric names on /metrics (vernemq_mqtt_publish_received); letters, digits, _.",
    ),
    // Listeners.
    fixed(
        "listener.vmq.clustering",
        IpPort {
            example: "127.0.0.1:44053",
        },
        Some("127.0.0.1:44053"),
        "The ip:port other cluster nodes connect to.",
    ),
    fixed(
        "listener.vmqs.clustering",
        IpPort {
            example: "0.0.0.0:44053",
        },
        None,
        "The ip:port of the cluster listener over mutual TLS; when set, it replaces listener.vmq.clustering and nodes dial each other with TLS.",
    ),
    fixed(
        "listener.vmqs.certfile",
        Path,
        None,
        "PEM file with this node's certificate chain for the TLS cluster listener; the certificate must allow server and client auth and name the node's host.",
    ),
    fixed(
        "listener.vmqs.keyfile",
        Path,
        None,
        "PEM file with the private key of listener.vmqs.certfile.",
    ),
    fixed(
        "listener.vmqs.cafile",
        Path,
        None,
        "PEM file of the CA that signs every node's certificate; peers without one are refused.",
    ),
    fixed(
        "listener.vmqs.tls_version",
        Text,
        None,
        "TLS versions between nodes: tlsv1.2, tlsv1.3 or both comma-separated (default both).",
    ),
    fixed(
        "distributed_cookie",
        Text,
        Some("vmq"),
        "The shared secret cluster nodes authenticate each other with; all nodes of a cluster need the same.",
    ),
    fixed(
        "outgoing_clustering_buffer_size",
        at_least(1024),
        Some("67108864"),
        "Bytes of publishes kept per cluster node until it acknowledges them, and while it is unreachable (at least 1024); beyond that, publishes for it are dropped (cluster_bytes_dropped).",
    ),
    fixed(
        "listener.http.$name",
        IpPort {
            example: "127.0.0.1:8888",
        },
        Some("127.0.0.1:8888"),
        "An HTTP listener (admin API, metrics, status, health): the ip:port it binds.",
    ),
    fixed(
        "listener.https.$name",
        IpPort {
            example: "127.0.0.1:8889",
        },
        None,
        "An HTTPS listener: the ip:port it binds; needs certfile and keyfile.",
    ),
    fixed(
        "listener.https.$name.certfile",
        Path,
        None,
        "PEM file with the certificate chain of an HTTPS listener (required).",
    ),
    fixed(
        "listener.https.$name.keyfile",
        Path,
        None,
        "PEM file with the private key of an HTTPS listener (required).",
    ),
    fixed(
        "listener.https.$name.cafile",
        Path,
        None,
        "PEM file of the CAs trusted to sign client certificates of an HTTPS listener.",
    ),
    fixed(
        "listener.https.$name.require_certificate",
        Flag,
        Some("off"),
        "Whether an HTTPS listener demands a client certificate signed by its cafile.",
    ),
    // HTTP modules.
    fixed(
        "http_module.$module.auth.mode",
        AUTH_MODES,
        None,
        "Auth of an HTTP module on all listeners; default apikey for the two APIs, else noauth.",
    ),
    fixed(
        "listener.http.$name.http_module.$module.auth.mode",
        AUTH_MODES,
        None,
        "Auth of an HTTP module on one HTTP listener; wins over http_module.<module>.auth.mode.",
    ),
    fixed(
        "listener.https.$name.http_module.$module.auth.mode",
        AUTH_MODES,
        None,
        "Auth of an HTTP module on one HTTPS listener; wins over http_module.<module>.auth.mode.",
    ),
    // API keys and the HTTP server (ours). The caps keep generated keys and expiry dates sane.
    settable(
        "min_apikey_length",
        between(0, 4096),
        Some("0"),
        "Minimum length of added API keys; generated keys are max(32, this) characters long.",
    ),
    settable(
        "max_apikey_expiry_days",
        between(1, 36_500),
        None,
        "If set, new API keys must expire within this many days; keys without expiry are refused.",
    ),
    fixed(
        "api_key_file",
        Path,
        None,
        "File of `KEY [scope] [expires]` lines imported as API keys at start.",
    ),
    fixed(
        "http_header_read_timeout",
        between(100, 600_000),
        Some("10000"),
        "Milliseconds an HTTP client gets to send its request headers (slow-client protection).",
    ),
];
