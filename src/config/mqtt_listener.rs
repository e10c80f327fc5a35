//! MQTT listeners: the typed view of `listener.tcp|ssl|ws|wss.<name>` and their options, each
//! option resolved as VerneMQ does: the listener's own key, else its kind's, else the default.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::listener::{checked_path, listener_name, socket_addr, TlsFiles};
use crate::config::settings::Settings;
use crate::config::ConfigError;

/// How an MQTT listener carries MQTT. Ordered as `listener show` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MqttTransport {
    /// Plain TCP (`listener.tcp`).
    Tcp,
    /// TLS (`listener.ssl`).
    Ssl,
    /// WebSocket (`listener.ws`).
    Ws,
    /// WebSocket over TLS (`listener.wss`).
    Wss,
}

impl MqttTransport {
    pub const ALL: [MqttTransport; 4] = [Self::Tcp, Self::Ssl, Self::Ws, Self::Wss];

    /// The kind's word in config keys: `tcp`, `ssl`, `ws`, `wss`.
    pub fn config_word(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Ssl => "ssl",
            Self::Ws => "ws",
            Self::Wss => "wss",
        }
    }

    /// The `type` column of `listener show`: `mqtt`, `mqtts`, `mqttws`, `mqttwss`.
    pub fn show_type(self) -> &'static str {
        match self {
            Self::Tcp => "mqtt",
            Self::Ssl => "mqtts",
            Self::Ws => "mqttws",
            Self::Wss => "mqttwss",
        }
    }

    /// The kind `listener start` picks from its `--ssl` and `--websocket` flags.
    pub fn from_flags(ssl: bool, websocket: bool) -> Self {
        match (ssl, websocket) {
            (false, false) => Self::Tcp,
            (true, false) => Self::Ssl,
            (false, true) => Self::Ws,
            (true, true) => Self::Wss,
        }
    }

    pub fn is_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::Wss)
    }

    pub fn is_websocket(self) -> bool {
        matches!(self, Self::Ws | Self::Wss)
    }
}

/// The MQTT protocol levels a listener accepts, in the order given (`3,4,5`); 131 and 132 are
/// VerneMQ's bridge variants of 3 and 4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolVersions(Vec<u8>);

impl ProtocolVersions {
    /// The levels accepted when nothing is configured.
    pub fn all() -> Self {
        Self(vec![3, 4, 5])
    }

    /// Parses `3,4,5` (an Erlang list `[3,4,5]` too, as `listener start` gets it).
    pub fn parse(text: &str) -> Result<Self, String> {
        let inner = text.trim();
        let inner = inner
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .unwrap_or(inner);
        let mut levels = Vec::new();
        for item in inner.split(',').map(str::trim) {
            match item.parse::<u8>() {
                Ok(level @ (3 | 4 | 5 | 131 | 132)) if !levels.contains(&level) => {
                    levels.push(level);
                }
                _ => {
                    return Err(format!(
                        "'{text}' is not a comma list of protocol levels out of 3, 4, 5, 131, 132"
                    ))
                }
            }
        }
        Ok(Self(levels))
    }

    /// The levels, as given.
    pub fn levels(&self) -> &[u8] {
        &self.0
    }

    /// What `listener show --mqtt` prints: `mqtt 3.1, mqtt 3.1.1, mqtt 5`.
    pub fn describe(&self) -> String {
        let names: Vec<&str> = self
            .0
            .iter()
            .map(|level| match level {
                3 => "mqtt 3.1",
                4 => "mqtt 3.1.1",
                5 => "mqtt 5",
                131 => "mqtt 3.1 (bridge)",
                _ => "mqtt 3.1.1 (bridge)",
            })
            .collect();
        names.join(", ")
    }
}

impl fmt::Display for ProtocolVersions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let levels: Vec<String> = self.0.iter().map(u8::to_string).collect();
        f.write_str(&levels.join(","))
    }
}

/// Which TLS versions a listener accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsVersions {
    pub tls12: bool,
    pub tls13: bool,
}

impl TlsVersions {
    pub const BOTH: TlsVersions = TlsVersions {
        tls12: true,
        tls13: true,
    };

