//! `TestNode`: a real node on 127.0.0.1:0 with its own temp data dir, plus a small HTTP client.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tempfile::TempDir;
use tokio::net::TcpStream;
use vmq_node::config::{Config, HttpScheme};
use vmq_node::node::{self, RunningNode};

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Reads `response` whole (the body as lossy UTF-8).
    pub async fn read<B>(response: Response<B>) -> Self
    where
        B: hyper::body::Body,
        B::Error: std::fmt::Debug,
    {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Self {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

/// A running node with a `mgmt` key.
pub struct TestNode {
    pub running: Option<RunningNode>,
    pub dir: TempDir,
    pub extra: String,
    pub addr: SocketAddr,
    pub key: String,
}

impl TestNode {
    /// A node on embedded defaults, HTTP on an ephemeral port.
    pub async fn start() -> Self {
        Self::start_with("").await
    }

    /// A node with extra `vernemq.conf` lines.
    pub async fn start_with(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut node = Self::boot(dir, extra.to_owned()).await;
        node.key = node.create_key("mgmt").await;
        node
    }

    async fn boot(dir: TempDir, extra: String) -> Self {
        let config = Config::from_text(&config_text(dir.path(), &extra), "test config", &[])
            .expect("valid config");
        let running = node::start(config, &[]).await.expect("node starts");
        let addr = listener_addr(&running, HttpScheme::Http);
        Self {
            running: Some(running),
            dir,
            extra,
            addr,
            key: String::new(),
        }
    }

    /// Stops the node and starts a new one on the same data dir (new port); the key is kept.
    pub async fn restart(mut self) -> Self {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
        let key = std::mem::take(&mut self.key);
        let extra = std::mem::take(&mut self.extra);
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        let mut node = Self::boot(dir, extra).await;
        node.key = key;
        node
    }

    /// Stops the node (drain included).
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }

    pub fn running(&self) -> &RunningNode {
        self.running.as_ref().expect("running")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Creates a key of `scope` in-process (as `vmq-admin api-key create` would).
    pub async fn create_key(&self, scope: &str) -> String {
        let scope = scope.parse().expect("scope");
        let key = self
            .running()
            .node()
            .vault
            .create(scope, None, Default::default())
            .await
            .expect("key created");
        key.expose().to_owned()
    }

    /// GET with this node's mgmt key in the Basic user name.
    pub async fn get(&self, path: &str) -> Reply {
        self.get_with_basic(path, &self.key).await
    }

    /// GET with `key` in the Basic user name.
    pub async fn get_with_basic(&self, path: &str, key: &str) -> Reply {
        let auth = basic(key);
        self.request(Method::GET, path, &[("authorization", &auth)], Bytes::new())
            .await
    }

    /// GET without credentials.
    pub async fn get_anonymous(&self, path: &str) -> Reply {
        self.request(Method::GET, path, &[], Bytes::new()).await
    }

    /// Any request over a fresh HTTP/1.1 connection.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Reply {
        http1_request(self.addr, method, path, headers, body).await
    }
}

/// `Basic base64(key:)`.
pub fn basic(key: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

/// The config of a test node: every listener on port 0, data under `dir`.
pub fn config_text(dir: &Path, extra: &str) -> String {
    let has_http = extra
        .lines()
        .any(|l| l.trim_start().starts_with("listener.http."));
    let http = if has_http {
        ""
    } else {
        "listener.http.default = 127.0.0.1:0\n"
    };
    let has_mqtt = extra
        .lines()
        .any(|l| l.trim_start().starts_with("listener.tcp."));
    let mqtt = if has_mqtt {
        ""
    } else {
        "listener.tcp.default = 127.0.0.1:0\n"
    };
    let has_cluster = extra
        .lines()
        .any(|l| l.trim_start().starts_with("listener.vmq.clustering"));
    let cluster = if has_cluster {
        ""
    } else {
        "listener.vmq.clustering = 127.0.0.1:0\n"
    };
    format!(
        "platform_data_dir = {}\n{http}{mqtt}{cluster}{extra}\n",
        dir.join("data").display()
    )
}

/// One request over a fresh HTTP/1.1 connection to `addr`.
pub async fn http1_request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Reply {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body)).expect("request");
    Reply::read(sender.send_request(request).await.expect("response")).await
}

