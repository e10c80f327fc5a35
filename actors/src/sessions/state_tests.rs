//! Unit tests of the session state machine: no runtime, no sockets.

use bytes::Bytes;
use rmqtt_codec::types::Protocol;

use super::*;
use crate::sessions::connect::{connect, AllowedProtocols, ConnectPolicy};

const OPEN: ConnectPolicy = ConnectPolicy {
    allow_anonymous: true,
    allowed_protocols: AllowedProtocols::ALL,
};

const GRANTS: Grants = Grants {
    receive_max: 10,
    topic_alias_max: 5,
};

/// Allows everything except topics and filters starting with "secret".
struct NoSecrets;

impl Permissions for NoSecrets {
    fn may_publish(&self, topic: &str) -> bool {
        !topic.starts_with("secret")
    }
    fn may_subscribe(&self, filter: &str) -> bool {
        !filter.starts_with("secret")
    }
}

fn session(level: u8) -> SessionState {
    let packet = if level == 5 {
        MqttPacket::V5(v5::Packet::Connect(Box::new(v5::Connect {
            client_id: "c".into(),
            clean_start: true,
            ..v5::Connect::default()
        })))
    } else {
        MqttPacket::V3(v3::Packet::Connect(Box::new(v3::Connect {
            protocol: Protocol(level),
            clean_session: true,
            client_id: "c".into(),
            ..v3::Connect::default()
        })))
    };
    let accepted = connect(packet, OPEN, 100, String::new).expect("accepted");
    SessionState::new(&accepted, GRANTS)
}

fn id(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).expect("non-zero")
}

fn debug(effects: &[Effect]) -> String {
    format!("{effects:?}")
}

fn publish(qos: QoS, packet_id: Option<u16>, topic: &str) -> Box<Publish> {
    Box::new(Publish {
        dup: false,
        retain: false,
        qos,
        topic: topic.into(),
        packet_id: packet_id.map(id),
        payload: Bytes::from_static(b"hi"),
        properties: None,
    })
}

#[test]
fn subscribe_grants_the_requested_qos_and_refuses_invalid_or_denied_filters() {
    let mut state = session(4);
    let effects = state.on_packet(
        MqttPacket::V3(v3::Packet::Subscribe {
            packet_id: id(1),
            topic_filters: vec![
                ("a/+".into(), QoS::AtLeastOnce),
                ("a/#/b".into(), QoS::AtMostOnce),
                ("secret/x".into(), QoS::AtMostOnce),
            ],
        }),
        &NoSecrets,
    );
    let [Effect::Subscribe { filters, ack }] = &effects[..] else {
        panic!("{}", debug(&effects));
    };
    assert_eq!(filters, &[("a/+".to_owned(), SubOptions::v3(1))]);
    let want = v3::Packet::SubscribeAck {
        packet_id: id(1),
        status: vec![
            v3::SubscribeReturnCode::Success(QoS::AtLeastOnce),
            v3::SubscribeReturnCode::Failure,
            v3::SubscribeReturnCode::Failure,
        ],
    };
    assert_eq!(format!("{ack:?}"), format!("{:?}", MqttPacket::V3(want)));
}

#[test]
fn publishes_carry_their_ack_and_denied_ones_are_not_routed() {
    let mut state = session(5);
    let qos1 = MqttPacket::V5(v5::Packet::Publish(publish(QoS::AtLeastOnce, Some(7), "t")));
    let effects = state.on_packet(qos1, &NoSecrets);
    let [Effect::Publish { message, ack }] = &effects[..] else {
        panic!("{}", debug(&effects));
    };
    assert_eq!((&*message.topic, message.qos), ("t", 1));
    assert_eq!(message.publisher.as_deref(), Some("c"));
    assert_eq!(*ack, Some((id(7), QoS::AtLeastOnce)));
    let denied = MqttPacket::V5(v5::Packet::Publish(publish(
        QoS::AtLeastOnce,
        Some(8),
        "secret",
    )));
    let effects = state.on_packet(denied, &NoSecrets);
    assert!(
        debug(&effects).contains("NotAuthorized"),
        "{}",
        debug(&effects)
    );
    let system = MqttPacket::V5(v5::Packet::Publish(publish(
        QoS::AtMostOnce,
        None,
        "$SYS/x",
    )));
    assert!(state.on_packet(system, &NoSecrets).is_empty());
}

#[test]
fn protocol_violations_close() {
    let mut state = session(4);
    for packet in [
        MqttPacket::V3(v3::Packet::Publish(publish(QoS::AtMostOnce, None, "a/+"))),
        MqttPacket::V3(v3::Packet::Publish(publish(QoS::AtLeastOnce, None, "a"))),
        MqttPacket::V5(v5::Packet::PingRequest),
        MqttPacket::V3(v3::Packet::Subscribe {
            packet_id: id(1),
            topic_filters: Vec::new(),
        }),
    ] {
        let effects = state.on_packet(packet, &NoSecrets);
        assert!(
            matches!(effects[..], [Effect::Close(_)]),
            "{}",
            debug(&effects)
        );
    }
    let disconnect = state.on_packet(MqttPacket::V3(v3::Packet::Disconnect), &NoSecrets);
    assert!(matches!(
        disconnect[..],
        [Effect::Disconnect {
            with_will: false,
            ..
        }]
    ));
}

#[test]
fn topic_aliases_set_then_resolve_and_bad_ones_close() {
    let mut state = session(5);
    let aliased = |topic: &str, alias: u16| {
        let mut p = publish(QoS::AtMostOnce, None, topic);
        p.properties = Some(v5::PublishProperties {
            topic_alias: NonZeroU16::new(alias),
            ..v5::PublishProperties::default()
        });
        MqttPacket::V5(v5::Packet::Publish(p))
    };
    state.on_packet(aliased("long/topic", 1), &NoSecrets);
    let effects = state.on_packet(aliased("", 1), &NoSecrets);
    let [Effect::Publish { message, .. }] = &effects[..] else {
        panic!("{}", debug(&effects));
    };
    assert_eq!(&*message.topic, "long/topic");
    let unknown = state.on_packet(aliased("", 2), &NoSecrets);
    assert!(debug(&unknown).contains("ProtocolError"));
    let too_big = state.on_packet(aliased("t", 6), &NoSecrets);
    assert!(debug(&too_big).contains("TopicAliasInvalid"));
}

#[test]
fn acks_from_the_client_become_queue_effects() {
    let mut state = session(4);
    let cases = [
        (v3::Packet::PublishAck { packet_id: id(1) }, "Acknowledged"),
        (v3::Packet::PublishReceived { packet_id: id(2) }, "Received"),
        (v3::Packet::PublishRelease { packet_id: id(3) }, "Released"),
        (
            v3::Packet::PublishComplete { packet_id: id(4) },
            "Completed",
        ),
    ];
    for (packet, want) in cases {
        let effects = state.on_packet(MqttPacket::V3(packet), &NoSecrets);
        assert!(
            debug(&effects).starts_with(&format!("[{want}")),
            "{}",
            debug(&effects)
        );
    }
}

#[test]
fn the_v5_connack_advertises_what_the_node_grants() {
    let state = session(5);
    let MqttPacket::V5(v5::Packet::ConnectAck(ack)) = state.connack(true) else {
        panic!("a v5 CONNACK");
    };
    assert!(ack.session_present && ack.retain_available && ack.shared_subscription_available);
    assert_eq!((ack.receive_max.get(), ack.topic_alias_max), (10, 5));
}