    /// Parses `tlsv1.2`, `tlsv1.3` or both, comma-separated (brackets allowed).
    pub fn parse(text: &str) -> Result<Self, String> {
        let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
        let mut versions = TlsVersions {
            tls12: false,
            tls13: false,
        };
        for item in inner.split(',').map(str::trim) {
            match item {
                "tlsv1.2" => versions.tls12 = true,
                "tlsv1.3" => versions.tls13 = true,
                _ => return Err(format!("'{text}' is not tlsv1.2, tlsv1.3 or both")),
            }
        }
        Ok(versions)
    }
}

impl fmt::Display for TlsVersions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [(self.tls12, "tlsv1.2"), (self.tls13, "tlsv1.3")]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
        f.write_str(&names.join(", "))
    }
}

/// The TLS side of an `ssl` or `wss` listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttTls {
    pub files: TlsFiles,
    pub versions: TlsVersions,
    /// `None` = infinity.
    pub handshake_timeout: Option<Duration>,
}

/// Default `tls_handshake_timeout`, as VerneMQ's.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(5000);

/// What an MQTT listener does beyond binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttListenerOptions {
    /// "" for none.
    pub mountpoint: String,
    /// `None` = infinity.
    pub max_connections: Option<u64>,
    pub allowed_protocol_versions: ProtocolVersions,
    /// Anonymous clients are accepted here even if `allow_anonymous` is off.
    pub allow_anonymous_override: bool,
    /// `Some` exactly for `ssl` and `wss` listeners.
    pub tls: Option<MqttTls>,
}

/// One `listener.<kind>.<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttListener {
    pub name: String,
    pub transport: MqttTransport,
    pub addr: SocketAddr,
    pub options: MqttListenerOptions,
}

/// Every declared MQTT listener, sorted by (kind, name).
pub fn mqtt_listeners(settings: &Settings) -> Result<Vec<MqttListener>, ConfigError> {
    let mut listeners = Vec::new();
    for transport in MqttTransport::ALL {
        let pattern = format!("listener.{}.$name", transport.config_word());
        for (key, value) in settings.matching(&pattern) {
            let name = listener_name(key).to_owned();
            listeners.push(MqttListener {
                addr: socket_addr(settings, key, value)?,
                options: options(settings, transport, Some(&name))?,
                name,
                transport,
            });
        }
    }
    listeners.sort_by(|a, b| (a.transport, &a.name).cmp(&(b.transport, &b.name)));
    Ok(listeners)
}

/// The options of one listener (`name`), or the kind's defaults for `listener start` (`None`;
/// then without TLS: the command takes the files from its flags).
pub fn options(
    settings: &Settings,
    transport: MqttTransport,
    name: Option<&str>,
) -> Result<MqttListenerOptions, ConfigError> {
    let resolve = Resolver {
        settings,
        kind: transport.config_word(),
        name,
    };
    let max_connections = match resolve.value("max_connections") {
        Some((key, value)) => limit(settings, &key, value)?,
        None => limit(
            settings,
            "listener.max_connections",
            settings
                .value("listener.max_connections")
                .unwrap_or("infinity"),
        )?,
    };
    let allowed_protocol_versions = match resolve.value("allowed_protocol_versions") {
        Some((key, value)) => {
            ProtocolVersions::parse(value).map_err(|message| settings.error(&key, message))?
        }
        None => ProtocolVersions::all(),
    };
    let tls = if transport.is_tls() && name.is_some() {
        Some(tls(&resolve)?)
    } else {
        None
    };
    Ok(MqttListenerOptions {
        mountpoint: resolve
            .value("mountpoint")
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default(),
        max_connections,
        allowed_protocol_versions,
        allow_anonymous_override: resolve.flag("allow_anonymous_override"),
        tls,
    })
}

