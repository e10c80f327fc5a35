//! `session disconnect` (and `disconnect clients`), `session unsubscribe` and
//! `session reauthorize` against real MQTT clients.

use rumqttc::v5::mqttbytes::v5::DisconnectReasonCode;
use rumqttc::v5::StateError;
use rumqttc::{v5, QoS};

use crate::mqtt_support::{
    assert_round_trip, connect_v4, connect_v5, events_until, persistent, publish, spawn_v4,
    subscribe_at, subscribe_v4, v4_accepted, v4_options, v4_publish, wait_for, V4Client,
};
use crate::sessions::{column, table, table_until};
use crate::support::{alert_text, assert_ok, TestNode, DONE};

const NOT_SUCCESSFUL: &str = r#"{"text":"Not successfull","type":"text"}"#;
const UNCHANGED: &str = r#"{"text":"Unchanged","type":"text"}"#;

async fn closed(client: &mut V4Client) {
    wait_for(&mut client.events, "the connection closed", Result::is_err).await;
}

#[tokio::test]
async fn disconnect_closes_v4_and_v5_connections_and_ends_clean_sessions() {
    let node = TestNode::start().await;
    let mut v4 = connect_v4(&node, "d-v4").await;
    let mut v5 = connect_v5(&node, "d-v5").await;
    assert_ok(
        &node.get("/api/v1/session/disconnect?client-id=d-v4").await,
        DONE,
    );
    closed(&mut v4).await;
    assert_ok(
        &node.get("/api/v1/session/disconnect?client-id=d-v5").await,
        DONE,
    );
    let end = events_until(&mut v5.events, "the v5 connection closed", Result::is_err)
        .await
        .pop();
    assert!(
        matches!(
            end,
            Some(Err(v5::ConnectionError::MqttState(
                StateError::ServerDisconnect {
                    reason_code: DisconnectReasonCode::AdministrativeAction,
                    ..
                }
            )))
        ),
        "{end:?}"
    );
    let path = "/api/v1/session/show?--client_id=~^d-";
    table_until(&node, path, "clean sessions gone", <[_]>::is_empty).await;
    drop((v4, v5));
    node.stop().await;
}

#[tokio::test]
async fn a_persistent_session_stays_offline_unless_cleanup_deletes_it() {
    let node = TestNode::start().await;
    let (mut keep, _) = persistent(&node, "keep").await;
    subscribe_at(&mut keep, "k/#", QoS::AtLeastOnce).await;
    assert_ok(
        &node.get("/api/v1/session/disconnect?client-id=keep").await,
        DONE,
    );
    closed(&mut keep).await;
    let path = "/api/v1/session/show?--client_id=keep&--is_online&--topic";
    let rows = table_until(&node, path, "keep offline", |rows| {
        rows.first().is_some_and(|r| r["is_online"] == false)
    })
    .await;
    assert_eq!(column(&rows, "topic"), ["k/#"], "subscriptions kept");
    let cleanup = "/api/v1/session/disconnect?client-id=keep&--cleanup";
    assert_ok(&node.get(cleanup).await, DONE);
    assert!(table(&node, "/api/v1/session/show?--client_id=keep")
        .await
        .is_empty());
    let (mut again, present) = persistent(&node, "keep").await;
    assert!(!present, "the session was deleted");
    // --cleanup (-c) on an online client closes it and deletes its session at once.
    assert_ok(
        &node
            .get("/api/v1/session/disconnect?client-id=keep&-c")
            .await,
        DONE,
    );
    closed(&mut again).await;
    assert!(table(&node, "/api/v1/session/show?--client_id=keep")
        .await
        .is_empty());
    node.stop().await;
}

#[tokio::test]
async fn disconnect_answers_done_for_unknown_clients_and_checks_its_arguments() {
    let node = TestNode::start().await;
    let mut client = connect_v4(&node, "mp-client").await;
    assert_ok(
        &node
            .get("/api/v1/session/disconnect?client-id=nobody")
            .await,
        DONE,
    );
    // Another mountpoint names another client: this one stays connected.
    let other = "/api/v1/session/disconnect?client-id=mp-client&--mountpoint=elsewhere";
    assert_ok(&node.get(other).await, DONE);
    assert_round_trip(&mut client, "still/here").await;
    for (path, message) in [
        (
            "/api/v1/session/disconnect",
            "missing parameter client-id=<value>",
        ),
        (
            "/api/v1/session/disconnect?client-id=x&--mountpoint",
            "Invalid mountpoint value",
        ),
        (
            "/api/v1/session/disconnect?client-id=x&--bogus",
            "unknown flag '--bogus'",
        ),
        (
            "/api/v1/session/disconnect/clients",
            "missing parameter client-ids=<value>",
        ),
    ] {
        let reply = node.get(path).await;
        assert_eq!(reply.status, 400, "{path}: {reply:?}");
        let text = alert_text(&reply.body);
        assert!(text.starts_with(message), "{path}: {text}");
        assert!(
            text.contains("Usage: vmq-admin session disconnect"),
            "{text}"
        );
    }
    drop(client);
    node.stop().await;
}

