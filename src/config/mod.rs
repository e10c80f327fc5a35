//! Configuration: `vernemq.conf` plus `DOCKER_VERNEMQ_*` overrides → one validated [`Config`].
//!
//! # How a config is assembled
//!
//! 1. The file (`--config FILE`), if any: `## comments`, blank lines and `dotted.key = value`
//!    lines. Every line must be valid, even one that a later line for the same key overrides
//!    (the later line wins, as in VerneMQ).
//! 2. Environment overrides `DOCKER_VERNEMQ_<KEY>` (see `env.rs`) win over the file. An unknown
//!    `DOCKER_VERNEMQ_*` variable is an error, except the image's `DOCKER_VERNEMQ_ACCEPT_EULA`
//!    and [`BOOTSTRAP_KEY_ENV`] / [`BOOTSTRAP_SCOPE_ENV`], which the node reads to create its
//!    first API key.
//! 3. Defaults fill the rest. The built-in listeners `listener.tcp.default = 127.0.0.1:1883` and
//!    `listener.http.default = 127.0.0.1:8888` apply only while no listener of that kind is
//!    declared: declaring `listener.http.admin = …` *replaces* the default HTTP listener rather
//!    than adding to it, so the node never opens a port that the config does not show.
//! 4. Checks across keys: an HTTPS, `ssl` or `wss` listener needs `certfile` and `keyfile`,
//!    every TLS file must exist (relative paths are relative to the working directory), and a
//!    key under a listener (`listener.https.x.certfile`) needs that listener to be declared.
//!    MQTT listener options resolve as in VerneMQ: `listener.ssl.x.certfile`, else
//!    `listener.ssl.certfile`; `max_connections` finally falls back to `listener.max_connections`.
//!
//! Any failure is a [`ConfigError`] naming the file and line (or variable), the key and the
//! problem; the node prints it and exits with EX_CONFIG before binding any port.
//!
//! At runtime, [`Config::apply`] (`runtime.rs`) implements `set`: it returns a new `Config` and
//! never changes the old one, so readers holding a snapshot keep a consistent view.

mod cluster_tls;
mod env;
mod error;
mod keys;
mod listener;
mod mqtt_keys;
mod mqtt_listener;
mod mqtt_listener_keys;
mod mqtt_values;
mod parser;
mod runtime;
mod schema;
mod settings;
mod value;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use vmq_actors::{NodeName, PluginConfig};

pub use cluster_tls::ClusterTls;
pub use env::{BOOTSTRAP_KEY_ENV, BOOTSTRAP_SCOPE_ENV};
pub use error::{ConfigError, SetError};
pub use listener::{AuthMode, HttpListener, HttpModule, HttpScheme, TlsFiles};
pub use mqtt_listener::{
    MqttListener, MqttListenerOptions, MqttTls, MqttTransport, ProtocolVersions, TlsVersions,
    TLS_HANDSHAKE_TIMEOUT,
};

use listener::socket_addr;
use settings::Settings;

/// Stands for the config file when there is none.
const DEFAULTS_SOURCE: &str = "built-in defaults";
const CLUSTER_LISTENER_KEY: &str = "listener.vmq.clustering";

/// The node's effective configuration: typed values for the node's own use, plus every key with
/// a value (defaults included) for `show`, `--print-config` and `set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    values: BTreeMap<String, String>,
    nodename: NodeName,
    data_dir: PathBuf,
    mqtt_listeners: Vec<MqttListener>,
    /// Per [`MqttTransport`], the options `listener start` gives a listener it starts.
    mqtt_defaults: Vec<MqttListenerOptions>,
    cluster_listener: SocketAddr,
    cluster_tls: Option<ClusterTls>,
    http_listeners: Vec<HttpListener>,
    global_auth: [AuthMode; HttpModule::ALL.len()],
    min_apikey_length: usize,
    max_apikey_expiry_days: Option<u32>,
    api_key_file: Option<PathBuf>,
    http_header_read_timeout: Duration,
    log_level: String,
    allow_anonymous: bool,
    max_message_size: u32,
    mqtt_connect_timeout: Duration,
    plugins: PluginConfig,
}

