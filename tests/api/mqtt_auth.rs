//! MQTT authentication and authorization through the built-in plugins: a password file written
//! by `mosquitto_passwd`, an ACL file, and `plugin disable` applying to the next connection.

use rumqttc::{ConnectReturnCode, Event, Packet, QoS, SubscribeReasonCode};

use crate::mqtt_support::{events_until, spawn_v4, v4_options, v4_publish, V4Client};
use crate::support::{TestNode, DONE};

/// The fixture `mosquitto_passwd` wrote: alice (`$7$`) and carol (`$6$`) among others.
fn password_file() -> String {
    format!(
        "{}/actors/src/plugins/testdata/passwd",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Connects with credentials; answers the client and the CONNACK code.
async fn login(node: &TestNode, user: &str, password: &str) -> (V4Client, ConnectReturnCode) {
    let mut options = v4_options(node, &format!("c-{user}"));
    options.set_credentials(user, password);
    let mut client = spawn_v4(options);
    let events = events_until(&mut client.events, "CONNACK or close", |e| {
        matches!(e, Ok(Event::Incoming(Packet::ConnAck(_))) | Err(_))
    })
    .await;
    let code = match events.last() {
        Some(Ok(Event::Incoming(Packet::ConnAck(ack)))) => ack.code,
        Some(Err(rumqttc::ConnectionError::ConnectionRefused(code))) => *code,
        other => panic!("no CONNACK: {other:?}"),
    };
    (client, code)
}

#[tokio::test]
async fn the_password_file_decides_who_connects_and_disabling_the_plugin_refuses_everyone() {
    let extra = format!(
        "allow_anonymous = off\nvmq_passwd.password_file = {}\n",
        password_file()
    );
    let node = TestNode::start_with(&extra).await;
    assert_eq!(
        login(&node, "alice", "alice-secret").await.1,
        ConnectReturnCode::Success
    );
    assert_eq!(
        login(&node, "carol", "carol pass").await.1,
        ConnectReturnCode::Success
    );
    assert_eq!(
        login(&node, "alice", "wrong").await.1,
        ConnectReturnCode::BadUserNamePassword
    );
    assert_eq!(
        login(&node, "mallory", "x").await.1,
        ConnectReturnCode::BadUserNamePassword
    );
    node.create_key("mgmt").await;
    let reply = node.get("/api/v1/plugin/disable?--name=vmq_passwd").await;
    assert_eq!(reply.body, DONE);
    assert_eq!(
        login(&node, "alice", "alice-secret").await.1,
        ConnectReturnCode::NotAuthorized,
        "no authentication plugin answers"
    );
    node.stop().await;
}

#[tokio::test]
async fn the_acl_file_limits_what_each_user_may_publish_and_subscribe() {
    let dir = tempfile::tempdir().expect("temp dir");
    let acl = dir.path().join("vmq.acl");
    std::fs::write(
        &acl,
        "user alice\ntopic readwrite a/#\ntopic read news/#\npattern readwrite clients/%c/#\n",
    )
    .expect("acl written");
    let extra = format!("vmq_acl.acl_file = {}\n", acl.display());
    let node = TestNode::start_with(&extra).await;
    let (mut alice, code) = login(&node, "alice", "any").await;
    assert_eq!(code, ConnectReturnCode::Success);
    let filters = ["a/+", "news/#", "secret/#", "clients/c-alice/x"]
        .map(|f| rumqttc::SubscribeFilter::new(f.to_owned(), QoS::AtLeastOnce));
    alice.client.subscribe_many(filters).await.expect("queued");
    let events = events_until(&mut alice.events, "SUBACK", |e| {
        matches!(e, Ok(Event::Incoming(Packet::SubAck(_))))
    })
    .await;
    let Some(Ok(Event::Incoming(Packet::SubAck(ack)))) = events.last() else {
        panic!("no SUBACK");
    };
    assert_eq!(
        ack.return_codes,
        [
            SubscribeReasonCode::Success(QoS::AtLeastOnce),
            SubscribeReasonCode::Success(QoS::AtLeastOnce),
            SubscribeReasonCode::Failure,
            SubscribeReasonCode::Success(QoS::AtLeastOnce),
        ]
    );
    // news/# is read-only: alice's own publish there is dropped; a/# goes through.
    for topic in ["news/x", "a/x"] {
        alice
            .client
            .publish(topic, QoS::AtLeastOnce, false, topic.as_bytes().to_vec())
            .await
            .expect("queued");
    }
    let got = events_until(&mut alice.events, "a/x back", |e| {
        v4_publish(e).is_some_and(|p| p.topic == "a/x")
    })
    .await;
    assert!(!got
        .iter()
        .any(|e| v4_publish(e).is_some_and(|p| p.topic == "news/x")));
    drop(alice);
    node.stop().await;
}