#[tokio::test]
async fn disconnect_clients_closes_each_listed_client() {
    let node = TestNode::start().await;
    let mut first = connect_v4(&node, "e1").await;
    let mut second = connect_v4(&node, "e2").await;
    let mut third = connect_v4(&node, "e3").await;
    let path = "/api/v1/session/disconnect/clients?client-ids=e1,e2,nobody";
    assert_ok(&node.get(path).await, DONE);
    closed(&mut first).await;
    closed(&mut second).await;
    assert_round_trip(&mut third, "e3/alive").await;
    node.stop().await;
}

#[tokio::test]
async fn unsubscribe_removes_one_subscription_and_its_deliveries() {
    let node = TestNode::start().await;
    let mut client = connect_v4(&node, "u").await;
    subscribe_v4(&mut client, &["u/1", "u/2"]).await;
    let path = "/api/v1/session/unsubscribe?client-id=u&topic=u/1";
    assert_ok(&node.get(path).await, DONE);
    assert_ok(&node.get(path).await, NOT_SUCCESSFUL);
    let unknown = "/api/v1/session/unsubscribe?client-id=nobody&topic=u/1";
    assert_ok(&node.get(unknown).await, NOT_SUCCESSFUL);
    let topics = table(&node, "/api/v1/session/show?--client_id=u&--topic").await;
    assert_eq!(column(&topics, "topic"), ["u/2"]);
    let publisher = connect_v4(&node, "u-pub").await;
    publish(&publisher, "u/1", QoS::AtMostOnce, false, "gone").await;
    publish(&publisher, "u/2", QoS::AtMostOnce, false, "kept").await;
    let events = events_until(&mut client.events, "u/2", |e| {
        v4_publish(e).is_some_and(|p| p.topic == "u/2")
    })
    .await;
    assert!(!events
        .iter()
        .any(|e| v4_publish(e).is_some_and(|p| p.topic == "u/1")));
    let reply = node.get("/api/v1/session/unsubscribe?client-id=u").await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(alert_text(&reply.body).starts_with("missing parameter topic=<value>"));
    drop((client, publisher));
    node.stop().await;
}

/// Connects `id` as `user` (allow_anonymous is on: any password).
async fn login(node: &TestNode, id: &str, user: &str) -> V4Client {
    let mut options = v4_options(node, id);
    options.set_credentials(user, "any");
    let mut client = spawn_v4(options);
    wait_for(&mut client.events, "CONNACK", v4_accepted).await;
    client
}

#[tokio::test]
async fn reauthorize_removes_the_subscriptions_the_acl_refuses_to_the_user() {
    let dir = tempfile::tempdir().expect("temp dir");
    let acl = dir.path().join("vmq.acl");
    std::fs::write(
        &acl,
        "user alice\ntopic readwrite a/#\ntopic readwrite news/#\nuser bob\ntopic read a/#\n",
    )
    .expect("acl written");
    let node = TestNode::start_with(&format!("vmq_acl.acl_file = {}\n", acl.display())).await;
    let mut reader = login(&node, "r1", "alice").await;
    subscribe_v4(&mut reader, &["a/#", "news/#"]).await;
    let as_alice = "/api/v1/session/reauthorize?username=alice&client-id=r1";
    assert_ok(&node.get(as_alice).await, UNCHANGED);
    let as_bob = "/api/v1/session/reauthorize?client-id=r1&username=bob";
    assert_ok(&node.get(as_bob).await, DONE);
    assert_ok(&node.get(as_bob).await, UNCHANGED);
    let topics = table(&node, "/api/v1/session/show?--client_id=r1&--topic").await;
    assert_eq!(column(&topics, "topic"), ["a/#"]);
    let unknown = "/api/v1/session/reauthorize?username=bob&client-id=nobody";
    assert_ok(&node.get(unknown).await, UNCHANGED);
    let publisher = login(&node, "p1", "alice").await;
    publish(&publisher, "news/x", QoS::AtMostOnce, false, "news").await;
    publish(&publisher, "a/x", QoS::AtMostOnce, false, "a").await;
    let events = events_until(&mut reader.events, "a/x", |e| {
        v4_publish(e).is_some_and(|p| p.topic == "a/x")
    })
    .await;
    assert!(!events
        .iter()
        .any(|e| v4_publish(e).is_some_and(|p| p.topic == "news/x")));
    let reply = node.get("/api/v1/session/reauthorize?username=bob").await;
    assert_eq!(reply.status, 400, "{reply:?}");
    let text = alert_text(&reply.body);
    assert!(
        text.starts_with("missing parameter client-id=<value>"),
        "{text}"
    );
    assert!(
        text.contains("Usage: vmq-admin session reauthorize"),
        "{text}"
    );
    drop((reader, publisher));
    node.stop().await;
}