fn tls(resolve: &Resolver<'_>) -> Result<MqttTls, ConfigError> {
    let settings = resolve.settings;
    let file = |option: &str| -> Result<Option<PathBuf>, ConfigError> {
        resolve
            .value(option)
            .map(|(key, path)| checked_path(settings, &key, path))
            .transpose()
    };
    let required = |option: &str| -> Result<PathBuf, ConfigError> {
        file(option)?.ok_or_else(|| {
            let key = resolve.own_key(option);
            let message = format!("a TLS listener needs `{key} = <PEM file>`");
            settings.error(&resolve.own_key(""), message)
        })
    };
    let files = TlsFiles {
        certfile: required("certfile")?,
        keyfile: required("keyfile")?,
        cafile: file("cafile")?,
        require_certificate: resolve.flag("require_certificate"),
    };
    if files.require_certificate && files.cafile.is_none() {
        let message = format!(
            "needs `{} = <PEM file>` to verify client certificates",
            resolve.own_key("cafile")
        );
        return Err(settings.error(&resolve.own_key("require_certificate"), message));
    }
    let versions = match resolve.value("tls_version") {
        Some((key, value)) => {
            TlsVersions::parse(value).map_err(|message| settings.error(&key, message))?
        }
        None => TlsVersions::BOTH,
    };
    let handshake_timeout = match resolve.value("tls_handshake_timeout") {
        Some((_, "infinity")) => None,
        Some((key, value)) => {
            Some(Duration::from_millis(value.parse().map_err(|_| {
                settings.error(&key, format!("'{value}' is out of range"))
            })?))
        }
        None => Some(TLS_HANDSHAKE_TIMEOUT),
    };
    Ok(MqttTls {
        files,
        versions,
        handshake_timeout,
    })
}

/// Looks an option up: the listener's own key first, then its kind's.
struct Resolver<'s> {
    settings: &'s Settings,
    kind: &'static str,
    name: Option<&'s str>,
}

impl<'s> Resolver<'s> {
    /// `listener.<kind>.<name>.<option>`, or the kind's key when there is no listener name.
    /// An empty option gives the listener's own key.
    fn own_key(&self, option: &str) -> String {
        let mut key = format!("listener.{}", self.kind);
        if let Some(name) = self.name {
            key.push('.');
            key.push_str(name);
        }
        if !option.is_empty() {
            key.push('.');
            key.push_str(option);
        }
        key
    }

    /// The key that set `option` and its value.
    fn value(&self, option: &str) -> Option<(String, &'s str)> {
        let own = self.own_key(option);
        if let Some(value) = self.settings.value(&own) {
            return Some((own, value));
        }
        let kind_key = format!("listener.{}.{option}", self.kind);
        let value = self.settings.value(&kind_key)?;
        Some((kind_key, value))
    }

    fn flag(&self, option: &str) -> bool {
        self.value(option).is_some_and(|(_, value)| value == "on")
    }
}

fn limit(settings: &Settings, key: &str, value: &str) -> Result<Option<u64>, ConfigError> {
    if value == "infinity" {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| settings.error(key, format!("'{value}' is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_versions_parse_and_describe() {
        let versions = ProtocolVersions::parse("3, 4,5").expect("valid");
        assert_eq!(versions.levels(), [3, 4, 5]);
        assert_eq!(versions.to_string(), "3,4,5");
        assert_eq!(versions.describe(), "mqtt 3.1, mqtt 3.1.1, mqtt 5");
        let bridge = ProtocolVersions::parse("[5,131]").expect("an Erlang list");
        assert_eq!(bridge.describe(), "mqtt 5, mqtt 3.1 (bridge)");
        for bad in ["", "6", "3,3", "3;4", "four"] {
            assert!(ProtocolVersions::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tls_versions_parse_and_print() {
        assert_eq!(
            TlsVersions::parse("tlsv1.3").map(|v| v.to_string()),
            Ok("tlsv1.3".to_owned())
        );
        assert_eq!(
            TlsVersions::parse("[tlsv1.2, tlsv1.3]"),
            Ok(TlsVersions::BOTH)
        );
        assert!(TlsVersions::parse("tlsv1.1").is_err());
        assert_eq!(TlsVersions::BOTH.to_string(), "tlsv1.2, tlsv1.3");
    }

    #[test]
    fn transports_from_flags_and_names() {
        assert_eq!(MqttTransport::from_flags(true, true), MqttTransport::Wss);
        assert_eq!(MqttTransport::from_flags(false, true).show_type(), "mqttws");
        assert!(MqttTransport::Ssl.is_tls() && !MqttTransport::Ssl.is_websocket());
    }
}
