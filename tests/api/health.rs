//! `/health*` over real HTTP: OK on a running node, DOWN (503) when the cluster says the node is not running, methods.

use std::time::Duration;

use bytes::Bytes;
use hyper::Method;

use crate::support::{assert_alert, assert_json_content_type, eventually, Reply, TestNode};

const OK: &str = r#"{"status":"OK"}"#;
const PATHS: [&str; 4] = [
    "/health",
    "/health/ping",
    "/health/listeners",
    "/health/listeners_full_cluster",
];

fn assert_health(reply: &Reply, status: u16, body: &serde_json::Value) {
    assert_eq!(reply.status.as_u16(), status, "{reply:?}");
    assert_json_content_type(reply);
    assert_eq!(&reply.json(), body, "{reply:?}");
}

fn down(reason: &str) -> serde_json::Value {
    serde_json::json!({ "status": "DOWN", "reasons": [reason] })
}

#[tokio::test]
async fn every_health_path_is_ok_on_a_running_node_without_a_key() {
    let node = TestNode::start().await;
    for path in PATHS {
        let reply = node.get_anonymous(path).await;
        assert_eq!(reply.status.as_u16(), 200, "{path}: {reply:?}");
        assert_json_content_type(&reply);
        assert_eq!(reply.body, OK, "{path}");
    }
    node.stop().await;
}

#[tokio::test]
async fn head_on_health_is_ok_without_a_body() {
    let node = TestNode::start().await;
    for path in PATHS {
        let reply = node.request(Method::HEAD, path, &[], Bytes::new()).await;
        assert_eq!(reply.status.as_u16(), 200, "{path}: {reply:?}");
        assert_eq!(reply.body, "", "{path}");
    }
    node.stop().await;
}

#[tokio::test]
async fn a_node_the_cluster_marks_not_running_is_down_but_still_pings() {
    let node = TestNode::start().await;
    let cluster = &node.running().node().cluster;
    cluster
        .set_local_running(false)
        .await
        .expect("the cluster actor answers");
    let down_seen = eventually(Duration::from_secs(5), || async {
        node.get_anonymous("/health").await.status == 503
    })
    .await;
    assert!(down_seen, "/health stayed up");
    assert_health(
        &node.get_anonymous("/health").await,
        503,
        &down("Unknown cluster status"),
    );
    assert_health(
        &node.get_anonymous("/health/listeners_full_cluster").await,
        503,
        &down("At least one node is offline"),
    );
    let ok = serde_json::json!({ "status": "OK" });
    assert_health(&node.get_anonymous("/health/ping").await, 200, &ok);
    assert_health(&node.get_anonymous("/health/listeners").await, 200, &ok);
    let cluster_show = node.get("/api/v1/cluster/show").await;
    assert_eq!(
        cluster_show.body,
        r#"{"table":[{"Node":"VerneMQ@127.0.0.1","Running":false}],"type":"table"}"#
    );

    cluster
        .set_local_running(true)
        .await
        .expect("the cluster actor answers");
    let up_again = eventually(Duration::from_secs(5), || async {
        node.get_anonymous("/health").await.status == 200
    })
    .await;
    assert!(up_again, "/health stayed down");
    assert_eq!(node.get_anonymous("/health").await.body, OK);
    node.stop().await;
}

#[tokio::test]
async fn other_methods_on_health_are_405() {
    let node = TestNode::start().await;
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        for path in PATHS {
            let reply = node.request(method.clone(), path, &[], Bytes::new()).await;
            assert_alert(&reply, 405, &["method not allowed here: use GET, HEAD"]);
            assert_eq!(
                reply.headers.get("allow").map(|v| v.as_bytes()),
                Some(&b"GET, HEAD"[..]),
                "{method} {path}"
            );
        }
    }
    node.stop().await;
}

#[tokio::test]
async fn health_paths_are_exact() {
    let node = TestNode::start().await;
    for path in ["/health/", "/health/nope", "/healthz", "/health/ping/x"] {
        let reply = node.get_anonymous(path).await;
        assert_alert(
            &reply,
            404,
            &["no such endpoint: see the README for the API"],
        );
    }
    node.stop().await;
}
