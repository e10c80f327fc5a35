//! In-process router tests, no client socket: `http::routes::route` called directly, covering the auth modes (global and per listener).

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request};
use vmq_node::config::Config;
use vmq_node::http::routes::{route, HttpContext};
use vmq_node::node::{self, RunningNode};

use crate::support::{assert_ok, assert_unauthorized, basic, Reply, CLUSTER_SHOW};

const HEALTH_OK: &str = r#"{"status":"OK"}"#;

/// A started node and one router context per HTTP listener (in config order).
struct InProcess {
    running: RunningNode,
    contexts: Vec<HttpContext>,
    _dir: tempfile::TempDir,
}

impl InProcess {
    /// A node whose config is `listeners` (the `listener.http.*` lines) plus `extra`.
    async fn start(listeners: &str, extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let text = format!(
            "platform_data_dir = {}\nlistener.tcp.default = 127.0.0.1:0\nlistener.vmq.clustering = 127.0.0.1:0\n{listeners}\n{extra}\n",
            dir.path().join("data").display()
        );
        let config = Config::from_text(&text, "router test", &[]).expect("valid config");
        let running = node::start(config.clone(), &[]).await.expect("node starts");
        let contexts = config
            .http_listeners()
            .iter()
            .map(|listener| HttpContext {
                node: running.node().clone(),
                listener: Arc::new(listener.clone()),
            })
            .collect();
        Self {
            running,
            contexts,
            _dir: dir,
        }
    }

    /// One listener, `default`.
    async fn single(extra: &str) -> Self {
        Self::start("listener.http.default = 127.0.0.1:0", extra).await
    }

    async fn key(&self, scope: &str) -> String {
        let scope = scope.parse().expect("scope");
        let vault = &self.running.node().vault;
        let key = vault
            .create(scope, None, Default::default())
            .await
            .expect("key created");
        key.expose().to_owned()
    }

    fn context(&self, name: &str) -> &HttpContext {
        self.contexts
            .iter()
            .find(|c| c.listener.name == name)
            .expect("a listener of that name")
    }

    /// GET `path` through the listener `default`, with `key` as Basic user name if given.
    async fn get(&self, path: &str, key: Option<&str>) -> Reply {
        call(self.context("default"), Method::GET, path, key).await
    }

    async fn stop(self) {
        self.running.stop().await;
    }
}

/// Runs one request through the router.
async fn call(ctx: &HttpContext, method: Method, path: &str, key: Option<&str>) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(key) = key {
        request = request.header("authorization", basic(key));
    }
    let request = request.body(Full::new(Bytes::new())).expect("request");
    Reply::read(route(request, ctx).await).await
}

#[tokio::test]
async fn the_mgmt_api_needs_a_mgmt_key_by_default() {
    let node = InProcess::single("").await;
    assert_unauthorized(&node.get("/api/v1/cluster/show", None).await);
    let health = node.key("health").await;
    assert_unauthorized(&node.get("/api/v1/cluster/show", Some(&health)).await);
    let mgmt = node.key("mgmt").await;
    assert_ok(
        &node.get("/api/v1/cluster/show", Some(&mgmt)).await,
        CLUSTER_SHOW,
    );
    // Health is open by default.
    assert_ok(&node.get("/health", None).await, HEALTH_OK);
    node.stop().await;
}

#[tokio::test]
async fn noauth_opens_the_mgmt_api_without_a_key() {
    let node = InProcess::single("http_module.vmq_http_mgmt_api.auth.mode = noauth").await;
    assert_ok(&node.get("/api/v1/cluster/show", None).await, CLUSTER_SHOW);
    // Auth off does not mean parsing off.
    let reply = node.get("/api/v1/nope", None).await;
    assert_eq!(reply.status.as_u16(), 400, "{reply:?}");
    assert_eq!(reply.json()["alert"][0]["text"], "Unknown command");
    node.stop().await;
}

#[tokio::test]
async fn a_listener_override_makes_health_need_a_health_key() {
    let extra = "listener.http.default.http_module.vmq_health_http.auth.mode = apikey";
    let node = InProcess::single(extra).await;
    for path in [
        "/health",
        "/health/ping",
        "/health/listeners",
        "/health/listeners_full_cluster",
    ] {
        assert_unauthorized(&node.get(path, None).await);
    }
    let mgmt = node.key("mgmt").await;
    assert_unauthorized(&node.get("/health", Some(&mgmt)).await);
    let health = node.key("health").await;
    assert_ok(&node.get("/health", Some(&health)).await, HEALTH_OK);
    assert_ok(&node.get("/health/ping", Some(&health)).await, HEALTH_OK);
    // The mgmt API keeps its own mode and scope.
    assert_unauthorized(&node.get("/api/v1/cluster/show", Some(&health)).await);
    assert_ok(
        &node.get("/api/v1/cluster/show", Some(&mgmt)).await,
        CLUSTER_SHOW,
    );
    node.stop().await;
}

#[tokio::test]
async fn a_listener_override_applies_to_that_listener_only() {
    let listeners = "listener.http.default = 127.0.0.1:0\nlistener.http.other = 127.0.0.1:0";
    let extra = "listener.http.default.http_module.vmq_health_http.auth.mode = apikey\n\
                 listener.http.other.http_module.vmq_http_mgmt_api.auth.mode = noauth";
    let node = InProcess::start(listeners, extra).await;
    let (default, other) = (node.context("default"), node.context("other"));
    assert_unauthorized(&call(default, Method::GET, "/health", None).await);
    assert_ok(&call(other, Method::GET, "/health", None).await, HEALTH_OK);
    assert_unauthorized(&call(default, Method::GET, "/api/v1/cluster/show", None).await);
    assert_ok(
        &call(other, Method::GET, "/api/v1/cluster/show", None).await,
        CLUSTER_SHOW,
    );
    node.stop().await;
}

#[tokio::test]
async fn a_listener_override_wins_over_the_global_mode() {
    let extra = "http_module.vmq_health_http.auth.mode = apikey\n\
                 http_module.vmq_http_mgmt_api.auth.mode = noauth\n\
                 listener.http.default.http_module.vmq_health_http.auth.mode = noauth\n\
                 listener.http.default.http_module.vmq_http_mgmt_api.auth.mode = apikey";
    let node = InProcess::single(extra).await;
    assert_ok(&node.get("/health", None).await, HEALTH_OK);
    assert_unauthorized(&node.get("/api/v1/cluster/show", None).await);
    node.stop().await;
}

#[tokio::test]
async fn the_global_mode_applies_without_an_override() {
    let node = InProcess::single("http_module.vmq_health_http.auth.mode = apikey").await;
    assert_unauthorized(&node.get("/health", None).await);
    let health = node.key("health").await;
    assert_ok(&node.get("/health", Some(&health)).await, HEALTH_OK);
    node.stop().await;
}

#[tokio::test]
async fn methods_are_checked_before_auth_in_process() {
    let node = InProcess::single("").await;
    let ctx = node.context("default");
    let put = call(ctx, Method::PUT, "/api/v1/cluster/show", None).await;
    assert_eq!(put.status.as_u16(), 405, "{put:?}");
    let options = call(ctx, Method::OPTIONS, "/api/v1/cluster/show", None).await;
    assert_eq!(options.status.as_u16(), 204, "{options:?}");
    let post = call(ctx, Method::POST, "/health", None).await;
    assert_eq!(post.status.as_u16(), 405, "{post:?}");
    assert_eq!(
        post.headers.get("allow").map(|v| v.as_bytes()),
        Some(&b"GET, HEAD"[..])
    );
    node.stop().await;
}
