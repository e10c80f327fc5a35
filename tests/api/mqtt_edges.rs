//! MQTT at the edges: connection counts in `listener show`, garbage and silent connections,
//! `allow_anonymous=off`, assigned client ids.

use std::time::{Duration, Instant};

use rumqttc::v5;
use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode as V5Code, Packet as V5Packet};
use rumqttc::{ConnectReturnCode, ConnectionError};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::mqtt_support::*;
use crate::support::{assert_ok, eventually, TestNode};
use vmq_actors::metrics::{Counter, Reasoned};

#[tokio::test]
async fn listener_show_counts_mqtt_connections() {
    let node = TestNode::start().await;
    let mut clients = Vec::new();
    for i in 0..3 {
        clients.push(connect_v4(&node, &format!("count-{i}")).await);
    }
    assert!(
        eventually(DEADLINE, || async { active_mqtt_conns(&node).await == 3 }).await,
        "active_conns reaches 3, is {}",
        active_mqtt_conns(&node).await
    );
    for client in &clients {
        client.client.disconnect().await.expect("disconnect queued");
    }
    drop(clients);
    assert!(
        eventually(DEADLINE, || async { active_mqtt_conns(&node).await == 0 }).await,
        "active_conns drops to 0, is {}",
        active_mqtt_conns(&node).await
    );
    node.stop().await;
}

/// Sends `bytes` on a fresh connection; answers what the server sent before it closed the
/// connection, and how long that took.
async fn exchange(node: &TestNode, bytes: &[u8]) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(mqtt_addr(node)).await.expect("connect");
    if !bytes.is_empty() {
        stream.write_all(bytes).await.expect("write");
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 256];
    let closed = tokio::time::timeout(DEADLINE, async {
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            answer.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    assert!(closed.is_ok(), "{bytes:02x?} left open for {DEADLINE:?}");
    (answer, started.elapsed())
}

/// A 3.1.1-style CONNECT with protocol `name`, `level`, connect `flags` and client `id`.
fn connect_packet(name: &[u8], level: u8, flags: u8, id: &[u8]) -> Vec<u8> {
    let mut body = vec![0, u8::try_from(name.len()).expect("short name")];
    body.extend_from_slice(name);
    body.extend_from_slice(&[
        level,
        flags,
        0,
        60,
        0,
        u8::try_from(id.len()).expect("short id"),
    ]);
    body.extend_from_slice(id);
    let mut packet = vec![0x10, u8::try_from(body.len()).expect("short packet")];
    packet.extend(body);
    packet
}

/// Deterministic noise from a linear congruential generator.
fn noise(len: usize, mut state: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state.to_be_bytes()[0]
        })
        .collect()
}