impl Config {
    /// Loads `file` (or only the built-in defaults when `None`) with the `DOCKER_VERNEMQ_*`
    /// variables of `env` (pass the whole process environment; other variables are ignored).
    pub fn load(file: Option<&Path>, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let Some(path) = file else {
            return Config::from_text("", DEFAULTS_SOURCE, env);
        };
        let source = path.display().to_string();
        let file_error = |line, message| ConfigError {
            source: source.clone(),
            line,
            key: None,
            message,
        };
        let bytes = std::fs::read(path)
            .map_err(|e| file_error(None, format!("cannot read the config file: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            file_error(Some(line), "not UTF-8 text".to_owned())
        })?;
        Config::from_text(&text, &source, env)
    }

    /// Like [`Config::load`] with the file's text given; `source` names it in errors.
    pub fn from_text(
        text: &str,
        source: &str,
        env: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let entries = parser::parse(text).map_err(|e| ConfigError {
            source: source.to_owned(),
            line: Some(e.line),
            key: e.key,
            message: e.message,
        })?;
        let mut settings = Settings::new(source);
        settings.add_file(entries)?;
        settings.add_env(env)?;
        settings.add_defaults();
        Config::from_settings(settings)
    }

    fn from_settings(settings: Settings) -> Result<Config, ConfigError> {
        settings.check_declared_listeners()?;
        let mqtt_defaults = MqttTransport::ALL
            .into_iter()
            .map(|transport| mqtt_listener::options(&settings, transport, None))
            .collect::<Result<Vec<_>, ConfigError>>()?;
        let cluster_value = required(&settings, CLUSTER_LISTENER_KEY)?;
        let nodename = NodeName::parse(required(&settings, "nodename")?)
            .map_err(|message| settings.error("nodename", message))?;
        check_namespace(&settings)?;
        let timeout_ms: u64 = parsed(&settings, "http_header_read_timeout")?.unwrap_or(10_000);
        let connect_timeout_ms: u64 = parsed(&settings, "mqtt_connect_timeout")?.unwrap_or(5_000);
        Ok(Config {
            nodename,
            data_dir: PathBuf::from(required(&settings, "platform_data_dir")?),
            mqtt_listeners: mqtt_listener::mqtt_listeners(&settings)?,
            mqtt_defaults,
            cluster_listener: socket_addr(&settings, CLUSTER_LISTENER_KEY, cluster_value)?,
            cluster_tls: cluster_tls::cluster_tls(&settings)?,
            http_listeners: listener::http_listeners(&settings)?,
            global_auth: listener::global_auth_modes(&settings)?,
            min_apikey_length: parsed(&settings, "min_apikey_length")?.unwrap_or(0),
            max_apikey_expiry_days: parsed(&settings, "max_apikey_expiry_days")?,
            api_key_file: settings.value("api_key_file").map(PathBuf::from),
            http_header_read_timeout: Duration::from_millis(timeout_ms),
            log_level: required(&settings, "log.console.level")?.to_owned(),
            allow_anonymous: settings.value("allow_anonymous") == Some("on"),
            max_message_size: parsed(&settings, "max_message_size")?.unwrap_or(0),
            mqtt_connect_timeout: Duration::from_millis(connect_timeout_ms),
            plugins: plugin_config(&settings)?,
            values: settings.into_values(),
        })
    }

    /// `metrics_enabled`: whether the data plane counts its metrics.
    pub fn metrics_enabled(&self) -> bool {
        self.get("metrics_enabled") != Some("off")
    }

    /// `prometheus_namespace`: the prefix of metric names on `/metrics`.
    pub fn prometheus_namespace(&self) -> &str {
        self.get("prometheus_namespace").unwrap_or("vernemq")
    }

    pub fn nodename(&self) -> &NodeName {
        &self.nodename
    }

    /// `platform_data_dir`.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The MQTT listeners (`listener.tcp|ssl|ws|wss.<name>`), sorted by (kind, name).
    pub fn mqtt_listeners(&self) -> &[MqttListener] {
        &self.mqtt_listeners
    }

    /// The options a listener of `transport` started at run time gets unless its flags say
    /// otherwise: the kind's keys (`listener.tcp.mountpoint`, …), then the global ones. No TLS.
    pub fn mqtt_defaults(&self, transport: MqttTransport) -> MqttListenerOptions {
        let index = MqttTransport::ALL
            .iter()
            .position(|t| *t == transport)
            .unwrap_or(0);
        self.mqtt_defaults[index].clone()
    }

    /// Where other cluster nodes connect: `listener.vmqs.clustering` when set (the fabric then
    /// runs over TLS only), else `listener.vmq.clustering`.
    pub fn cluster_listener(&self) -> SocketAddr {
        self.cluster_tls
            .as_ref()
            .map_or(self.cluster_listener, |tls| tls.addr)
    }

    /// `listener.vmqs.*`: TLS on the cluster fabric, if configured.
    pub fn cluster_tls(&self) -> Option<&ClusterTls> {
        self.cluster_tls.as_ref()
    }

    /// `distributed_cookie`: the secret cluster nodes authenticate each other with.
    pub fn distributed_cookie(&self) -> &str {
        self.get("distributed_cookie").unwrap_or("vmq")
    }

    /// `outgoing_clustering_buffer_size`: bytes of publishes kept per cluster node.
    pub fn cluster_buffer_bytes(&self) -> usize {
        let value = self.get("outgoing_clustering_buffer_size");
        value.and_then(|v| v.parse().ok()).unwrap_or(64 << 20)
    }

    /// The HTTP and HTTPS listeners, sorted by (scheme, name).
    pub fn http_listeners(&self) -> &[HttpListener] {
        &self.http_listeners
    }

    /// How `module` authenticates on `listener`: the listener's own setting wins over the global
    /// `http_module.<module>.auth.mode`. Allocation-free: it runs on every request.
    pub fn auth_mode(&self, listener: &HttpListener, module: HttpModule) -> AuthMode {
        listener
            .auth_override(module)
            .unwrap_or(self.global_auth[module.index()])
    }

    pub fn min_apikey_length(&self) -> usize {
        self.min_apikey_length
    }

    pub fn max_apikey_expiry_days(&self) -> Option<u32> {
        self.max_apikey_expiry_days
    }

    pub fn api_key_file(&self) -> Option<&Path> {
        self.api_key_file.as_deref()
    }

    pub fn http_header_read_timeout(&self) -> Duration {
        self.http_header_read_timeout
    }

    /// `allow_anonymous`: whether MQTT clients without a username may connect.
    pub fn allow_anonymous(&self) -> bool {
        self.allow_anonymous
    }

    /// `max_message_size`: the largest MQTT packet accepted, in bytes; 0 = the protocol maximum.
    pub fn max_message_size(&self) -> u32 {
        self.max_message_size
    }

    /// `mqtt_connect_timeout`: how long a new MQTT connection has to send CONNECT.
    pub fn mqtt_connect_timeout(&self) -> Duration {
        self.mqtt_connect_timeout
    }

    /// The built-in auth plugins: `plugins.vmq_passwd`, `plugins.vmq_acl`, their files
    /// (`vmq_passwd.password_file`, `vmq_acl.acl_file`) and reload intervals.
    pub fn plugins(&self) -> &PluginConfig {
        &self.plugins
    }

    /// `log.console.level`: `debug`, `info`, `warning` or `error`.
    pub fn log_level(&self) -> &str {
        &self.log_level
    }

    /// The effective value of `key` for `show` (flags as `on`/`off`); `None` if unset or unknown.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The effective config as `vernemq.conf` text: one `key = value` line per key with a value,
    /// sorted by key, no comments. Reading it back gives an equal `Config`.
    pub fn print(&self) -> String {
        self.values
            .iter()
            .map(|(key, value)| format!("{key} = {value}\n"))
            .collect()
    }
}

/// The plugin keys, typed. Both files always have a value (VerneMQ's defaults under `./etc`).
fn plugin_config(settings: &Settings) -> Result<PluginConfig, ConfigError> {
    let seconds = |key| -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(parsed(settings, key)?.unwrap_or(10)))
    };
    Ok(PluginConfig {
        vmq_passwd: settings.value("plugins.vmq_passwd") != Some("off"),
        vmq_acl: settings.value("plugins.vmq_acl") != Some("off"),
        password_file: settings
            .value("vmq_passwd.password_file")
            .map(PathBuf::from),
        acl_file: settings.value("vmq_acl.acl_file").map(PathBuf::from),
        password_reload_interval: seconds("vmq_passwd.password_reload_interval")?,
        acl_reload_interval: seconds("vmq_acl.acl_reload_interval")?,
    })
}

/// A key that always has a default; missing only if the schema lost it, which tests catch.
fn required<'s>(settings: &'s Settings, key: &str) -> Result<&'s str, ConfigError> {
    settings
        .value(key)
        .ok_or_else(|| settings.error(key, "has no value and no default".to_owned()))
}

/// A number the schema already validated; a parse failure means schema and code disagree.
fn parsed<T: FromStr>(settings: &Settings, key: &str) -> Result<Option<T>, ConfigError> {
    match settings.value(key) {
        None => Ok(None),
        Some(value) => value
            .parse()
            .map(Some)
            .map_err(|_| settings.error(key, format!("'{value}' is out of range"))),
    }
}

/// A Prometheus metric name prefix: a letter or `_`, then letters, digits and `_`.
fn check_namespace(settings: &Settings) -> Result<(), ConfigError> {
    let Some(namespace) = settings.value("prometheus_namespace") else {
        return Ok(());
    };
    let mut chars = namespace.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    match valid {
        true => Ok(()),
        false => Err(settings.error(
            "prometheus_namespace",
            format!("'{namespace}' is not a metric name prefix: use letters, digits and _ (example: vernemq)"),
        )),
    }
}
