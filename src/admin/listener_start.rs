//! `listener start`: an MQTT listener (plain, TLS, WebSocket or both) started at run time; it
//! lives until the node stops (the config file is not changed, as in VerneMQ).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::args::{ArgSpec, Args, FlagSpec, FlagValue};
use super::cmdline::CommandLine;
use super::error::AdminError;
use super::listener::{listener_error, target, Action};
use super::reply::Reply;
use crate::config::{
    Config, MqttListener, MqttTls, MqttTransport, ProtocolVersions, TlsFiles, TlsVersions,
    TLS_HANDSHAKE_TIMEOUT,
};
use crate::node::Node;

/// `vmq-admin listener start`.
pub const START_USAGE: &str = "Usage: vmq-admin listener start address=IpAddr port=Port

  Starts an MQTT listener on IpAddr:Port (port 0 picks a free port; see listener show).
  Listeners started this way are lost when the node restarts.

  -m, --mountpoint=<Mountpoint>           prefix isolating its clients' topics
  --max_connections=<N | infinity>        most connections open at once
  --allowed_protocol_versions=<3,4,5>     accepted MQTT protocol levels
  --allow_anonymous_override[=true|false] accept clients without a username here
  --websocket                             MQTT over WebSocket (path /mqtt)
  --ssl                                   TLS (with --websocket: secure WebSocket)
  --certfile=<File> --keyfile=<File>      PEM certificate chain and key (TLS)
  --cafile=<File>                         PEM CAs for client certificates (TLS)
  --require_certificate[=true|false]      clients must present a certificate (TLS)
  --tls_version=<tlsv1.2,tlsv1.3>         accepted TLS versions
  --tls_handshake_timeout=<ms | infinity> time a client gets for the TLS handshake
  --nr_of_acceptors=<N>                   accepted for compatibility; one task accepts
";

const fn valued(name: &'static str) -> FlagSpec {
    FlagSpec {
        name,
        short: None,
        value: FlagValue::Required,
    }
}

const fn boolean(name: &'static str) -> FlagSpec {
    FlagSpec {
        name,
        short: None,
        value: FlagValue::Optional,
    }
}

/// `listener start`: what the command line says; the rest comes from the config at execution.
#[derive(Debug)]
pub struct Start {
    addr: SocketAddr,
    transport: MqttTransport,
    mountpoint: Option<String>,
    max_connections: Option<Option<u64>>,
    allowed_protocol_versions: Option<ProtocolVersions>,
    allow_anonymous_override: Option<bool>,
    require_certificate: Option<bool>,
    /// `--certfile`, `--keyfile`, `--cafile`, `--tls_version`, `--tls_handshake_timeout`.
    tls_flags: Vec<(&'static str, String)>,
}

/// The TLS flags that take a value, each with a per-kind config key of the same name.
const TLS_SETTINGS: [&str; 5] = [
    "certfile",
    "keyfile",
    "cafile",
    "tls_version",
    "tls_handshake_timeout",
];

impl Start {
    const SPEC: ArgSpec = ArgSpec {
        params: &["address", "port"],
        flags: &[
            FlagSpec {
                name: "mountpoint",
                short: Some('m'),
                value: FlagValue::Required,
            },
            valued("max_connections"),
            valued("allowed_protocol_versions"),
            boolean("allow_anonymous_override"),
            boolean("websocket"),
            boolean("ssl"),
            valued("certfile"),
            valued("keyfile"),
            valued("cafile"),
            boolean("require_certificate"),
            valued("tls_version"),
            valued("tls_handshake_timeout"),
            valued("nr_of_acceptors"),
        ],
    };

    /// Reads the address, the kind (from `--ssl` and `--websocket`) and the options given.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::SPEC, START_USAGE)?;
        let addr = target(&args)?;
        let ssl = boolean_flag(&args, "ssl")?;
        let transport = MqttTransport::from_flags(ssl == Some(true), {
            boolean_flag(&args, "websocket")? == Some(true)
        });
        let max_connections = args
            .flag_value("max_connections")
            .map(|text| limit(&args, "max_connections", text))
            .transpose()?;
        let allowed_protocol_versions = args
            .flag_value("allowed_protocol_versions")
            .map(|text| ProtocolVersions::parse(text).map_err(|e| args.error(e)))
            .transpose()?;
        if let Some(acceptors) = args.flag_value("nr_of_acceptors") {
            if acceptors.parse::<u32>().is_err() {
                return Err(args.error(format!(
                    "invalid --nr_of_acceptors '{acceptors}': write a number"
                )));
            }
        }
        let tls_flags: Vec<(&'static str, String)> = TLS_SETTINGS
            .into_iter()
            .filter_map(|name| Some((name, args.flag_value(name)?.to_owned())))
            .collect();
        let require_certificate = boolean_flag(&args, "require_certificate")?;
        if !transport.is_tls() && (!tls_flags.is_empty() || require_certificate.is_some()) {
            return Err(args.error("TLS flags need --ssl"));
        }
        Ok(Self {
            addr,
            transport,
            mountpoint: args.flag_value("mountpoint").map(str::to_owned),
            max_connections,
            allowed_protocol_versions,
            allow_anonymous_override: boolean_flag(&args, "allow_anonymous_override")?,
            require_certificate,
            tls_flags,
        })
    }

