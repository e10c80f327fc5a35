//! Contract §6 over real HTTP: every row of the status table with its exact body and headers (plus §2 methods and aliases, §3 order, §4 key forms, §5 envelope).

use std::time::Duration;

use bytes::Bytes;
use hyper::Method;
use vmq_node::admin::{api_key, cluster, listener, TOP_USAGE};

use crate::support::{
    alert_body, assert_alert, assert_json_content_type, assert_ok, assert_unauthorized, basic,
    eventually, utc_in, TestNode, CLUSTER_SHOW, DONE,
};

const FORM: &str = "application/x-www-form-urlencoded";
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

#[tokio::test]
async fn head_has_the_status_of_get_and_no_body() {
    let node = TestNode::start().await;
    let auth = basic(&node.key);
    let with_key = [("authorization", auth.as_str())];
    let cases = [
        (SHOW, &with_key[..], 200),
        ("/api/v1/nope", &with_key[..], 400),
        (SHOW, &[][..], 401),
        ("/nope", &[][..], 404),
    ];
    for (path, headers, status) in cases {
        let reply = node
            .request(Method::HEAD, path, headers, Bytes::new())
            .await;
        assert_eq!(reply.status.as_u16(), status, "HEAD {path}");
        assert_json_content_type(&reply);
        assert_eq!(reply.body, "", "HEAD {path}");
    }
    node.stop().await;
}

#[tokio::test]
async fn post_takes_params_from_a_form_body() {
    let node = TestNode::start().await;
    let body = "scope=status&key=posted-key-0123456789";
    assert_ok(&node.post("/api/v1/api-key/add", FORM, body).await, DONE);
    let again = node.post("/api/v1/api-key/add", FORM, body).await;
    assert_alert(&again, 409, &["this key already exists in scope status"]);
    // Params may be split between the query and the body.
    let split = "/api/v1/api-key/delete?scope=status";
    let deleted = node.post(split, FORM, "key=posted-key-0123456789").await;
    assert_ok(&deleted, DONE);
    let gone = node.post("/api/v1/api-key/delete", FORM, body).await;
    assert_alert(&gone, 404, &["no such key in scope status"]);
    assert_ok(&node.post(SHOW, FORM, "").await, CLUSTER_SHOW);
    node.stop().await;
}

#[tokio::test]
async fn a_form_content_type_with_parameters_is_still_a_form() {
    // Browsers and most HTTP libraries send the charset parameter; the media type is the same.
    let node = TestNode::start().await;
    let body = "key=charset-form-key-0123&scope=status";
    for content_type in [
        "application/x-www-form-urlencoded; charset=UTF-8",
        "Application/X-WWW-Form-Urlencoded",
    ] {
        let reply = node.post("/api/v1/api-key/add", content_type, body).await;
        assert_ok(&reply, DONE);
        let path = "/api/v1/api-key/delete?key=charset-form-key-0123&scope=status";
        assert_ok(&node.get(path).await, DONE);
    }
    node.stop().await;
}

#[tokio::test]
async fn options_answers_the_cors_preflight_without_credentials() {
    let node = TestNode::start().await;
    let reply = node.request(Method::OPTIONS, SHOW, &[], Bytes::new()).await;
    assert_eq!(reply.status.as_u16(), 204, "{reply:?}");
    assert_eq!(reply.body, "");
    let header = |name: &str| reply.headers.get(name).map(|v| v.as_bytes().to_vec());
    let cases = [
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", "GET, HEAD, POST, OPTIONS"),
        (
            "access-control-allow-headers",
            "content-type, authorization, x-api-key",
        ),
        ("access-control-max-age", "1728000"),
    ];
    for (name, value) in cases {
        assert_eq!(header(name).as_deref(), Some(value.as_bytes()), "{name}");
    }
    node.stop().await;
}

