//! The rustls server config of an HTTPS listener: certificate chain, key, optional client CA.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// Builds the acceptor for a listener; the error names the file and what is wrong with it.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, String> {
    let chain = certificates(&files.certfile)?;
    let key = PrivateKeyDer::from_pem_file(&files.keyfile).map_err(|e| {
        format!(
            "keyfile {}: no usable private key ({e})",
            files.keyfile.display()
        )
    })?;
    let builder = ServerConfig::builder();
    let builder = match &files.cafile {
        Some(cafile) => {
            let mut roots = RootCertStore::empty();
            for certificate in certificates(cafile)? {
                roots
                    .add(certificate)
                    .map_err(|e| format!("cafile {}: {e}", cafile.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder(Arc::new(roots));
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
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
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
