//! `listener.vmqs.*`: the cluster fabric over mutual TLS, VerneMQ's TLS variant of
//! `listener.vmq.clustering`. When `listener.vmqs.clustering` is set the fabric listens there
//! only, with TLS, and dials its peers with TLS.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::listener::{checked_path, socket_addr, TlsFiles};
use crate::config::mqtt_values::TlsVersions;
use crate::config::settings::Settings;
use crate::config::ConfigError;

/// The TLS cluster listener's key.
pub const KEY: &str = "listener.vmqs.clustering";
/// The keys beside it.
const ATTRIBUTES: [&str; 4] = ["certfile", "keyfile", "cafile", "tls_version"];

/// The fabric's TLS settings. Every node presents `certfile` (its certificate must allow both
/// server and client authentication and name the host of its node name) and accepts only
/// peers whose certificate `cafile` signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterTls {
    /// Where the fabric listens.
    pub addr: SocketAddr,
    /// `certfile`, `keyfile`, `cafile` (always given; a client certificate is always required).
    pub files: TlsFiles,
    /// `tls_version`.
    pub versions: TlsVersions,
}

/// The TLS cluster listener, if declared; its files must exist.
pub(crate) fn cluster_tls(settings: &Settings) -> Result<Option<ClusterTls>, ConfigError> {
    let Some(value) = settings.value(KEY) else {
        let stray = ATTRIBUTES
            .iter()
            .map(|attribute| format!("listener.vmqs.{attribute}"))
            .find(|key| settings.value(key).is_some());
        return match stray {
            Some(key) => Err(settings.error(
                &key,
                format!("{KEY} is not set; add `{KEY} = ip:port` or remove this key"),
            )),
            None => Ok(None),
        };
    };
    let addr = socket_addr(settings, KEY, value)?;
    let file = |attribute: &str, why: &str| -> Result<PathBuf, ConfigError> {
        let key = format!("listener.vmqs.{attribute}");
        match settings.value(&key) {
            Some(path) => checked_path(settings, &key, path),
            None => Err(settings.error(KEY, format!("needs `{key} = <PEM file>` {why}"))),
        }
    };
    let files = TlsFiles {
        certfile: file("certfile", "(this node's certificate)")?,
        keyfile: file("keyfile", "(the certificate's private key)")?,
        cafile: Some(file(
            "cafile",
            "(the CA that signed every node's certificate)",
        )?),
        require_certificate: true,
    };
    let versions = match settings.value("listener.vmqs.tls_version") {
        Some(value) => TlsVersions::parse(value)
            .map_err(|message| settings.error("listener.vmqs.tls_version", message))?,
        None => TlsVersions::BOTH,
    };
    Ok(Some(ClusterTls {
        addr,
        files,
        versions,
    }))
}
