//! HTTP listeners and modules: the typed view of the `listener.http(s).*` and `*.auth.mode` keys.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::config::settings::Settings;
use crate::config::ConfigError;

/// Plain HTTP or HTTPS. Ordered so that `http` listeners sort before `https` ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HttpScheme {
    Http,
    Https,
}

impl HttpScheme {
    /// `http` or `https`, as in the config keys.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpScheme::Http => "http",
            HttpScheme::Https => "https",
        }
    }
}

/// The HTTP modules whose authentication is configurable, with VerneMQ's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HttpModule {
    MgmtApi,
    V2Api,
    Metrics,
    Status,
    Health,
}

impl HttpModule {
    pub const ALL: [HttpModule; 5] = [
        HttpModule::MgmtApi,
        HttpModule::V2Api,
        HttpModule::Metrics,
        HttpModule::Status,
        HttpModule::Health,
    ];

    /// VerneMQ's module name, as used in `http_module.<name>.auth.mode`.
    pub fn name(self) -> &'static str {
        match self {
            HttpModule::MgmtApi => "vmq_http_mgmt_api",
            HttpModule::V2Api => "vmq_http_v2_api",
            HttpModule::Metrics => "vmq_metrics_http",
            HttpModule::Status => "vmq_status_http",
            HttpModule::Health => "vmq_health_http",
        }
    }

    pub fn from_name(name: &str) -> Option<HttpModule> {
        HttpModule::ALL
            .into_iter()
            .find(|module| module.name() == name)
    }

    /// VerneMQ's defaults: the two APIs that change or reveal sessions need a key; metrics,
    /// status and health stay open for scrapers and probes.
    pub fn default_auth_mode(self) -> AuthMode {
        match self {
            HttpModule::MgmtApi | HttpModule::V2Api => AuthMode::ApiKey,
            HttpModule::Metrics | HttpModule::Status | HttpModule::Health => AuthMode::NoAuth,
        }
    }

    /// Position in [`HttpModule::ALL`], for per-module arrays.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// How an HTTP module authenticates requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    ApiKey,
    NoAuth,
}

impl AuthMode {
    /// `apikey` or `noauth`, as in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::ApiKey => "apikey",
            AuthMode::NoAuth => "noauth",
        }
    }

    pub fn from_name(name: &str) -> Option<AuthMode> {
        match name {
            "apikey" => Some(AuthMode::ApiKey),
            "noauth" => Some(AuthMode::NoAuth),
            _ => None,
        }
    }
}

/// The PEM files of an HTTPS listener; each was checked to exist when the config was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub certfile: PathBuf,
    pub keyfile: PathBuf,
    pub cafile: Option<PathBuf>,
    pub require_certificate: bool,
}

/// One `listener.http.<name>` or `listener.https.<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpListener {
    pub name: String,
    pub scheme: HttpScheme,
    pub addr: SocketAddr,
    /// `Some` exactly for HTTPS listeners.
    pub tls: Option<TlsFiles>,
    /// `listener.<scheme>.<name>.http_module.<module>.auth.mode`, indexed by module; an array so
    /// that the per-request auth lookup allocates nothing.
    auth_overrides: [Option<AuthMode>; HttpModule::ALL.len()],
}

impl HttpListener {
    /// This listener's own auth mode for `module`, if it overrides the global one.
    pub fn auth_override(&self, module: HttpModule) -> Option<AuthMode> {
        self.auth_overrides[module.index()]
    }

    /// The key that declares this listener, e.g. `listener.https.tls`.
    pub fn key(&self) -> String {
        format!("listener.{}.{}", self.scheme.as_str(), self.name)
    }
}

/// Global auth modes by module (defaults are in the settings by now).
pub fn global_auth_modes(
    settings: &Settings,
) -> Result<[AuthMode; HttpModule::ALL.len()], ConfigError> {
    let mut modes = HttpModule::ALL.map(HttpModule::default_auth_mode);
    for module in HttpModule::ALL {
        let key = format!("http_module.{}.auth.mode", module.name());
        if let Some(mode) = auth_mode_at(settings, &key)? {
            modes[module.index()] = mode;
        }
    }
    Ok(modes)
}

/// Every declared HTTP(S) listener, sorted by (scheme, name).
pub fn http_listeners(settings: &Settings) -> Result<Vec<HttpListener>, ConfigError> {
    let mut listeners = Vec::new();
    for scheme in [HttpScheme::Http, HttpScheme::Https] {
        let pattern = format!("listener.{}.$name", scheme.as_str());
        for (key, value) in settings.matching(&pattern) {
            listeners.push(http_listener(settings, scheme, key, value)?);
        }
    }
    listeners.sort_by(|a, b| (a.scheme, &a.name).cmp(&(b.scheme, &b.name)));
    Ok(listeners)
}

