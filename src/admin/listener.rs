//! `listener show`: every listener with its state and live connection counts.

use vmq_actors::ListenerEntry;

use super::args::{ArgSpec, Args, FlagSpec, FlagValue};
use super::cmdline::CommandLine;
use super::error::AdminError;
use super::reply::{Cell, Reply, Table};
use crate::node::Node;

/// `vmq-admin listener`.
pub const GROUP_USAGE: &str = "Usage: vmq-admin listener <sub-command>

  Manage listener interfaces.

  Sub-commands:
    show        Show all listeners
  Use --help after a sub-command for more details.
";

/// `vmq-admin listener show`.
pub const SHOW_USAGE: &str = "Usage: vmq-admin listener show [--tls] [--mqtt]

  Shows the listeners: type, status, address, port, mountpoint, max_conns, active_conns
  and all_conns.

  -t, --tls    add the TLS columns
  -m, --mqtt   add the MQTT columns
";

/// `listener show`.
#[derive(Debug)]
pub struct Show {
    tls: bool,
    mqtt: bool,
}

impl Show {
    const SPEC: ArgSpec = ArgSpec {
        params: &[],
        flags: &[
            FlagSpec {
                name: "tls",
                short: Some('t'),
                value: FlagValue::None,
            },
            FlagSpec {
                name: "mqtt",
                short: Some('m'),
                value: FlagValue::None,
            },
        ],
    };

    /// Reads `--tls` and `--mqtt`.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::SPEC, SHOW_USAGE)?;
        Ok(Self {
            tls: args.has_flag("tls"),
            mqtt: args.has_flag("mqtt"),
        })
    }

    /// One row per registered listener, from the registry's snapshot.
    pub fn execute(self, node: &Node) -> Reply {
        let mut columns = vec![
            "type",
            "status",
            "address",
            "port",
            "mountpoint",
            "max_conns",
            "active_conns",
            "all_conns",
        ];
        if self.tls {
            columns.extend([
                "tls_version",
                "certfile",
                "cafile",
                "keyfile",
                "require_certificate",
                "use_identity_as_username",
                "psk_support",
                "pskfile",
            ]);
        }
        if self.mqtt {
            columns.extend(["allowed_protocol_versions", "allow_anonymous_override"]);
        }
        let mut table = Table::new(columns);
        for entry in node.listeners.entries().iter() {
            table.push(self.row(entry));
        }
        Reply::table(table)
    }

    fn row(&self, entry: &ListenerEntry) -> Vec<Cell> {
        let info = &entry.info;
        let mut row: Vec<Cell> = vec![
            info.kind.into(),
            info.status.as_str().into(),
            info.addr.ip().to_string().into(),
            info.addr.port().to_string().into(),
            info.mountpoint.as_str().into(),
            info.max_conns.map_or(Cell::from("infinity"), Cell::from),
            info.counts.active().into(),
            info.counts.total().into(),
        ];
        if self.tls {
            let tls = info.tls.as_ref();
            let text = |value: Option<&String>| Cell::from(value.map_or("", String::as_str));
            row.extend([
                text(tls.map(|t| &t.tls_version)),
                text(tls.map(|t| &t.certfile)),
                text(tls.map(|t| &t.cafile)),
                text(tls.map(|t| &t.keyfile)),
                tls.map_or(Cell::from(""), |t| t.require_certificate.into()),
                "".into(),
                "".into(),
                "".into(),
            ]);
        }
        if self.mqtt {
            // HTTP listeners speak no MQTT; MQTT listeners fill these in.
            row.extend([Cell::Null, Cell::Null]);
        }
        row
    }
}
