//! The error and expiry counters end to end: ACL refusals, oversized packets, acknowledgements
//! for packet ids not in flight, keep-alive expiry, failed WebSocket upgrades, and messages that
//! expire in an offline queue — each provoked by a real client, read back with `metrics show`.

use std::collections::BTreeMap;
use std::time::Duration;

use rumqttc::v5::mqttbytes::v5::PublishProperties;
use rumqttc::v5::mqttbytes::QoS;

use crate::mqtt_support::*;
use crate::mqtt_wire::{self, Event, Wire};
use crate::support::{eventually, TestNode};

/// `metrics show --aggregate=false`, `counter.<name>{labels}` → value.
async fn series(node: &TestNode) -> BTreeMap<String, u64> {
    let reply = node.get("/api/v1/metrics/show?--aggregate=false").await;
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    let text = reply.json()["text"].as_str().expect("text").to_owned();
    text.lines()
        .filter_map(|line| line.split_once(" = "))
        .filter_map(|(name, value)| Some((name.to_owned(), value.parse().ok()?)))
        .collect()
}

/// Waits until `metrics show` has `name` at `want`.
async fn counted(node: &TestNode, name: &str, want: u64) {
    let reached = eventually(DEADLINE, || async {
        series(node).await.get(name) == Some(&want)
    })
    .await;
    assert!(
        reached,
        "{name} never reached {want}: {:?}",
        series(node).await.get(name)
    );
}

fn v4(name: &str) -> String {
    format!("counter.{name}{{mqtt_version=\"4\"}}")
}

/// A raw MQTT 3.1.1 client connected as `id`.
async fn wire_client(node: &TestNode, id: &str, keep_alive: u16) -> Wire {
    let mut wire = Wire::connect(mqtt_addr(node)).await.expect("connect");
    wire.handshake_with(4, id, keep_alive, DEADLINE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    wire
}

#[tokio::test]
async fn acl_refusals_and_acks_for_unknown_packet_ids_are_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let acl = dir.path().join("vmq.acl");
    std::fs::write(&acl, "topic readwrite a/#\n").expect("acl written");
    let node = TestNode::start_with(&format!("vmq_acl.acl_file = {}\n", acl.display())).await;
    let mut wire = wire_client(&node, "refused", 60).await;
    wire.send(&mqtt_wire::subscribe(4, 1, &["b/#"]))
        .await
        .expect("SUBSCRIBE");
    assert!(
        matches!(wire.next(DEADLINE).await, Event::Packet(p) if p.kind() == 9 && p.body == [0, 1, 0x80])
    );
    wire.send(&mqtt_wire::publish(4, "b/x", b"no"))
        .await
        .expect("PUBLISH");
    counted(&node, &v4("mqtt_subscribe_auth_error"), 1).await;
    counted(&node, &v4("mqtt_publish_auth_error"), 1).await;
    // PUBACK, PUBREC and PUBCOMP for packet id 7, which the node never sent.
    for header in [0x40, 0x50, 0x70] {
        wire.send(&mqtt_wire::packet(header, &[0, 7]))
            .await
            .expect("ack");
    }
    counted(&node, &v4("mqtt_puback_invalid_error"), 1).await;
    counted(&node, &v4("mqtt_pubrec_invalid_error"), 1).await;
    counted(&node, &v4("mqtt_pubcomp_invalid_error"), 1).await;
    node.stop().await;
}

#[tokio::test]
async fn oversized_packets_silent_clients_and_failed_upgrades_are_counted() {
    let config = "max_message_size = 64\nlistener.ws.upgrades = 127.0.0.1:0\n";
    let node = TestNode::start_with(config).await;
    let mut big = wire_client(&node, "big", 60).await;
    big.send(&mqtt_wire::publish(4, "t", &[b'x'; 200]))
        .await
        .expect("PUBLISH");
    assert_eq!(big.next(DEADLINE).await, Event::Closed);
    counted(&node, &v4("mqtt_invalid_msg_size_error"), 1).await;
    // Keep-alive 1 s, then silence: closed after one and a half keep-alives.
    let mut silent = wire_client(&node, "silent", 1).await;
    assert_eq!(silent.next(Duration::from_secs(5)).await, Event::Closed);
    counted(&node, "counter.client_keepalive_expired", 1).await;
    // Not a WebSocket upgrade on the WebSocket listener.
    let (_, ws) = node
        .running()
        .mqtt_addrs()
        .iter()
        .find(|(name, _)| name == "upgrades")
        .cloned()
        .unwrap_or_else(|| panic!("a ws listener in {:?}", node.running().mqtt_addrs()));
    let mut garbage = Wire::connect(ws).await.expect("connect");
    garbage
        .send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("request");
    assert_eq!(garbage.next(DEADLINE).await, Event::Closed);
    counted(&node, "counter.socket_error", 1).await;
    node.stop().await;
}

#[tokio::test]
async fn messages_that_expire_in_an_offline_queue_are_counted_not_sent() {
    let node = TestNode::start().await;
    let mut options = v5_options(&node, "away");
    options.set_clean_start(false);
    options.set_session_expiry_interval(Some(60));
    let mut away = spawn_v5(options.clone());
    wait_for(&mut away.events, "CONNACK", v5_accepted).await;
    away.client
        .subscribe("exp/#", QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    wait_for(&mut away.events, "SUBACK", |e| {
        matches!(
            e,
            Ok(rumqttc::v5::Event::Incoming(
                rumqttc::v5::mqttbytes::v5::Packet::SubAck(_)
            ))
        )
    })
    .await;
    away.client.disconnect().await.expect("queued");
    wait_for(&mut away.events, "closed", Result::is_err).await;
    let publisher = connect_v5(&node, "publisher").await;
    let expiry = |seconds| PublishProperties {
        message_expiry_interval: Some(seconds),
        ..PublishProperties::default()
    };
    for (topic, seconds) in [("exp/short", 1), ("exp/long", 100)] {
        publisher
            .client
            .publish_with_properties(topic, QoS::AtLeastOnce, false, "m", expiry(seconds))
            .await
            .expect("queued");
    }
    counted(&node, "counter.queue_message_in", 2).await;
    // The message's one-second expiry must pass while it waits in the queue.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut away = spawn_v5(options);
    let events = events_until(&mut away.events, "the long-lived message", |e| {
        v5_publish(e).is_some()
    })
    .await;
    let topics: Vec<_> = events
        .iter()
        .filter_map(v5_publish)
        .map(|p| p.topic.clone())
        .collect();
    assert_eq!(topics, [bytes::Bytes::from_static(b"exp/long")]);
    counted(&node, "counter.queue_message_expired", 1).await;
    drop((away, publisher));
    node.stop().await;
}