fn http_listener(
    settings: &Settings,
    scheme: HttpScheme,
    key: &str,
    value: &str,
) -> Result<HttpListener, ConfigError> {
    let mut auth_overrides = [None; HttpModule::ALL.len()];
    for module in HttpModule::ALL {
        let override_key = format!("{key}.http_module.{}.auth.mode", module.name());
        auth_overrides[module.index()] = auth_mode_at(settings, &override_key)?;
    }
    let tls = match scheme {
        HttpScheme::Http => None,
        HttpScheme::Https => Some(tls_files(settings, key)?),
    };
    Ok(HttpListener {
        name: listener_name(key).to_owned(),
        scheme,
        addr: socket_addr(settings, key, value)?,
        tls,
        auth_overrides,
    })
}

fn tls_files(settings: &Settings, listener_key: &str) -> Result<TlsFiles, ConfigError> {
    let certfile = existing_file(settings, listener_key, "certfile")?;
    let keyfile = existing_file(settings, listener_key, "keyfile")?;
    let cafile_key = format!("{listener_key}.cafile");
    let cafile = match settings.value(&cafile_key) {
        Some(path) => Some(checked_path(settings, &cafile_key, path)?),
        None => None,
    };
    let require_key = format!("{listener_key}.require_certificate");
    let require_certificate = settings.value(&require_key) == Some("on");
    if require_certificate && cafile.is_none() {
        let message = format!("needs `{cafile_key} = <PEM file>` to verify client certificates");
        return Err(settings.error(&require_key, message));
    }
    Ok(TlsFiles {
        certfile,
        keyfile,
        cafile,
        require_certificate,
    })
}

/// A required file of an HTTPS listener; missing → the error names the listener and the key.
fn existing_file(
    settings: &Settings,
    listener_key: &str,
    attribute: &str,
) -> Result<PathBuf, ConfigError> {
    let key = format!("{listener_key}.{attribute}");
    match settings.value(&key) {
        Some(path) => checked_path(settings, &key, path),
        None => {
            let message = format!("an HTTPS listener needs `{key} = <PEM file>`");
            Err(settings.error(listener_key, message))
        }
    }
}

/// Checked at load time so that a typo stops the node before any port is bound, with the key
/// named, instead of failing later inside the TLS setup.
pub(crate) fn checked_path(
    settings: &Settings,
    key: &str,
    path: &str,
) -> Result<PathBuf, ConfigError> {
    if Path::new(path).is_file() {
        Ok(PathBuf::from(path))
    } else {
        let message = format!("'{path}' does not exist or is not a file");
        Err(settings.error(key, message))
    }
}

fn auth_mode_at(settings: &Settings, key: &str) -> Result<Option<AuthMode>, ConfigError> {
    match settings.value(key) {
        None => Ok(None),
        Some(value) => AuthMode::from_name(value)
            .map(Some)
            .ok_or_else(|| settings.error(key, format!("'{value}' is not apikey or noauth"))),
    }
}

/// The `$name` segment of `listener.<kind>.<name>`.
pub fn listener_name(key: &str) -> &str {
    key.splitn(3, '.').nth(2).unwrap_or(key)
}

/// Values were normalized on the way in, so this fails only if the schema and this code disagree.
pub fn socket_addr(settings: &Settings, key: &str, value: &str) -> Result<SocketAddr, ConfigError> {
    value
        .parse()
        .map_err(|_| settings.error(key, format!("'{value}' is not an ip:port")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_round_trip_and_index_all() {
        for (index, module) in HttpModule::ALL.into_iter().enumerate() {
            assert_eq!(HttpModule::from_name(module.name()), Some(module));
            assert_eq!(module.index(), index);
        }
        assert_eq!(HttpModule::from_name("vmq_http_pub"), None);
    }

    #[test]
    fn default_auth_modes_follow_vernemq() {
        assert_eq!(HttpModule::MgmtApi.default_auth_mode(), AuthMode::ApiKey);
        assert_eq!(HttpModule::V2Api.default_auth_mode(), AuthMode::ApiKey);
        for module in [HttpModule::Metrics, HttpModule::Status, HttpModule::Health] {
            assert_eq!(module.default_auth_mode(), AuthMode::NoAuth);
        }
    }

    #[test]
    fn names_and_schemes() {
        assert_eq!(listener_name("listener.https.my-tls"), "my-tls");
        assert_eq!(HttpScheme::Https.as_str(), "https");
        assert!(HttpScheme::Http < HttpScheme::Https);
        assert_eq!(
            AuthMode::from_name(AuthMode::NoAuth.as_str()),
            Some(AuthMode::NoAuth)
        );
    }
}
