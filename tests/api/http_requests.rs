//! Contract §2–§5 over real HTTP: methods (HEAD, POST forms, the OPTIONS preflight), aliases, parameter order, key forms and the JSON envelope.

use bytes::Bytes;
use hyper::Method;

use crate::support::{
    alert_body, assert_alert, assert_json_content_type, assert_ok, basic, utc_in, TestNode,
    CLUSTER_SHOW, DONE,
};

const FORM: &str = "application/x-www-form-urlencoded";
const SHOW: &str = "/api/v1/cluster/show";

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