    /// Completes the options from the config (the kind's keys, then the global ones), binds,
    /// then hands the socket to the listener registry.
    pub async fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        let listener = self.listener(&node.config())?;
        let failed = |reason: String| AdminError::BadArguments {
            message: Action::Start.message(&reason),
            usage: None,
        };
        let tls = crate::mqtt::tls_acceptor(&listener).map_err(failed)?;
        let socket = vmq_actors::listeners::bind(listener.addr).map_err(|e| {
            let message = Action::Start.message(&format!("cannot bind {}: {e}", listener.addr));
            match e.kind() {
                std::io::ErrorKind::AddrInUse => AdminError::Conflict(message),
                _ => AdminError::BadArguments {
                    message,
                    usage: None,
                },
            }
        })?;
        crate::mqtt::start(node, &listener, socket, tls)
            .await
            .map_err(|e| listener_error(Action::Start, e))?;
        Ok(Reply::done())
    }

    fn listener(&self, config: &Config) -> Result<MqttListener, AdminError> {
        let mut options = config.mqtt_defaults(self.transport);
        if let Some(mountpoint) = &self.mountpoint {
            options.mountpoint.clone_from(mountpoint);
        }
        if let Some(max) = self.max_connections {
            options.max_connections = max;
        }
        if let Some(versions) = &self.allowed_protocol_versions {
            options.allowed_protocol_versions = versions.clone();
        }
        if let Some(allow) = self.allow_anonymous_override {
            options.allow_anonymous_override = allow;
        }
        if self.transport.is_tls() {
            options.tls = Some(self.tls(config)?);
        }
        Ok(MqttListener {
            name: self.addr.to_string(),
            transport: self.transport,
            addr: self.addr,
            options,
        })
    }

    /// The TLS settings from the flags, each falling back to the kind's config key.
    fn tls(&self, config: &Config) -> Result<MqttTls, AdminError> {
        let kind = self.transport.config_word();
        let bad = |message: String| AdminError::bad_args(message, START_USAGE);
        let setting = |name: &str| -> Option<String> {
            let flag = self.tls_flags.iter().find(|(n, _)| *n == name);
            flag.map(|(_, value)| value.clone()).or_else(|| {
                config
                    .get(&format!("listener.{kind}.{name}"))
                    .map(str::to_owned)
            })
        };
        let file = |name: &str| -> Result<Option<PathBuf>, AdminError> {
            match setting(name) {
                Some(path) if Path::new(&path).is_file() => Ok(Some(PathBuf::from(path))),
                Some(path) => Err(bad(format!("invalid --{name} '{path}': no such file"))),
                None => Ok(None),
            }
        };
        let required =
            |name: &str| {
                file(name)?.ok_or_else(|| {
                bad("a TLS listener (--ssl) needs --certfile=<PEM file> and --keyfile=<PEM file>"
                    .to_owned())
            })
            };
        let require_certificate = self
            .require_certificate
            .unwrap_or_else(|| setting("require_certificate").is_some_and(|v| v == "on"));
        let files = TlsFiles {
            certfile: required("certfile")?,
            keyfile: required("keyfile")?,
            cafile: file("cafile")?,
            require_certificate,
        };
        if files.require_certificate && files.cafile.is_none() {
            return Err(bad(
                "--require_certificate needs --cafile=<PEM file>".to_owned()
            ));
        }
        let versions = match setting("tls_version") {
            Some(text) => TlsVersions::parse(&text).map_err(bad)?,
            None => TlsVersions::BOTH,
        };
        let handshake_timeout = match setting("tls_handshake_timeout") {
            Some(text) => parse_limit("tls_handshake_timeout", &text)
                .map_err(bad)?
                .map(Duration::from_millis),
            None => Some(TLS_HANDSHAKE_TIMEOUT),
        };
        Ok(MqttTls {
            files,
            versions,
            handshake_timeout,
        })
    }
}

/// `None` when absent; a value-less flag means true; else `true`/`false` (`on`/`off` too).
fn boolean_flag(args: &Args<'_>, name: &str) -> Result<Option<bool>, AdminError> {
    if !args.has_flag(name) {
        return Ok(None);
    }
    match args.flag_value(name) {
        None | Some("true" | "on") => Ok(Some(true)),
        Some("false" | "off") => Ok(Some(false)),
        Some(other) => Err(args.error(format!("invalid --{name} '{other}': write true or false"))),
    }
}

/// A number or `infinity` (`None`).
fn limit(args: &Args<'_>, name: &str, text: &str) -> Result<Option<u64>, AdminError> {
    parse_limit(name, text).map_err(|e| args.error(e))
}

fn parse_limit(name: &str, text: &str) -> Result<Option<u64>, String> {
    if text == "infinity" {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| format!("invalid --{name} '{text}': write a number or infinity"))
}
