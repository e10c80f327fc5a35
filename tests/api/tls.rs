//! HTTPS listeners: the API over TLS with HTTP/1.1 and h2 (ALPN), `listener show --tls`, client certificates, bad TLS config.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::{Request, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use vmq_node::config::{Config, HttpScheme};
use vmq_node::node::{self, StartError};

use crate::support::{basic, config_text, TestNode, CLUSTER_SHOW};

/// PEM files in a temp dir: a CA, a server cert for localhost/127.0.0.1, a client cert, all CA-signed.
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, ca) = (dir.path(), new_ca("vmq test CA"));
        write(path, "ca.pem", &ca.pem());
        leaf(path, "server", &["localhost", "127.0.0.1"], true, &ca);
        leaf(path, "client", &["client.test"], false, &ca);
        // A client certificate from a CA the server does not trust.
        leaf(
            path,
            "stranger",
            &["client.test"],
            false,
            &new_ca("stranger CA"),
        );
        Self { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The config lines of `listener.https.secure` with these files.
    fn listener(&self, client_ca: bool) -> String {
        let mut lines = format!(
            "listener.https.secure = 127.0.0.1:0\n\
             listener.https.secure.certfile = {}\n\
             listener.https.secure.keyfile = {}\n",
            self.path("server.pem").display(),
            self.path("server.key").display()
        );
        if client_ca {
            lines.push_str(&format!(
                "listener.https.secure.cafile = {}\nlistener.https.secure.require_certificate = on\n",
                self.path("ca.pem").display()
            ));
        }
        lines
    }
}

pub fn new_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA cert")
}

/// `<name>.pem` and `<name>.key`: a certificate for `sans` signed by `ca`, for a server or a client.
fn leaf(dir: &Path, name: &str, sans: &[&str], server: bool, ca: &CertifiedIssuer<'_, KeyPair>) {
    let sans: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
    let mut params = CertificateParams::new(sans).expect("params");
    params.extended_key_usages = vec![if server {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, ca).expect("signed cert");
    write(dir, &format!("{name}.pem"), &cert.pem());
    write(dir, &format!("{name}.key"), &key.serialize_pem());
}

pub fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write PEM");
}

/// A TLS client trusting `ca.pem`, offering `alpn`, presenting `client` (`<name>.pem/.key`) if given.
fn connector(pki: &Pki, alpn: &[&[u8]], client: Option<&str>) -> TlsConnector {
    TlsConnector::from(Arc::new(client_config(pki, alpn, client)))
}

/// The rustls client config of [`connector`].
pub fn client_config(pki: &Pki, alpn: &[&[u8]], client: Option<&str>) -> ClientConfig {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pki.path("ca.pem")).expect("ca.pem") {
        roots.add(cert.expect("a certificate")).expect("a root");
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_root_certificates(roots);
    let mut config = match client {
        None => builder.with_no_client_auth(),
        Some(name) => {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_file_iter(pki.path(&format!("{name}.pem")))
                    .expect("client cert")
                    .collect::<Result<_, _>>()
                    .expect("client chain");
            let key =
                PrivateKeyDer::from_pem_file(pki.path(&format!("{name}.key"))).expect("client key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client auth")
        }
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

async fn tls_connect(
    addr: SocketAddr,
    connector: &TlsConnector,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost".to_owned()).expect("server name");
    connector.connect(name, tcp).await
}

fn request(uri: &str, key: &str) -> Request<Empty<Bytes>> {
    Request::get(uri)
        .header("authorization", basic(key))
        .body(Empty::new())
        .expect("request")
}

/// GET over HTTP/1.1 on an established TLS stream: (status, version, body), or what failed.
async fn http1_get(
    stream: TlsStream<TcpStream>,
    path: &str,
    key: &str,
) -> Result<(u16, Version, String), String> {
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let mut req = request(path, key);
    req.headers_mut()
        .insert("host", hyper::header::HeaderValue::from_static("localhost"));
    let response = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let (status, version) = (response.status().as_u16(), response.version());
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, version, String::from_utf8_lossy(&body).into_owned()))
}

