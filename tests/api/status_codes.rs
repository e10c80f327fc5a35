//! Contract §6 over real HTTP: every row of the status table with its exact body and headers.

use std::time::Duration;

use bytes::Bytes;
use hyper::Method;
use vmq_node::admin::{api_key, cluster, listener, TOP_USAGE};

use crate::support::{
    assert_alert, assert_ok, assert_unauthorized, basic, eventually, utc_in, TestNode,
    CLUSTER_SHOW, DONE,
};

const SHOW: &str = "/api/v1/cluster/show";

#[tokio::test]
async fn ok_200_and_help_200() {
    let node = TestNode::start().await;
    assert_ok(&node.get(SHOW).await, CLUSTER_SHOW);
    let cases = [
        ("/api/v1/api-key/add?--help", api_key::ADD_USAGE),
        ("/api/v1/api-key/delete?key=x&--help", api_key::DELETE_USAGE),
        ("/api/v1/cluster/show?--help", cluster::SHOW_USAGE),
        ("/api/v1/api-key?--help", api_key::GROUP_USAGE),
        ("/api/v1?--help", TOP_USAGE),
    ];
    for (path, usage) in cases {
        assert!(usage.starts_with("Usage: vmq-admin"), "{usage}");
        let body = serde_json::json!({ "text": usage, "type": "text" }).to_string();
        assert_ok(&node.get(path).await, &body);
    }
    node.stop().await;
}

#[tokio::test]
async fn unknown_or_partial_command_is_400_with_the_group_usage() {
    let node = TestNode::start().await;
    let cases = [
        ("/api/v1/nope", TOP_USAGE),
        ("/api/v1/", TOP_USAGE),
        ("/api/v1", TOP_USAGE),
        ("/api/v1/api-key", api_key::GROUP_USAGE),
        ("/api/v1/api-key/nope", api_key::GROUP_USAGE),
        ("/api/v1/cluster/show/extra", cluster::GROUP_USAGE),
    ];
    for (path, usage) in cases {
        assert_alert(&node.get(path).await, 400, &["Unknown command", usage]);
    }
    node.stop().await;
}

#[tokio::test]
async fn bad_arguments_are_400_naming_the_problem_then_the_usage() {
    let node = TestNode::start().await;
    let (add, create) = (api_key::ADD_USAGE, api_key::CREATE_USAGE);
    let cases = [
        ("cluster/show?bogus=1", "unknown parameter 'bogus'", cluster::SHOW_USAGE),
        ("listener/show?--bogus", "unknown flag '--bogus'", listener::SHOW_USAGE),
        ("api-key/add?key=", "empty value in argument 'key=': write key=<value>", add),
        ("api-key/add?key", "argument 'key' has no value: write key=<value>, or --key for a flag", add),
        ("api-key/delete", "missing parameter key=<value>", api_key::DELETE_USAGE),
        ("api-key/create?scope=bogus", "unknown scope 'bogus': use one of status, mgmt, metrics, health, api2, httppub", create),
        ("api-key/create?expires=tomorrow", "invalid expires 'tomorrow': write YYYY-MM-DDTHH:MM:SS (local time) or YYYY-MM-DDTHH:MM:SSZ (UTC)", create),
        ("api-key/create?expires=2000-01-01T00:00:00Z", "the expiry date must be in the future", create),
    ];
    for (path, problem, usage) in cases {
        let reply = node.get(&format!("/api/v1/{path}")).await;
        assert_alert(&reply, 400, &[problem, usage]);
    }
    node.stop().await;
}

#[tokio::test]
async fn missing_unknown_wrong_scheme_or_wrong_scope_keys_are_401() {
    let node = TestNode::start().await;
    let wrong = basic("not-a-key-of-this-node");
    let bearer = format!("Bearer {}", node.key);
    let cases: [&[(&str, &str)]; 5] = [
        &[],
        &[("authorization", &wrong)],
        &[("x-api-key", "not-a-key-of-this-node")],
        &[("authorization", &bearer)],
        &[("authorization", "Basic !!!not-base64")],
    ];
    for headers in cases {
        let reply = node.request(Method::GET, SHOW, headers, Bytes::new()).await;
        assert_unauthorized(&reply);
    }
    for scope in ["metrics", "status", "health", "api2"] {
        let key = node.create_key(scope).await;
        assert_unauthorized(&node.get_with_key(SHOW, &key).await);
    }
    node.stop().await;
}

