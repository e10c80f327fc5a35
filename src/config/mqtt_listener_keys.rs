//! The keys of the MQTT listeners (`listener.tcp|ssl|ws|wss.<name>` and their options), with
//! VerneMQ's names: each option exists per listener (`listener.ssl.x.certfile`) and per kind
//! (`listener.ssl.certfile`, inherited by every `ssl` listener that sets none), plus the global
//! `listener.max_connections`.
//!
//! The table is generated once from the kinds and the options, so that the per-listener and the
//! per-kind key of an option can never disagree on its type.

use std::sync::LazyLock;

use crate::config::keys::fixed;
use crate::config::schema::KeySpec;
use crate::config::value::ValueKind::{self, Flag, IntegerOrInfinity, IpPort, Path, Text};

/// One option of an MQTT listener.
struct ListenerOption {
    name: &'static str,
    kind: ValueKind,
    /// Only TLS listeners (`ssl`, `wss`) have it.
    tls: bool,
    /// What it is, phrased to follow "… of one tcp listener".
    doc: &'static str,
}

const OPTIONS: &[ListenerOption] = &[
    ListenerOption {
        name: "mountpoint",
        kind: Text,
        tls: false,
        doc: "Mountpoint (prefix isolating topics and client ids)",
    },
    ListenerOption {
        name: "max_connections",
        kind: IntegerOrInfinity { min: 0 },
        tls: false,
        doc: "Most connections open at once (more are closed at once)",
    },
    ListenerOption {
        name: "allowed_protocol_versions",
        kind: Text,
        tls: false,
        doc: "Comma list of accepted MQTT protocol levels (3 = 3.1, 4 = 3.1.1, 5 = 5.0)",
    },
    ListenerOption {
        name: "allow_anonymous_override",
        kind: Flag,
        tls: false,
        doc: "Whether clients without a username are accepted even if allow_anonymous is off",
    },
    ListenerOption {
        name: "certfile",
        kind: Path,
        tls: true,
        doc: "PEM file with the certificate chain",
    },
    ListenerOption {
        name: "keyfile",
        kind: Path,
        tls: true,
        doc: "PEM file with the private key",
    },
    ListenerOption {
        name: "cafile",
        kind: Path,
        tls: true,
        doc: "PEM file of the CAs trusted to sign client certificates",
    },
    ListenerOption {
        name: "require_certificate",
        kind: Flag,
        tls: true,
        doc: "Whether clients must present a certificate signed by the cafile",
    },
    ListenerOption {
        name: "tls_version",
        kind: Text,
        tls: true,
        doc: "Accepted TLS versions: tlsv1.2, tlsv1.3 or both comma-separated",
    },
    ListenerOption {
        name: "tls_handshake_timeout",
        kind: IntegerOrInfinity { min: 1 },
        tls: true,
        doc: "Milliseconds a client gets to finish the TLS handshake",
    },
];

/// The config words of the MQTT listener kinds, with what each one is.
const KINDS: &[(&str, bool, &str)] = &[
    ("tcp", false, "An MQTT listener over TCP"),
    (
        "ssl",
        true,
        "An MQTT listener over TLS (needs certfile and keyfile)",
    ),
    (
        "ws",
        false,
        "An MQTT over WebSocket listener (path /mqtt, subprotocol mqtt)",
    ),
    (
        "wss",
        true,
        "An MQTT over secure WebSocket listener (needs certfile and keyfile)",
    ),
];

/// Every MQTT listener key, in documentation order.
pub static MQTT_LISTENER_KEYS: LazyLock<Vec<KeySpec>> = LazyLock::new(generate);

fn generate() -> Vec<KeySpec> {
    let mut keys = vec![fixed(
        "listener.max_connections",
        IntegerOrInfinity { min: 0 },
        Some("infinity"),
        "Most connections open at once on each MQTT listener that sets no max_connections.",
    )];
    for &(kind, tls, what) in KINDS {
        let default = (kind == "tcp").then_some("127.0.0.1:1883");
        keys.push(fixed(
            leak(format!("listener.{kind}.$name")),
            IpPort {
                example: "127.0.0.1:1883",
            },
            default,
            leak(format!("{what}: the ip:port it binds.")),
        ));
        for option in OPTIONS.iter().filter(|option| tls || !option.tls) {
            let name = option.name;
            keys.push(fixed(
                leak(format!("listener.{kind}.$name.{name}")),
                option.kind,
                None,
                leak(format!(
                    "{} of one {kind} listener; wins over listener.{kind}.{name}.",
                    option.doc
                )),
            ));
            keys.push(fixed(
                leak(format!("listener.{kind}.{name}")),
                option.kind,
                None,
                leak(format!(
                    "{} of every {kind} listener that sets none itself.",
                    option.doc
                )),
            ));
        }
    }
    keys
}

/// The table is built once per process and lives as long as it; `KeySpec` wants `'static` text.
fn leak(text: String) -> &'static str {
    text.leak()
}

#[cfg(test)]
mod tests {
    use crate::config::schema::find;

    #[test]
    fn per_kind_options_are_not_taken_for_listener_names() {
        let spec = find("listener.ssl.certfile").map(|s| s.pattern);
        assert_eq!(spec, Some("listener.ssl.certfile"));
        let spec = find("listener.ssl.tls.certfile").map(|s| s.pattern);
        assert_eq!(spec, Some("listener.ssl.$name.certfile"));
        assert_eq!(
            find("listener.ws.web").map(|s| s.pattern),
            Some("listener.ws.$name")
        );
        assert!(find("listener.tcp.default.certfile").is_none());
    }
}
