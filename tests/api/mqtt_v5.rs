//! MQTT 5 behaviour end to end with rumqttc's v5 client: topic aliases, reason codes, message
//! expiry, will delay, session expiry, user properties; and listener mountpoints.

use std::time::Duration;

use rumqttc::v5::mqttbytes::v5::{
    LastWill, LastWillProperties, Packet, PubAckReason, PublishProperties,
};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::Event;

use crate::mqtt_support::{
    connect_v4, connect_v5, events_until, mqtt_addr, spawn_v4, spawn_v5, subscribe_v4, v4_publish,
    v5_accepted, v5_options, v5_publish, wait_for, V5Client, DEADLINE,
};
use crate::support::TestNode;

async fn subscribe(client: &mut V5Client, filter: &str, qos: QoS) {
    client.client.subscribe(filter, qos).await.expect("queued");
    wait_for(&mut client.events, "SUBACK", |e| {
        matches!(e, Ok(Event::Incoming(Packet::SubAck(_))))
    })
    .await;
}

/// Options of a persistent v5 client (`expiry` seconds) whose will `payload` goes to
/// `wills/<client_id>` after `delay` seconds.
fn with_delayed_will(
    node: &TestNode,
    client_id: &str,
    expiry: u32,
    delay: u32,
    payload: &str,
) -> rumqttc::v5::MqttOptions {
    let mut options = v5_options(node, client_id);
    options.set_clean_start(false);
    options.set_session_expiry_interval(Some(expiry));
    let properties = LastWillProperties {
        delay_interval: Some(delay),
        payload_format_indicator: None,
        message_expiry_interval: None,
        content_type: None,
        response_topic: None,
        correlation_data: None,
        user_properties: Vec::new(),
    };
    let topic = format!("wills/{client_id}");
    let will = LastWill::new(topic, payload, QoS::AtLeastOnce, false, Some(properties));
    options.set_last_will(will);
    options
}

#[tokio::test]
async fn topic_aliases_user_properties_and_no_matching_subscribers() {
    let node = TestNode::start_with("topic_alias_max_client = 10\n").await;
    let mut subscriber = connect_v5(&node, "sub").await;
    subscribe(&mut subscriber, "long/topic/name", QoS::AtLeastOnce).await;
    let mut publisher = connect_v5(&node, "pub").await;
    let aliased = |alias, user: &str| PublishProperties {
        topic_alias: Some(alias),
        user_properties: vec![("who".to_owned(), user.to_owned())],
        ..PublishProperties::default()
    };
    let client = &publisher.client;
    client
        .publish_with_properties(
            "long/topic/name",
            QoS::AtLeastOnce,
            false,
            "first",
            aliased(1, "a"),
        )
        .await
        .expect("queued");
    client
        .publish_with_properties("", QoS::AtLeastOnce, false, "second", aliased(1, "b"))
        .await
        .expect("queued");
    let events = events_until(&mut subscriber.events, "second", |e| {
        v5_publish(e).is_some_and(|p| p.payload.as_ref() == b"second")
    })
    .await;
    let second = events.last().and_then(v5_publish).expect("publish");
    assert_eq!(second.topic.as_ref(), b"long/topic/name");
    let props = second.properties.as_ref().expect("properties forwarded");
    assert_eq!(props.user_properties, [("who".to_owned(), "b".to_owned())]);
    client
        .publish("nobody/listens", QoS::AtLeastOnce, false, "x")
        .await
        .expect("queued");
    wait_for(&mut publisher.events, "PUBACK 0x10", |e| {
        matches!(e, Ok(Event::Incoming(Packet::PubAck(ack)))
            if ack.reason == PubAckReason::NoMatchingSubscribers)
    })
    .await;
    drop((subscriber, publisher));
    node.stop().await;
}

#[tokio::test]
async fn a_will_waits_for_its_delay_and_a_session_expires_after_its_interval() {
    let node = TestNode::start().await;
    let mut watcher = connect_v5(&node, "watcher").await;
    subscribe(&mut watcher, "wills/#", QoS::AtLeastOnce).await;
    let mut delayed = spawn_v5(with_delayed_will(&node, "delayed", 2, 1, "late"));
    wait_for(&mut delayed.events, "CONNACK", v5_accepted).await;
    let vanished = tokio::time::Instant::now();
    drop(delayed);
    let events = events_until(&mut watcher.events, "the will", |e| {
        v5_publish(e).is_some_and(|p| p.payload.as_ref() == b"late")
    })
    .await;
    assert!(!events.is_empty());
    assert!(
        vanished.elapsed() >= Duration::from_millis(900),
        "the will came after its 1 s delay, not at once"
    );
    let key = vmq_actors::SessionKey::new("", "delayed");
    let gone = crate::support::eventually(DEADLINE, || async {
        !node.running().node().sessions.sessions().contains_key(&key)
    })
    .await;
    assert!(gone, "the session expired after its 2 s interval");
    drop(watcher);
    node.stop().await;
}