#[tokio::test]
async fn an_expired_key_becomes_401() {
    let node = TestNode::start().await;
    let key = "expiring-key-0123456789";
    let (expires, at) = utc_in(3);
    let add = format!("/api/v1/api-key/add?key={key}&expires={expires}");
    assert_ok(&node.get(&add).await, DONE);
    let early = node.get_with_key(SHOW, key).await;
    // Only meaningful while the key is surely still valid; a slow machine skips this check.
    if chrono::Utc::now() + chrono::TimeDelta::milliseconds(500) < at {
        assert_ok(&early, CLUSTER_SHOW);
    }
    let expired = eventually(Duration::from_secs(10), || async {
        node.get_with_key(SHOW, key).await.status == 401
    })
    .await;
    assert!(expired, "the key still works after {expires}");
    assert_unauthorized(&node.get_with_key(SHOW, key).await);
    node.stop().await;
}

#[tokio::test]
async fn authentication_comes_before_parsing() {
    let node = TestNode::start().await;
    let paths = [
        "/api/v1/nope",
        "/api/v1/",
        "/api/v1/api-key/add?key=",
        "/api/v1/api-key/delete",
    ];
    for path in paths {
        assert_unauthorized(&node.get_anonymous(path).await);
    }
    node.stop().await;
}

#[tokio::test]
async fn unknown_paths_outside_the_api_are_404() {
    let node = TestNode::start().await;
    for path in ["/nope", "/", "/api", "/api/v1x", "/api/v1nope/cluster/show"] {
        let reply = node.get(path).await;
        assert_alert(
            &reply,
            404,
            &["no such endpoint: see the README for the API"],
        );
    }
    node.stop().await;
}

#[tokio::test]
async fn deleting_an_unknown_key_is_404() {
    let node = TestNode::start().await;
    let reply = node
        .get("/api/v1/api-key/delete?key=never-added-key-123")
        .await;
    assert_alert(&reply, 404, &["no such key in scope mgmt"]);
    let other_scope = format!("/api/v1/api-key/delete?key={}&scope=status", node.key);
    assert_alert(
        &node.get(&other_scope).await,
        404,
        &["no such key in scope status"],
    );
    node.stop().await;
}

#[tokio::test]
async fn other_methods_on_the_api_are_405_with_allow() {
    let node = TestNode::start().await;
    let auth = basic(&node.key);
    let headers = [("authorization", auth.as_str())];
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        for path in [SHOW, "/api/v1"] {
            let reply = node
                .request(method.clone(), path, &headers, Bytes::new())
                .await;
            let allow = "GET, HEAD, POST, OPTIONS";
            assert_alert(
                &reply,
                405,
                &[&format!("method not allowed here: use {allow}")],
            );
            let allowed = reply.headers.get("allow").map(|v| v.as_bytes());
            assert_eq!(allowed, Some(allow.as_bytes()), "{method} {path}");
        }
    }
    node.stop().await;
}

#[tokio::test]
async fn adding_a_key_twice_in_a_scope_is_409() {
    let node = TestNode::start().await;
    let path = "/api/v1/api-key/add?key=twice-added-key-0123";
    assert_ok(&node.get(path).await, DONE);
    let again = node.get(path).await;
    assert_alert(&again, 409, &["this key already exists in scope mgmt"]);
    let status = format!("{path}&scope=status");
    assert_ok(&node.get(&status).await, DONE);
    let again = node.get(&status).await;
    assert_alert(&again, 409, &["this key already exists in scope status"]);
    node.stop().await;
}

#[tokio::test]
async fn a_vault_whose_metadata_cannot_write_is_503_and_still_authenticates() {
    let node = TestNode::start().await;
    // The keys live in the replicated metadata; with it stopped no change can be committed.
    node.running().node().meta.shutdown().await;
    for path in [
        "/api/v1/api-key/create".to_owned(),
        format!("/api/v1/api-key/delete?key={}", node.key),
    ] {
        let reply = node.get(&path).await;
        assert_alert(
            &reply,
            503,
            &["cluster metadata has stopped; restart the node"],
        );
    }
    let shown = node.get("/api/v1/api-key/show").await.json();
    assert_eq!(shown["table"].as_array().map(Vec::len), Some(1), "{shown}");
    assert_ok(&node.get_with_key(SHOW, &node.key).await, CLUSTER_SHOW);
    node.stop().await;
}