#[tokio::test]
async fn garbage_is_closed_and_other_clients_keep_working() {
    // A long connect timeout, so that a close is the answer to the garbage.
    let node = TestNode::start_with("mqtt_connect_timeout = 60000").await;
    let mut client = connect_v4(&node, "bystander").await;
    let cases: Vec<Vec<u8>> = vec![
        vec![0x10, 0xff, 0xff, 0xff, 0xff, 0x7f],
        b"GET / HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
        noise(64, 1),
        noise(64, 42),
        connect_packet(b"XXXX", 4, 0x02, b"c"),
        connect_packet(b"MQTT", 4, 0x03, b"reserved-flag"),
    ];
    for bytes in &cases {
        let (answer, _) = exchange(&node, bytes).await;
        assert_eq!(answer, b"", "no answer to {bytes:02x?}");
    }
    assert_round_trip(&mut client, "still/here").await;
    drop(client);
    node.stop().await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_connect_timeout() {
    let node = TestNode::start_with("mqtt_connect_timeout = 300").await;
    let (answer, took) = exchange(&node, b"").await;
    assert_eq!(answer, b"");
    assert!(took >= Duration::from_millis(250), "closed early: {took:?}");
    node.stop().await;
}

#[tokio::test]
async fn refused_connects_get_the_connack_3_1_1_asks_for_then_a_close() {
    let node = TestNode::start_with("mqtt_connect_timeout = 60000").await;
    // §3.1.2.2: an unsupported protocol level is answered with 0x01.
    for level in [2, 6, 9] {
        let (answer, _) = exchange(&node, &connect_packet(b"MQTT", level, 0x02, b"l")).await;
        assert_eq!(answer, [0x20, 2, 0, 1], "level {level}");
    }
    // §3.1.3-8: an empty client id without a clean session is answered with 0x02.
    let (answer, _) = exchange(&node, &connect_packet(b"MQTT", 4, 0x00, b"")).await;
    assert_eq!(answer, [0x20, 2, 0, 2]);
    node.stop().await;
}

#[tokio::test]
async fn allow_anonymous_off_hands_every_client_to_the_password_plugin() {
    let node = TestNode::start().await;
    let reply = node.get("/api/v1/set?allow_anonymous=off").await;
    assert_ok(
        &reply,
        r#"{"text":"allow_anonymous set to \"off\"","type":"text"}"#,
    );

    let mut v4 = spawn_v4(v4_options(&node, "anon4"));
    let refused = next_event(&mut v4.events, "v4 refusal", Result::is_err).await;
    assert!(
        matches!(
            refused,
            Err(ConnectionError::ConnectionRefused(
                ConnectReturnCode::NotAuthorized
            ))
        ),
        "{refused:?}"
    );
    let mut v5 = spawn_v5(v5_options(&node, "anon5"));
    let refused = next_event(&mut v5.events, "v5 refusal", Result::is_err).await;
    assert!(
        matches!(
            refused,
            Err(v5::ConnectionError::ConnectionRefused(
                V5Code::NotAuthorized
            ))
        ),
        "{refused:?}"
    );

    // A username alone is no credential: vmq_passwd has no such user.
    let mut options = v4_options(&node, "named4");
    options.set_credentials("user", "any");
    let mut named = spawn_v4(options);
    let refused = next_event(&mut named.events, "v4 refusal", Result::is_err).await;
    assert!(
        matches!(
            refused,
            Err(ConnectionError::ConnectionRefused(
                ConnectReturnCode::BadUserNamePassword
            ))
        ),
        "{refused:?}"
    );
    drop((v4, v5, named));
    node.stop().await;
}

#[tokio::test]
async fn an_empty_client_id_gets_an_assigned_one() {
    let node = TestNode::start().await;
    let mut v5 = spawn_v5(v5_options(&node, ""));
    let connack = next_event(&mut v5.events, "v5 CONNACK", v5_accepted).await;
    let assigned = match connack {
        Ok(v5::Event::Incoming(V5Packet::ConnAck(ack))) => ack
            .properties
            .and_then(|p| p.assigned_client_identifier)
            .expect("an assigned client identifier"),
        other => panic!("not a CONNACK: {other:?}"),
    };
    assert!(!assigned.is_empty(), "assigned id is not empty");
    // A 3.1.1 client with an empty id and a clean session is accepted too.
    let mut v4 = spawn_v4(v4_options(&node, ""));
    wait_for(&mut v4.events, "v4 CONNACK", v4_accepted).await;
    drop((v4, v5));
    node.stop().await;
}

#[tokio::test]
async fn refused_and_malformed_connections_are_counted() {
    use crate::mqtt_wire::{Event as WireEvent, Wire};
    let node = TestNode::start().await;
    let metrics = || node.running().node().metrics.data_plane();
    let counters = || {
        let refused = metrics().get_reasoned(Reasoned::ConnackSentV4, 1);
        (refused, metrics().get(Counter::ProtocolError))
    };
    let before = counters();
    // CONNECT at level 6: refused with CONNACK 0x01.
    let mut refused = Wire::connect(mqtt_addr(&node)).await.expect("connect");
    refused
        .send(b"\x10\x0d\x00\x04MQTT\x06\x02\x00\x3c\x00\x01n")
        .await
        .expect("write");
    assert!(matches!(refused.next(DEADLINE).await, WireEvent::Packet(p) if p.kind() == 2));
    // After a valid CONNECT, a PUBLISH with QoS 3: malformed.
    let mut broken = Wire::connect(mqtt_addr(&node)).await.expect("connect");
    broken
        .handshake(4, "broken", DEADLINE)
        .await
        .expect("CONNACK");
    broken.send(b"\x36\x03\x00\x01a").await.expect("write");
    assert_eq!(broken.next(DEADLINE).await, WireEvent::Closed);
    let counted = eventually(DEADLINE, || async {
        counters() == (before.0 + 1, before.1 + 1)
    })
    .await;
    assert!(counted, "{before:?} → {:?}", counters());
    node.stop().await;
}
