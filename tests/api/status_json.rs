//! `/status.json` and `/status` over real HTTP, no browser: VerneMQ's shape, agreement with
//! `node status` and `session show`, methods, auth modes, and the page's headers.

use std::time::Duration;

use bytes::Bytes;
use hyper::Method;
use serde_json::{json, Value};

use crate::mqtt_support::{connect_v4, disconnect, mqtt_addr, persistent, subscribe_v4};
use crate::support::{
    assert_alert, assert_json_content_type, assert_unauthorized, eventually, Reply, TestNode,
};

/// The single node's name in every test node.
pub const NODE: &str = "VerneMQ@127.0.0.1";
/// The `node status` rows, which `/status.json` carries too.
pub const ROWS: [&str; 13] = [
    "num_online",
    "num_offline",
    "msg_in",
    "msg_out",
    "queue_in",
    "queue_out",
    "queue_drop",
    "queue_unhandled",
    "num_subscriptions",
    "num_retained",
    "matches_local",
    "matches_remote",
    "version",
];

/// `/status.json` (no key), checked to be a 200 JSON answer; answers this node's object.
pub async fn status_json(node: &TestNode) -> Value {
    let reply = node.get_anonymous("/status.json").await;
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    assert_json_content_type(&reply);
    reply.json()[0][NODE].clone()
}