#[tokio::test]
async fn a_queued_message_carries_its_remaining_expiry() {
    let node = TestNode::start().await;
    let mut options = v5_options(&node, "later");
    options.set_clean_start(false);
    options.set_session_expiry_interval(Some(60));
    let mut later = spawn_v5(options.clone());
    wait_for(&mut later.events, "CONNACK", v5_accepted).await;
    subscribe(&mut later, "exp", QoS::AtLeastOnce).await;
    later.client.disconnect().await.expect("queued");
    wait_for(&mut later.events, "closed", Result::is_err).await;
    let publisher = connect_v5(&node, "pub").await;
    let expiring = PublishProperties {
        message_expiry_interval: Some(100),
        ..PublishProperties::default()
    };
    publisher
        .client
        .publish_with_properties("exp", QoS::AtLeastOnce, false, "soon", expiring)
        .await
        .expect("queued");
    let key = vmq_actors::SessionKey::new("", "later");
    let queued = crate::support::eventually(DEADLINE, || async {
        let sessions = node.running().node().sessions.sessions();
        sessions
            .get(&key)
            .is_some_and(|s| s.queue_stats().waiting == 1)
    })
    .await;
    assert!(queued);
    let mut later = spawn_v5(options);
    let events = events_until(&mut later.events, "the queued message", |e| {
        v5_publish(e).is_some()
    })
    .await;
    let publish = events.last().and_then(v5_publish).expect("publish");
    let left = publish
        .properties
        .as_ref()
        .and_then(|p| p.message_expiry_interval)
        .expect("expiry forwarded");
    assert!((1..=100).contains(&left), "{left}");
    drop((later, publisher));
    node.stop().await;
}

#[tokio::test]
async fn a_mountpoint_separates_topics_and_client_ids() {
    let extra = "listener.tcp.default = 127.0.0.1:0\nlistener.tcp.tenant = 127.0.0.1:0\nlistener.tcp.tenant.mountpoint = tenant/\n";
    let node = TestNode::start_with(extra).await;
    let tenant_addr = node
        .running()
        .mqtt_addrs()
        .iter()
        .find(|(name, _)| name.ends_with("tenant"))
        .map(|(_, addr)| *addr)
        .expect("the tenant listener");
    assert_ne!(tenant_addr, mqtt_addr(&node));
    let mut plain = connect_v4(&node, "same-id").await;
    subscribe_v4(&mut plain, &["t"]).await;
    let mut options = rumqttc::MqttOptions::new("same-id", "127.0.0.1", tenant_addr.port());
    options.set_keep_alive(Duration::from_secs(30));
    let mut tenant = spawn_v4(options);
    wait_for(
        &mut tenant.events,
        "CONNACK",
        crate::mqtt_support::v4_accepted,
    )
    .await;
    subscribe_v4(&mut tenant, &["t"]).await;
    tenant
        .client
        .publish("t", rumqttc::QoS::AtMostOnce, false, b"inside".to_vec())
        .await
        .expect("queued");
    wait_for(&mut tenant.events, "own tenant message", |e| {
        v4_publish(e).is_some_and(|p| p.payload.as_ref() == b"inside")
    })
    .await;
    crate::mqtt_support::assert_round_trip(&mut plain, "t").await;
    let leaked = std::iter::from_fn(|| plain.events.try_recv().ok())
        .any(|e| v4_publish(&e).is_some_and(|p| p.payload.as_ref() == b"inside"));
    assert!(
        !leaked,
        "no message crosses mountpoints, and no takeover of the same id"
    );
    drop((plain, tenant));
    node.stop().await;
}

#[tokio::test]
async fn a_message_larger_than_the_clients_maximum_packet_size_is_not_sent_to_it() {
    let node = TestNode::start().await;
    let mut options = v5_options(&node, "small");
    options.set_max_packet_size(Some(200));
    let mut small = spawn_v5(options);
    wait_for(&mut small.events, "CONNACK", v5_accepted).await;
    subscribe(&mut small, "sized/#", QoS::AtLeastOnce).await;
    let publisher = connect_v5(&node, "pub").await;
    let big = vec![b'x'; 1000];
    publisher
        .client
        .publish("sized/big", QoS::AtLeastOnce, false, big)
        .await
        .expect("queued");
    publisher
        .client
        .publish("sized/small", QoS::AtLeastOnce, false, "fits")
        .await
        .expect("queued");
    let events = events_until(&mut small.events, "the small message", |e| {
        v5_publish(e).is_some_and(|p| p.payload.as_ref() == b"fits")
    })
    .await;
    assert!(
        !events
            .iter()
            .any(|e| v5_publish(e).is_some_and(|p| p.topic.as_ref() == b"sized/big")),
        "the 1000-byte message is dropped for a client that accepts 200 bytes"
    );
    let dropped = node
        .running()
        .node()
        .metrics
        .data_plane()
        .get(vmq_actors::metrics::Counter::QueueMessageDrop);
    assert_eq!(dropped, 1);
    drop((small, publisher));
    node.stop().await;
}

#[tokio::test]
async fn max_last_will_delay_caps_the_clients_will_delay() {
    let node = TestNode::start_with("max_last_will_delay = 1s\n").await;
    let mut watcher = connect_v5(&node, "watcher").await;
    subscribe(&mut watcher, "wills/#", QoS::AtLeastOnce).await;
    let mut patient = spawn_v5(with_delayed_will(&node, "patient", 600, 3600, "capped"));
    wait_for(&mut patient.events, "CONNACK", v5_accepted).await;
    drop(patient);
    // An hour asked for, one second granted: the will comes within the deadline.
    wait_for(&mut watcher.events, "the capped will", |e| {
        v5_publish(e).is_some_and(|p| p.payload.as_ref() == b"capped")
    })
    .await;
    drop(watcher);
    node.stop().await;
}
