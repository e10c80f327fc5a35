//! MQTT bad input at scale and across clients: a 10 000-filter SUBSCRIBE, ill-formed UTF-8 that
//! must reach nobody, `$` topics kept from `#`, and thousands of dropped connections that must
//! leave no count behind.

use std::time::Duration;

use crate::mqtt_support::*;
use crate::mqtt_wire::{self, Event, Wire};
use crate::support::{eventually, TestNode};

/// A generous deadline for the bulk steps on a loaded 2-core machine.
const BULK_DEADLINE: Duration = Duration::from_secs(10);

/// The topics of the PUBLISHes a v4 client got up to and including one on `marker`: the node
/// keeps one publisher's order, so a message sent before the marker and not seen here was
/// never delivered.
async fn topics_until(client: &mut V4Client, marker: &str) -> Vec<String> {
    events_until(&mut client.events, marker, |e| {
        v4_publish(e).is_some_and(|p| p.topic == marker)
    })
    .await
    .iter()
    .filter_map(|e| v4_publish(e).map(|p| p.topic.clone()))
    .collect()
}

#[tokio::test]
async fn a_subscribe_with_10000_filters_gets_10000_codes() {
    let node = TestNode::start().await;
    let mut bystander = connect_v4(&node, "bystander").await;
    let mut wire = Wire::connect(mqtt_addr(&node)).await.expect("connect");
    wire.handshake(4, "many", DEADLINE).await.expect("CONNACK");
    let filters: Vec<String> = (0..10_000).map(|i| format!("many/{i}")).collect();
    let filters: Vec<&str> = filters.iter().map(String::as_str).collect();
    wire.send(&mqtt_wire::subscribe(4, 7, &filters))
        .await
        .expect("SUBSCRIBE sent");
    // MQTT 3.1.1 §3.9: one return code per filter, in order; VerneMQ grants them all.
    match wire.next(BULK_DEADLINE).await {
        Event::Packet(p) if p.kind() == 9 => {
            assert_eq!(p.body.get(..2), Some(&[0, 7][..]), "packet id");
            assert_eq!(p.body.len() - 2, 10_000, "one code per filter");
            assert!(p.body[2..].iter().all(|c| *c == 0), "all granted QoS 0");
        }
        other => panic!("no SUBACK: {other:?}"),
    }
    // The last filter works, and the node still serves everyone else.
    publish_v4(&bystander, "many/9999", "last").await;
    match wire.next(BULK_DEADLINE).await {
        Event::Packet(p) if p.kind() == 3 => {
            assert!(p.body.starts_with(b"\x00\x09many/9999"), "{p:?}");
        }
        other => panic!("no PUBLISH on many/9999: {other:?}"),
    }
    assert_round_trip(&mut bystander, "after/many").await;
    drop((wire, bystander));
    node.stop().await;
}

#[tokio::test]
async fn ill_formed_utf8_reaches_no_subscriber() {
    let node = TestNode::start().await;
    let mut watcher = connect_v4(&node, "watcher").await;
    subscribe_v4(&mut watcher, &["#"]).await;
    // A bad sequence, a surrogate, an overlong '/', a 5-byte form, a lone 0xff (§1.5.3-1).
    let topics: [&[u8]; 5] = [
        b"\xc3\x28",
        b"a/\xed\xa0\x80",
        b"\xc0\xaf",
        b"\xf8\x88\x80\x80\x80",
        b"x\xff",
    ];
    for (i, topic) in topics.iter().enumerate() {
        let mut wire = Wire::connect(mqtt_addr(&node)).await.expect("connect");
        wire.handshake(4, &format!("utf8-{i}"), DEADLINE)
            .await
            .expect("CONNACK");
        let mut publish = mqtt_wire::string(topic);
        publish.push(b'x');
        let _ = wire.send(&mqtt_wire::packet(0x30, &publish)).await;
        // A filter as bad as the topic, on the same connection if it is still open.
        let mut subscribe = vec![0, 1];
        subscribe.extend(mqtt_wire::string(topic));
        subscribe.push(0);
        let _ = wire.send(&mqtt_wire::packet(0x82, &subscribe)).await;
        assert_eq!(
            wire.next(DEADLINE).await,
            Event::Closed,
            "topic {topic:02x?}"
        );
    }
    let publisher = connect_v4(&node, "publisher").await;
    publish_v4(&publisher, "marker", "m").await;
    assert_eq!(topics_until(&mut watcher, "marker").await, ["marker"]);
    drop((watcher, publisher));
    node.stop().await;
}

#[tokio::test]
async fn wildcards_at_the_first_level_do_not_match_dollar_topics() {
    let node = TestNode::start().await;
    let mut watcher = connect_v4(&node, "watcher").await;
    subscribe_v4(&mut watcher, &["#", "+/x", "+/+/x"]).await;
    let publisher = connect_v4(&node, "publisher").await;
    // §4.7.2-1: `#` and `+` at the first level do not match topics that start with `$`.
    for topic in ["$SYS/x", "$SYS/broker/x", "$foo/x"] {
        publish_v4(&publisher, topic, "not for #").await;
    }
    publish_v4(&publisher, "marker/x", "m").await;
    assert_eq!(topics_until(&mut watcher, "marker/x").await, ["marker/x"]);
    drop((watcher, publisher));
    node.stop().await;
}

/// One short-lived connection; `how` picks how far it gets before it is dropped.
async fn connect_and_drop(node: &TestNode, how: usize, id: String) {
    let Ok(mut wire) = Wire::connect(mqtt_addr(node)).await else {
        return;
    };
    match how % 5 {
        0 => {}
        1 => {
            let _ = wire.send(&mqtt_wire::connect(4, &id, 60)).await;
        }
        2 => {
            let _ = wire.handshake(4, &id, DEADLINE).await;
        }
        3 => {
            let _ = wire.send(b"\x10\x0d\x00\x04MQ").await;
        }
        _ => {
            let _ = wire.handshake(5, &id, DEADLINE).await;
            let _ = wire.send(&mqtt_wire::subscribe(5, 1, &["drop/#"])).await;
        }
    }
}

#[tokio::test]
async fn thousands_of_dropped_connections_leave_no_count() {
    let node = TestNode::start().await;
    let mut bystander = connect_v4(&node, "bystander").await;
    // Waves below the listen backlog (128): a burst past it costs SYN retransmits (1 s each).
    for wave in 0..20 {
        let connections = (0..100).map(|i| connect_and_drop(&node, i, format!("drop-{wave}-{i}")));
        futures_util::future::join_all(connections).await;
    }
    assert!(
        eventually(BULK_DEADLINE, || async {
            active_mqtt_conns(&node).await == 1
        })
        .await,
        "active_conns back to the bystander alone, is {}",
        active_mqtt_conns(&node).await
    );
    assert_round_trip(&mut bystander, "after/drops").await;
    drop(bystander);
    node.stop().await;
}
