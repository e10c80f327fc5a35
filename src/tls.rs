//! The rustls server config of a TLS listener (HTTPS, MQTT over TLS or secure WebSocket):
//! certificate chain, key, optional client CA, accepted TLS versions, ALPN; and both sides of
//! the cluster fabric's mutual TLS.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{
    version, ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion,
};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use vmq_actors::{FabricTls, TlsInfo};

use crate::config::{ClusterTls, TlsFiles, TlsVersions};

/// ALPN of HTTPS listeners.
pub const HTTP_ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];
/// ALPN of secure WebSocket listeners (the upgrade is HTTP/1.1).
pub const WEBSOCKET_ALPN: &[&[u8]] = &[b"http/1.1"];

/// Builds the acceptor for a listener; the error names the file and what is wrong with it.
pub fn acceptor(
    files: &TlsFiles,
    versions: TlsVersions,
    alpn: &[&[u8]],
) -> Result<TlsAcceptor, String> {
    let (chain, key) = identity(files)?;
    let accepted = protocol_versions(versions);
    // Named explicitly: ractor_cluster's rustls brings a second provider, so there is no default.
    let provider = Arc::new(ring::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&accepted)
        .map_err(|e| format!("tls versions: {e}"))?;
    let builder = match &files.cafile {
        Some(cafile) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(roots(cafile)?, provider);
            let verifier = if files.require_certificate {
                verifier.build()
            } else {
                verifier.allow_unauthenticated().build()
            }
            .map_err(|e| format!("cafile {}: {e}", cafile.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None if files.require_certificate => {
            return Err(
                "require_certificate = on needs a cafile to check client certificates against"
                    .to_owned(),
            )
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        format!(
            "certfile {} / keyfile {}: {e}",
            files.certfile.display(),
            files.keyfile.display()
        )
    })?;
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Mutual TLS on the cluster fabric (`listener.vmqs.*`): the acceptor demands a peer
/// certificate signed by the cafile; the connector presents this node's certificate and checks
/// the peer's against the same CA and the dialled host.
pub fn fabric(tls: &ClusterTls) -> Result<FabricTls, String> {
    let files = &tls.files;
    let cafile = files
        .cafile
        .as_ref()
        .ok_or("the TLS cluster listener needs a cafile")?;
    let acceptor = acceptor(files, tls.versions, &[])?;
    let (chain, key) = identity(files)?;
    let provider = Arc::new(ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&protocol_versions(tls.versions))
        .map_err(|e| format!("tls versions: {e}"))?
        .with_root_certificates(roots(cafile)?)
        .with_client_auth_cert(chain, key)
        .map_err(|e| {
            format!(
                "certfile {} / keyfile {}: {e}",
                files.certfile.display(),
                files.keyfile.display()
            )
        })?;
    Ok(FabricTls {
        acceptor,
        connector: TlsConnector::from(Arc::new(config)),
    })
}

/// The certificate chain and private key of `files`.
fn identity(
    files: &TlsFiles,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let chain = certificates(&files.certfile)?;
    let key = PrivateKeyDer::from_pem_file(&files.keyfile).map_err(|e| {
        format!(
            "keyfile {}: no usable private key ({e})",
            files.keyfile.display()
        )
    })?;
    Ok((chain, key))
}

fn protocol_versions(versions: TlsVersions) -> Vec<&'static SupportedProtocolVersion> {
    let mut accepted: Vec<&'static SupportedProtocolVersion> = Vec::new();
    if versions.tls12 {
        accepted.push(&version::TLS12);
    }
    if versions.tls13 {
        accepted.push(&version::TLS13);
    }
    accepted
}

/// The CAs of `cafile` as trust roots.
fn roots(cafile: &Path) -> Result<Arc<RootCertStore>, String> {
    let mut roots = RootCertStore::empty();
    for certificate in certificates(cafile)? {
        roots
            .add(certificate)
            .map_err(|e| format!("cafile {}: {e}", cafile.display()))?;
    }
    Ok(Arc::new(roots))
}

/// What `listener show --tls` prints of a listener's TLS settings.
pub fn info(files: &TlsFiles, versions: TlsVersions) -> TlsInfo {
    TlsInfo {
        certfile: files.certfile.display().to_string(),
        keyfile: files.keyfile.display().to_string(),
        cafile: files
            .cafile
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        require_certificate: files.require_certificate,
        tls_version: versions.to_string(),
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect)
        .map_err(|e| format!("{}: not a PEM certificate file ({e})", path.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate in the file", path.display()));
    }
    Ok(chain)
}