/// Connects with `connector` and GETs `path`; any TLS or HTTP failure is an `Err`.
async fn https_get(
    addr: SocketAddr,
    connector: &TlsConnector,
    path: &str,
    key: &str,
) -> Result<(u16, String), String> {
    let stream = tls_connect(addr, connector)
        .await
        .map_err(|e| e.to_string())?;
    http1_get(stream, path, key)
        .await
        .map(|(status, _, body)| (status, body))
}

#[tokio::test]
async fn the_api_answers_over_https_with_http1() {
    let pki = Pki::new();
    let node = TestNode::start_with(&pki.listener(false)).await;
    let addr = node.addr_of(HttpScheme::Https);
    for alpn in [&[][..], &[&b"http/1.1"[..]][..]] {
        let stream = tls_connect(addr, &connector(&pki, alpn, None))
            .await
            .expect("TLS handshake");
        let negotiated = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        assert!(
            matches!(negotiated.as_deref(), None | Some(b"http/1.1")),
            "{negotiated:?}"
        );
        let (status, version, body) = http1_get(stream, "/api/v1/cluster/show", &node.key)
            .await
            .expect("response");
        assert_eq!(
            (status, version, body.as_str()),
            (200, Version::HTTP_11, CLUSTER_SHOW)
        );
    }
    let unauthenticated = https_get(
        addr,
        &connector(&pki, &[], None),
        "/api/v1/cluster/show",
        "wrong",
    )
    .await;
    assert_eq!(unauthenticated.expect("response").0, 401);
    node.stop().await;
}

#[tokio::test]
async fn the_api_answers_over_https_with_h2_when_alpn_offers_it() {
    let pki = Pki::new();
    let node = TestNode::start_with(&pki.listener(false)).await;
    let addr = node.addr_of(HttpScheme::Https);
    let connector = connector(&pki, &[b"h2", b"http/1.1"], None);
    let stream = tls_connect(addr, &connector).await.expect("TLS handshake");
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2 handshake");
    tokio::spawn(connection);
    let uri = format!("https://localhost:{}/api/v1/cluster/show", addr.port());
    for _ in 0..2 {
        let response = sender
            .send_request(request(&uri, &node.key))
            .await
            .expect("response");
        assert_eq!(response.version(), Version::HTTP_2);
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.headers().get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/json"[..])
        );
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(body, CLUSTER_SHOW.as_bytes());
    }
    node.stop().await;
}

#[tokio::test]
async fn listener_show_tls_lists_the_https_listener() {
    let pki = Pki::new();
    let node = TestNode::start_with(&pki.listener(false)).await;
    let port = node.addr_of(HttpScheme::Https).port().to_string();
    let path = |name: &str| pki.path(name).display().to_string();
    let expected = serde_json::json!({
        "type": "https", "status": "running", "address": "127.0.0.1", "port": port,
        "mountpoint": "", "max_conns": "infinity", "active_conns": 0, "all_conns": 0,
        "tls_version": "tlsv1.2, tlsv1.3", "certfile": path("server.pem"), "cafile": "",
        "keyfile": path("server.key"), "require_certificate": false,
        "use_identity_as_username": "", "psk_support": "", "pskfile": "",
    });
    assert_eq!(https_row(&node).await, expected);
    // Without --tls there are no TLS columns.
    let plain = node.get("/api/v1/listener/show").await.json();
    assert!(plain["table"][0].get("certfile").is_none(), "{plain}");
    node.stop().await;
}

/// GET `cluster show` over HTTPS as `client` (its `<name>.pem/.key`), or without a certificate.
async fn get_as(node: &TestNode, pki: &Pki, client: Option<&str>) -> Result<(u16, String), String> {
    let addr = node.addr_of(HttpScheme::Https);
    https_get(
        addr,
        &connector(pki, &[], client),
        "/api/v1/cluster/show",
        &node.key,
    )
    .await
}