/// The rows of a command's table.
async fn table_rows(node: &TestNode, path: &str) -> Vec<Value> {
    let reply = node.get(path).await;
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    reply.json()["table"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `node status` as `{name: value}`.
async fn node_status(node: &TestNode) -> Value {
    let rows = table_rows(node, "/api/v1/node/status").await;
    rows.iter()
        .map(|row| {
            let name = row["Status"].as_str().unwrap_or_default().to_owned();
            (name, row["Value"].clone())
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// (online, offline) sessions as `session show` lists them.
async fn session_counts(node: &TestNode) -> (u64, u64) {
    let rows = table_rows(node, "/api/v1/session/show?--client_id&--is_online").await;
    let online = rows.iter().filter(|r| r["is_online"] == true).count();
    let count = |n: usize| u64::try_from(n).expect("a small count");
    (count(online), count(rows.len() - online))
}

/// Whether `/status.json`, `node status` and `session show` all say `online`/`offline`.
async fn all_agree(node: &TestNode, online: u64, offline: u64) -> bool {
    let status = status_json(node).await;
    let table = node_status(node).await;
    let same_rows = ROWS.iter().all(|row| status[row] == table[row]);
    same_rows
        && status["num_online"] == online
        && status["num_offline"] == offline
        && session_counts(node).await == (online, offline)
}

/// `listener show` in `/status.json`'s listener shape (the port a number).
async fn listener_show(node: &TestNode) -> Vec<Value> {
    let rows = table_rows(node, "/api/v1/listener/show").await;
    rows.iter()
        .map(|row| {
            let port: u16 = row["port"]
                .as_str()
                .and_then(|p| p.parse().ok())
                .expect("a port");
            json!({"type": row["type"], "status": row["status"], "ip": row["address"],
                   "port": port, "mountpoint": row["mountpoint"], "max_conns": row["max_conns"]})
        })
        .collect()
}

fn assert_header(reply: &Reply, name: &str, value: &str) {
    assert_eq!(
        reply.headers.get(name).and_then(|v| v.to_str().ok()),
        Some(value),
        "{name} of {reply:?}"
    );
}

#[tokio::test]
async fn status_json_is_one_object_keyed_by_the_node_with_figures_members_and_listeners() {
    let node = TestNode::start().await;
    let reply = node.get_anonymous("/status.json").await;
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    assert_json_content_type(&reply);
    assert_header(&reply, "cache-control", "no-store");
    let body = reply.json();
    let nodes = body.as_array().expect("an array");
    assert_eq!(nodes.len(), 1, "{body}");
    let keys: Vec<&String> = nodes[0].as_object().expect("an object").keys().collect();
    assert_eq!(keys, [NODE], "{body}");
    let status = &nodes[0][NODE];
    let mut want: Vec<&str> = ROWS.to_vec();
    want.extend(["mystatus", "listeners"]);
    want.sort_unstable();
    let got: Vec<&str> = status
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(got, want, "{status}");
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(status["mystatus"], json!([{ NODE: true }]));
    let listeners = status["listeners"].as_array().expect("listeners");
    let ports: Vec<&Value> = listeners.iter().map(|l| &l["port"]).collect();
    let want_ports = [mqtt_addr(&node).port(), node.addr.port()];
    assert_eq!(ports.len(), 2, "{status}");
    assert!(
        want_ports.iter().all(|p| ports.contains(&&json!(p))),
        "{status}"
    );
    assert_eq!(
        listeners,
        &listener_show(&node).await,
        "as listener show lists them"
    );
    let head = node
        .request(Method::HEAD, "/status.json", &[], Bytes::new())
        .await;
    assert_eq!(head.status.as_u16(), 200, "{head:?}");
    assert_eq!(head.body, "");
    assert_json_content_type(&head);
    node.stop().await;
}

#[tokio::test]
async fn status_json_agrees_with_node_status_and_session_show_as_clients_come_and_go() {
    let node = TestNode::start().await;
    let settle = Duration::from_secs(5);
    assert!(eventually(settle, || all_agree(&node, 0, 0)).await);

    let (gone, _) = persistent(&node, "gone").await;
    disconnect(gone).await;
    let mut one = connect_v4(&node, "one").await;
    subscribe_v4(&mut one, &["a/#", "b"]).await;
    let two = connect_v4(&node, "two").await;
    assert!(
        eventually(settle, || all_agree(&node, 2, 1)).await,
        "after connecting: {} vs {}",
        status_json(&node).await,
        node_status(&node).await
    );
    assert_eq!(status_json(&node).await["num_subscriptions"], 2);

    disconnect(two).await;
    assert!(
        eventually(settle, || all_agree(&node, 1, 1)).await,
        "after a disconnect: {}",
        status_json(&node).await
    );
    drop(one);
    node.stop().await;
}

#[tokio::test]
async fn other_methods_on_the_status_paths_are_405() {
    let node = TestNode::start().await;
    for path in ["/status.json", "/status"] {
        for method in [Method::POST, Method::PUT, Method::DELETE] {
            let reply = node.request(method.clone(), path, &[], Bytes::new()).await;
            assert_alert(&reply, 405, &["method not allowed here: use GET, HEAD"]);
            assert_header(&reply, "allow", "GET, HEAD");
        }
    }
    node.stop().await;
}

#[tokio::test]
async fn with_apikey_auth_the_status_paths_need_a_status_key() {
    let node = TestNode::start_with("http_module.vmq_status_http.auth.mode = apikey").await;
    let status_key = node.create_key("status").await;
    for path in ["/status.json", "/status"] {
        assert_unauthorized(&node.get_anonymous(path).await);
        // A mgmt key is the wrong scope.
        assert_unauthorized(&node.get(path).await);
        let reply = node.get_with_basic(path, &status_key).await;
        assert_eq!(reply.status.as_u16(), 200, "{path}: {reply:?}");
        let reply = node.get_with_key(path, &status_key).await;
        assert_eq!(reply.status.as_u16(), 200, "{path}: {reply:?}");
    }
    // Other modules keep their own modes.
    assert_eq!(node.get_anonymous("/health").await.status.as_u16(), 200);
    node.stop().await;
}

#[tokio::test]
async fn status_serves_the_self_contained_page_with_a_strict_csp() {
    let node = TestNode::start().await;
    let reply = node.get_anonymous("/status").await;
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    assert_header(&reply, "content-type", "text/html; charset=utf-8");
    assert_header(&reply, "cache-control", "no-store");
    let csp = reply
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .expect("a CSP");
    for part in [
        "default-src 'none'",
        "script-src 'unsafe-inline'",
        "style-src 'unsafe-inline'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    assert!(reply.body.starts_with("<!doctype html>"), "{}", reply.body);
    assert!(reply.body.contains(r#"fetch("status.json""#));
    node.stop().await;
}
