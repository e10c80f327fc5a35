//! `listener show` (every listener with its state and live connection counts) and
//! `listener stop|restart|delete` (MQTT listeners, addressed by address and port).
//! `listener start` is in `listener_start.rs`.

use std::net::{IpAddr, SocketAddr};

use vmq_actors::{ListenerEntry, ListenerError};

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
    start       Start an MQTT listener
    stop        Stop (suspend) an MQTT listener
    restart     Restart a stopped MQTT listener
    delete      Delete an MQTT listener
  Use --help after a sub-command for more details.
";

/// `vmq-admin listener stop`.
pub const STOP_USAGE: &str =
    "Usage: vmq-admin listener stop address=IpAddr port=Port [-k | --kill_sessions]

  Stops accepting connections on the MQTT listener IpAddr:Port (its socket closes); its
  connected clients stay, unless --kill_sessions closes their connections too.
  listener restart accepts again.
";

/// `vmq-admin listener restart`.
pub const RESTART_USAGE: &str = "Usage: vmq-admin listener restart address=IpAddr port=Port

  Makes a stopped MQTT listener accept connections again.
";

/// `vmq-admin listener delete`.
pub const DELETE_USAGE: &str = "Usage: vmq-admin listener delete address=IpAddr port=Port

  Closes the MQTT listener IpAddr:Port and its connections, and removes it.
";

/// What a listener command does, for its failure message.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    Start,
    Stop,
    Restart,
    Delete,
}

impl Action {
    /// VerneMQ's message: `can't <verb> listener due to '<reason>'`.
    pub fn message(self, reason: &str) -> String {
        let verb = match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
            Action::Delete => "delete",
        };
        format!("can't {verb} listener due to '{reason}'")
    }
}

/// The status of each listener failure (contract §6), with VerneMQ's message.
pub fn listener_error(action: Action, error: ListenerError) -> AdminError {
    let message = action.message(&error.to_string());
    match error {
        ListenerError::NotFound { .. } => AdminError::NotFound(message),
        ListenerError::Exists { .. } | ListenerError::Bind(_) => AdminError::Conflict(message),
        ListenerError::NotMqtt { .. } => AdminError::BadArguments {
            message,
            usage: None,
        },
        ListenerError::Gone | ListenerError::Unavailable(_) => AdminError::Unavailable(message),
    }
}

/// `address=<ip>` and `port=<0-65535>`, both mandatory, in either order.
pub fn target(args: &Args<'_>) -> Result<SocketAddr, AdminError> {
    let address = args.require("address")?;
    let port = args.require("port")?;
    let ip: IpAddr = address.parse().map_err(|_| {
        args.error(format!(
            "invalid address '{address}': write an IPv4 or IPv6 address"
        ))
    })?;
    let port: u16 = port.parse().map_err(|_| {
        args.error(format!(
            "invalid port '{port}': write a number from 0 to 65535"
        ))
    })?;
    Ok(SocketAddr::new(ip, port))
}

/// `listener stop`.
#[derive(Debug)]
pub struct Stop {
    addr: SocketAddr,
    kill_sessions: bool,
}

impl Stop {
    const SPEC: ArgSpec = ArgSpec {
        params: &["address", "port"],
        flags: &[FlagSpec {
            name: "kill_sessions",
            short: Some('k'),
            value: FlagValue::None,
        }],
    };

    /// Reads the address, port and `--kill_sessions`.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::SPEC, STOP_USAGE)?;
        Ok(Self {
            addr: target(&args)?,
            kill_sessions: args.has_flag("kill_sessions"),
        })
    }

    /// Suspends the listener (or stops it and closes its connections).
    pub async fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        node.listeners
            .stop_listener(self.addr, self.kill_sessions)
            .await
            .map_err(|e| listener_error(Action::Stop, e))?;
        Ok(Reply::done())
    }
}

const ADDRESS_ONLY: ArgSpec = ArgSpec {
    params: &["address", "port"],
    flags: &[],
};

/// `listener restart`.
#[derive(Debug)]
pub struct Restart {
    addr: SocketAddr,
}

impl Restart {
    /// Reads the address and port.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &ADDRESS_ONLY, RESTART_USAGE)?;
        Ok(Self {
            addr: target(&args)?,
        })
    }

    /// Makes the listener accept again.
    pub async fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        node.listeners
            .restart_listener(self.addr)
            .await
            .map_err(|e| listener_error(Action::Restart, e))?;
        Ok(Reply::done())
    }
}

/// `listener delete`.
#[derive(Debug)]
pub struct Delete {
    addr: SocketAddr,
}

impl Delete {
    /// Reads the address and port.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &ADDRESS_ONLY, DELETE_USAGE)?;
        Ok(Self {
            addr: target(&args)?,
        })
    }

    /// Closes the listener and its connections and forgets it.
    pub async fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        node.listeners
            .delete_listener(self.addr)
            .await
            .map_err(|e| listener_error(Action::Delete, e))?;
        Ok(Reply::done())
    }
}

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
            // HTTP listeners speak no MQTT: null.
            let mqtt = info.mqtt.as_ref();
            row.extend([
                Cell::from(mqtt.map(|m| m.allowed_protocol_versions.clone())),
                Cell::from(mqtt.map(|m| m.allow_anonymous_override)),
            ]);
        }
        row
    }
}
