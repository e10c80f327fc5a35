//! `/api/v2/client` and `/api/v2/disconnect` against real MQTT clients, with `api2` keys.

use hyper::Method;
use rumqttc::QoS;

use crate::mqtt_support::{connect_v4, disconnect, persistent, subscribe_at, wait_for};
use crate::sessions::table_until;
use crate::support::{
    assert_alert, assert_json_content_type, assert_unauthorized, basic, TestNode,
};

/// `GET path` with `key`: asserts 200 JSON and answers the body.
async fn get_ok(node: &TestNode, path: &str, key: &str) -> String {
    let reply = node.get_with_key(path, key).await;
    assert_eq!(reply.status, 200, "{path}: {reply:?}");
    assert_json_content_type(&reply);
    reply.body
}

#[tokio::test]
async fn client_tells_online_offline_or_unknown_and_the_subscriptions() {
    let node = TestNode::start().await;
    let key = node.create_key("api2").await;
    let mut subscriber = connect_v4(&node, "v2-sub").await;
    subscribe_at(&mut subscriber, "t/1", QoS::AtLeastOnce).await;
    subscribe_at(&mut subscriber, "t/2", QoS::AtMostOnce).await;
    let bare = connect_v4(&node, "v2-bare").await;
    let (offline, _) = persistent(&node, "v2-off").await;
    disconnect(offline).await;
    let online = r#"{"status":"online"}"#;
    let with_topics = r#"{"status":"online","topics":{"t/1":1,"t/2":0}}"#;
    let cases = [
        ("/api/v2/client?client_id=v2-sub", online),
        ("/api/v2/client?client_id=v2-sub&topics", with_topics),
        ("/api/v2/client?topics=true&client_id=v2-sub", with_topics),
        ("/api/v2/client?client_id=v2-sub&topics=false", online),
        ("/api/v2/client?client_id=v2-sub&mountpoint=", online),
        (
            "/api/v2/client?client_id=v2-bare&topics",
            r#"{"status":"online","topics":[]}"#,
        ),
        ("/api/v2/client?client_id=nobody", r#"{"status":"unknown"}"#),
        (
            "/api/v2/client?client_id=nobody&topics",
            r#"{"status":"unknown"}"#,
        ),
        (
            "/api/v2/client?client_id=v2-sub&mountpoint=mp",
            r#"{"status":"unknown"}"#,
        ),
    ];
    for (path, body) in cases {
        assert_eq!(get_ok(&node, path, &key).await, body, "{path}");
    }
    let offline = "/api/v2/client?client_id=v2-off";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while get_ok(&node, offline, &key).await != r#"{"status":"offline"}"# {
        assert!(std::time::Instant::now() < deadline, "v2-off never offline");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop((subscriber, bare));
    node.stop().await;
}

#[tokio::test]
async fn disconnect_closes_the_client_and_cleanup_deletes_its_session() {
    let node = TestNode::start().await;
    let key = node.create_key("api2").await;
    let mut client = connect_v4(&node, "v2-d").await;
    let (mut kept, _) = persistent(&node, "v2-keep").await;
    let path = "/api/v2/disconnect?client_id=v2-d";
    assert_eq!(get_ok(&node, path, &key).await, r#""ok""#);
    wait_for(&mut client.events, "closed", Result::is_err).await;
    let unknown = r#""unknown""#;
    assert_eq!(
        get_ok(&node, path, &key).await,
        unknown,
        "a clean session ends"
    );
    let keep = "/api/v2/disconnect?client_id=v2-keep";
    assert_eq!(get_ok(&node, keep, &key).await, r#""ok""#);
    wait_for(&mut kept.events, "closed", Result::is_err).await;
    let status = "/api/v2/client?client_id=v2-keep";
    assert_eq!(get_ok(&node, status, &key).await, r#"{"status":"offline"}"#);
    let cleanup = "/api/v2/disconnect?client_id=v2-keep&cleanup";
    assert_eq!(get_ok(&node, cleanup, &key).await, r#""ok""#);
    assert_eq!(get_ok(&node, status, &key).await, r#"{"status":"unknown"}"#);
    assert_eq!(get_ok(&node, cleanup, &key).await, unknown);
    table_until(
        &node,
        "/api/v1/session/show",
        "no sessions left",
        <[_]>::is_empty,
    )
    .await;
    node.stop().await;
}

#[tokio::test]
async fn v2_needs_an_api2_key_and_a_known_command() {
    let node = TestNode::start().await;
    let key = node.create_key("api2").await;
    let path = "/api/v2/client?client_id=x";
    assert_unauthorized(&node.get_anonymous(path).await);
    assert_unauthorized(&node.get_with_key(path, &node.key).await);
    assert_unauthorized(&node.get_with_basic(path, &node.key).await);
    assert_unauthorized(&node.get_with_key("/api/v1/session/show", &key).await);
    assert_eq!(node.get_with_basic(path, &key).await.status, 200);
    for unknown in ["/api/v2/foo", "/api/v2", "/api/v2/client/extra"] {
        let reply = node.get_with_key(unknown, &key).await;
        assert_eq!(reply.status, 400, "{unknown}: {reply:?}");
        assert_eq!(reply.body, "invalid_command");
    }
    let reply = node.get_with_key("/api/v2/client", &key).await;
    assert_alert(&reply, 400, &["missing parameter client_id=<value>"]);
    let reply = node
        .get_with_key("/api/v2/client?client_id=x&topics=maybe", &key)
        .await;
    assert_eq!(reply.status, 400, "{reply:?}");
    let auth = basic(&key);
    let post = node
        .request(
            Method::POST,
            path,
            &[("authorization", &auth)],
            bytes::Bytes::new(),
        )
        .await;
    assert_eq!(post.status, 405, "{post:?}");
    node.stop().await;
}