/// The `https` row of `listener show --tls`.
async fn https_row(node: &TestNode) -> serde_json::Value {
    let table = node.get("/api/v1/listener/show?--tls").await.json()["table"].clone();
    let rows = table.as_array().expect("a table");
    rows.iter()
        .find(|r| r["type"] == "https")
        .cloned()
        .expect("an https row")
}

#[tokio::test]
async fn a_required_client_certificate_must_be_signed_by_the_cafile() {
    let pki = Pki::new();
    let node = TestNode::start_with(&pki.listener(true)).await;
    let without = get_as(&node, &pki, None).await;
    assert!(
        without.is_err(),
        "a client without a certificate got {without:?}"
    );
    let stranger = get_as(&node, &pki, Some("stranger")).await;
    assert!(
        stranger.is_err(),
        "an untrusted certificate got {stranger:?}"
    );
    let trusted = get_as(&node, &pki, Some("client")).await;
    assert_eq!(trusted, Ok((200, CLUSTER_SHOW.to_owned())));
    let https = https_row(&node).await;
    assert_eq!(https["cafile"], pki.path("ca.pem").display().to_string());
    assert_eq!(https["require_certificate"], true);
    node.stop().await;
}

#[tokio::test]
async fn an_optional_client_certificate_is_checked_when_given() {
    let pki = Pki::new();
    let cafile = pki.path("ca.pem").display().to_string();
    let extra = format!(
        "{}listener.https.secure.cafile = {cafile}\n",
        pki.listener(false)
    );
    let node = TestNode::start_with(&extra).await;
    let ok = Ok((200, CLUSTER_SHOW.to_owned()));
    assert_eq!(get_as(&node, &pki, None).await, ok);
    assert_eq!(get_as(&node, &pki, Some("client")).await, ok);
    let stranger = get_as(&node, &pki, Some("stranger")).await;
    assert!(
        stranger.is_err(),
        "an untrusted certificate got {stranger:?}"
    );
    assert_eq!(https_row(&node).await["require_certificate"], false);
    node.stop().await;
}

fn config_error(dir: &Path, listener: &str) -> vmq_node::config::ConfigError {
    Config::from_text(&config_text(dir, listener), "test config", &[])
        .expect_err("the config must be refused")
}

#[tokio::test]
async fn missing_or_bad_tls_files_stop_the_node() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let key = pki.path("server.key").display().to_string();
    let no_certfile =
        format!("listener.https.secure = 127.0.0.1:0\nlistener.https.secure.keyfile = {key}");
    let error = config_error(dir.path(), &no_certfile);
    assert_eq!(
        error.key.as_deref(),
        Some("listener.https.secure"),
        "{error}"
    );
    assert!(
        error.to_string().contains("listener.https.secure.certfile"),
        "{error}"
    );

    let missing = dir.path().join("missing.pem").display().to_string();
    let absent_file = format!("{no_certfile}\nlistener.https.secure.certfile = {missing}");
    let error = config_error(dir.path(), &absent_file);
    assert_eq!(
        error.key.as_deref(),
        Some("listener.https.secure.certfile"),
        "{error}"
    );
    assert!(error.to_string().contains(&missing), "{error}");

    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").expect("garbage");
    let bad_pem = format!(
        "{no_certfile}\nlistener.https.secure.certfile = {}",
        garbage.display()
    );
    let config = Config::from_text(&config_text(dir.path(), &bad_pem), "test config", &[])
        .expect("files exist");
    let error = node::start(config, &[])
        .await
        .expect_err("an unusable certfile must stop the start");
    assert!(matches!(error, StartError::Config(_)), "{error:?}");
    assert_eq!(error.exit_code(), 78);
    let message = error.to_string();
    assert!(message.starts_with("listener.https.secure: "), "{message}");
    assert!(
        message.contains(&garbage.display().to_string()),
        "{message}"
    );
}