/// Polls `condition` until it holds or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if condition().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The exact body of an alert holding `texts` (keys sorted, as the node writes them).
pub fn alert_body(texts: &[&str]) -> String {
    let items: Vec<serde_json::Value> = texts
        .iter()
        .map(|text| serde_json::json!({ "text": text, "type": "text" }))
        .collect();
    serde_json::json!({ "alert": items, "type": "alert" }).to_string()
}

/// Asserts the status, `content-type: application/json` and the exact alert body.
pub fn assert_alert(reply: &Reply, status: u16, texts: &[&str]) {
    assert_eq!(reply.status.as_u16(), status, "status of {reply:?}");
    assert_json_content_type(reply);
    assert_eq!(reply.body, alert_body(texts), "body of {reply:?}");
}

/// Asserts `content-type: application/json`.
pub fn assert_json_content_type(reply: &Reply) {
    assert_eq!(
        reply.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..]),
        "content-type of {reply:?}"
    );
}

/// Asserts the 401 of contract §4: the Basic challenge and the JSON alert.
pub fn assert_unauthorized(reply: &Reply) {
    assert_alert(reply, 401, &["missing, unknown or expired API key"]);
    assert_eq!(
        reply.headers.get("www-authenticate").map(|v| v.as_bytes()),
        Some(&br#"Basic realm="VerneMQ""#[..]),
        "challenge of {reply:?}"
    );
}

/// `now + seconds` as an `expires` value in UTC: `YYYY-MM-DDTHH:MM:SSZ` (whole seconds, truncated).
pub fn utc_in(seconds: i64) -> (String, chrono::DateTime<chrono::Utc>) {
    let at = chrono::Utc::now() + chrono::TimeDelta::seconds(seconds);
    let text = at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let truncated = chrono::DateTime::parse_from_rfc3339(&text.replace('Z', "+00:00"))
        .expect("a formatted date parses back")
        .with_timezone(&chrono::Utc);
    (text, truncated)
}

impl TestNode {
    /// GET with `key` in the `x-api-key` header.
    pub async fn get_with_key(&self, path: &str, key: &str) -> Reply {
        self.request(Method::GET, path, &[("x-api-key", key)], Bytes::new())
            .await
    }

    /// The first listener of `scheme`.
    pub fn addr_of(&self, scheme: HttpScheme) -> SocketAddr {
        listener_addr(self.running(), scheme)
    }
}

/// The address of `running`'s first HTTP listener of `scheme`.
pub fn listener_addr(running: &RunningNode, scheme: HttpScheme) -> SocketAddr {
    running
        .http_addrs()
        .iter()
        .find(|(s, _, _)| *s == scheme)
        .map(|(_, _, addr)| *addr)
        .unwrap_or_else(|| panic!("no {scheme:?} listener"))
}

/// `cluster show` on a running single node, byte for byte.
pub const CLUSTER_SHOW: &str =
    r#"{"table":[{"Node":"VerneMQ@127.0.0.1","Running":true}],"type":"table"}"#;

/// The answer of every successful state change.
pub const DONE: &str = r#"{"text":"Done","type":"text"}"#;

/// Asserts a 200 JSON answer with exactly `body`.
pub fn assert_ok(reply: &Reply, body: &str) {
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    assert_json_content_type(reply);
    assert_eq!(reply.body, body, "{reply:?}");
}

impl TestNode {
    /// POST with this node's mgmt key, `body` sent with `content_type`.
    pub async fn post(&self, path: &str, content_type: &str, body: &str) -> Reply {
        self.post_bytes(path, content_type, Bytes::from(body.to_owned()))
            .await
    }

    /// POST with this node's mgmt key, any `body` bytes sent with `content_type`.
    pub async fn post_bytes(&self, path: &str, content_type: &str, body: Bytes) -> Reply {
        let auth = basic(&self.key);
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", content_type),
        ];
        self.request(Method::POST, path, &headers, body).await
    }
}

/// The texts of an alert, one per line (no check of `type`).
pub fn alert_lines(json: &serde_json::Value) -> String {
    json["alert"]
        .as_array()
        .expect("an alert array")
        .iter()
        .map(|e| e["text"].as_str().expect("alert text").to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The texts of the alert `body` must hold (`"type":"alert"` checked), one per line.
pub fn alert_text(body: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    assert_eq!(json["type"], "alert", "{body}");
    alert_lines(&json)
}
