//! MQTT listeners: the typed view of `listener.tcp|ssl|ws|wss.<name>` and their options, each
//! option resolved as VerneMQ does: the listener's own key, else its kind's, else the default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::listener::{checked_path, listener_name, socket_addr, TlsFiles};
pub use crate::config::mqtt_values::{ProtocolVersions, TlsVersions};
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
    fn transports_from_flags_and_names() {
        assert_eq!(MqttTransport::from_flags(true, true), MqttTransport::Wss);
        assert_eq!(MqttTransport::from_flags(false, true).show_type(), "mqttws");
        assert!(MqttTransport::Ssl.is_tls() && !MqttTransport::Ssl.is_websocket());
    }
}