#[tokio::test]
async fn aliases_run_the_same_commands() {
    let node = TestNode::start().await;
    assert_ok(&node.get("/api/v1/cluster").await, CLUSTER_SHOW);
    let listeners = node.get("/api/v1/listeners").await;
    assert_eq!(listeners.status.as_u16(), 200, "{listeners:?}");
    let rows = listeners.json()["table"].clone();
    // The MQTT listener first, then the HTTP one.
    assert_eq!(rows.as_array().map(Vec::len), Some(2), "{rows}");
    assert_eq!(rows[0]["type"], "mqtt");
    let row = &rows[1];
    assert_eq!(row["type"], "http");
    assert_eq!(row["address"], "127.0.0.1");
    assert_eq!(row["port"], node.addr.port().to_string());
    assert_eq!(row["status"], "running");
    let tls = node.get("/api/v1/listeners?--tls").await.json();
    assert_eq!(tls["table"][1]["certfile"], "", "{tls}");
    node.stop().await;
}

#[tokio::test]
async fn every_way_of_presenting_the_key_works() {
    use base64::Engine as _;
    let node = TestNode::start().await;
    let encode = |text: String| base64::engine::general_purpose::STANDARD.encode(text);
    let k = &node.key;
    let cases = [
        ("authorization", basic(k)),
        (
            "authorization",
            format!("Basic {}", encode(format!("{k}:pw"))),
        ),
        ("authorization", format!("Basic {}", encode(k.clone()))),
        (
            "authorization",
            format!("basic {}", encode(format!("{k}:"))),
        ),
        ("x-api-key", k.clone()),
    ];
    for (name, value) in &cases {
        let headers = [(*name, value.as_str())];
        let reply = node
            .request(Method::GET, SHOW, &headers, Bytes::new())
            .await;
        assert_ok(&reply, CLUSTER_SHOW);
    }
    node.stop().await;
}

#[tokio::test]
async fn params_come_in_any_order_and_values_may_hold_equals_signs() {
    let node = TestNode::start().await;
    let key = "abcdefghijklmnopqrstuvwxyz";
    let add = format!("/api/v1/api-key/add?scope=api2&key={key}");
    assert_ok(&node.get(&add).await, DONE);
    let reordered = format!("/api/v1/api-key/add?key={key}&scope=api2");
    let again = node.get(&reordered).await;
    assert_alert(&again, 409, &["this key already exists in scope api2"]);
    let (expires, _) = utc_in(3600);
    let create = format!("/api/v1/api-key/create?expires={expires}&scope=status");
    assert_eq!(node.get(&create).await.status.as_u16(), 200);
    let delete = format!("/api/v1/api-key/delete?scope=api2&key={key}");
    assert_ok(&node.get(&delete).await, DONE);
    // Everything after the first `=` is the value: a base64-looking key keeps its padding.
    let padded = "c2VjcmV0LWtleQ==";
    assert_ok(
        &node.get(&format!("/api/v1/api-key/add?key={padded}")).await,
        DONE,
    );
    assert_ok(&node.get_with_key(SHOW, padded).await, CLUSTER_SHOW);
    node.stop().await;
}

#[tokio::test]
async fn one_element_is_one_object_and_every_answer_is_json() {
    let node = TestNode::start().await;
    let paths = [
        "/api/v1/cluster/show",
        "/api/v1/listener/show",
        "/api/v1/node/status",
        "/api/v1/plugin/show",
        "/api/v1/api-key/show",
        "/api/v1/api-key/create",
        "/api/v1/show/min_apikey_length",
        "/api/v1/describe/min_apikey_length",
        "/api/v1/api-key?--help",
        "/api/v1/nope",
        "/nope",
    ];
    for path in paths {
        let reply = node.get(path).await;
        assert_json_content_type(&reply);
        let body = &reply.body;
        assert!(
            body.starts_with('{') && body.ends_with('}'),
            "{path}: {body}"
        );
        let json = reply.json();
        let kind = json["type"].as_str().expect("a type");
        assert!(["table", "text", "alert"].contains(&kind), "{path}: {kind}");
        assert!(json.get(kind).is_some(), "{path}: no {kind} key");
        assert_eq!(json.as_object().map(|o| o.len()), Some(2), "{path}: {body}");
    }
    let one = r#"{"alert":[{"text":"x","type":"text"}],"type":"alert"}"#;
    assert_eq!(alert_body(&["x"]), one, "the helper itself");
    node.stop().await;
}
