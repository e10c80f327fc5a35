//! Unit tests of the session state machine: no runtime, no sockets.

use super::*;
use rmqtt_codec::types::Protocol;

const OPEN: ConnectPolicy = ConnectPolicy {
    allow_anonymous: true,
    allowed_protocols: AllowedProtocols::ALL,
};

fn v3_connect(level: u8, client_id: &str, clean: bool, user: Option<&str>) -> MqttPacket {
    MqttPacket::V3(v3::Packet::Connect(Box::new(v3::Connect {
        protocol: Protocol(level),
        clean_session: clean,
        keep_alive: 30,
        last_will: None,
        client_id: client_id.into(),
        username: user.map(Into::into),
        ..v3::Connect::default()
    })))
}

fn v5_connect(client_id: &str, clean: bool) -> MqttPacket {
    MqttPacket::V5(v5::Packet::Connect(Box::new(v5::Connect {
        clean_start: clean,
        client_id: client_id.into(),
        ..v5::Connect::default()
    })))
}

/// `MqttPacket` has no `PartialEq`: effects are compared by their debug form.
fn same(got: Vec<Effect>, want: Vec<Effect>) {
    assert_eq!(format!("{got:?}"), format!("{want:?}"));
}

fn fresh() -> String {
    "assigned-1".to_owned()
}

fn v3_code(refused: Result<Accepted, Option<Box<MqttPacket>>>) -> v3::ConnectAckReason {
    match refused.map_err(|p| p.map(|p| *p)) {
        Err(Some(MqttPacket::V3(v3::Packet::ConnectAck(ack)))) => ack.return_code,
        other => panic!("expected a v3 CONNACK refusal, got {other:?}"),
    }
}

#[test]
fn a_named_client_is_accepted_with_its_protocol() {
    let accepted = connect(v3_connect(4, "c1", true, Some("u")), OPEN, fresh).expect("accepted");
    assert_eq!(accepted.client_id, "c1");
    assert_eq!(accepted.protocol, 4);
    assert_eq!(accepted.user.as_deref(), Some("u"));
    assert!(!accepted.assigned);
    let accepted = connect(v5_connect("c5", false), OPEN, fresh).expect("accepted");
    assert_eq!(accepted.protocol, 5);
}

#[test]
fn an_empty_client_id_is_assigned_only_with_a_clean_session() {
    let accepted = connect(v3_connect(4, "", true, None), OPEN, fresh).expect("accepted");
    assert_eq!(accepted.client_id, "assigned-1");
    assert!(accepted.assigned);
    let refused = connect(v3_connect(4, "", false, None), OPEN, fresh);
    assert_eq!(v3_code(refused), v3::ConnectAckReason::IdentifierRejected);
    // MQTT 3.1 has no empty client ids at all.
    let refused = connect(v3_connect(3, "", true, None), OPEN, fresh);
    assert_eq!(v3_code(refused), v3::ConnectAckReason::IdentifierRejected);
    match connect(v5_connect("", false), OPEN, fresh).map_err(|p| p.map(|p| *p)) {
        Err(Some(MqttPacket::V5(v5::Packet::ConnectAck(ack)))) => assert_eq!(
            ack.reason_code,
            v5::ConnectAckReason::ClientIdentifierNotValid
        ),
        other => panic!("expected a v5 refusal, got {other:?}"),
    }
}

#[test]
fn the_assigned_id_is_told_to_v5_clients() {
    let accepted = connect(v5_connect("", true), OPEN, fresh).expect("accepted");
    match SessionState::new(&accepted).connack() {
        MqttPacket::V5(v5::Packet::ConnectAck(ack)) => {
            assert_eq!(ack.assigned_client_id.as_deref(), Some("assigned-1"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn anonymous_clients_are_refused_when_not_allowed() {
    let closed = ConnectPolicy {
        allow_anonymous: false,
        ..OPEN
    };
    let refused = connect(v3_connect(4, "c", true, None), closed, fresh);
    assert_eq!(v3_code(refused), v3::ConnectAckReason::NotAuthorized);
    assert!(connect(v3_connect(4, "c", true, Some("u")), closed, fresh).is_ok());
}

#[test]
fn anything_but_connect_first_closes_silently() {
    let ping = MqttPacket::V3(v3::Packet::PingRequest);
    assert!(matches!(connect(ping, OPEN, fresh), Err(None)));
}

#[test]
fn keep_alive_is_one_and_a_half_times() {
    assert_eq!(keep_alive_timeout(0), None);
    assert_eq!(keep_alive_timeout(10), Some(Duration::from_secs(15)));
}

fn session(level: u8) -> SessionState {
    let packet = if level == 5 {
        v5_connect("c", true)
    } else {
        v3_connect(level, "c", true, None)
    };
    SessionState::new(&connect(packet, OPEN, fresh).expect("accepted"))
}

fn id(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).expect("non-zero")
}

#[test]
fn subscribe_grants_qos0_and_refuses_invalid_filters() {
    let mut state = session(4);
    let effects = state.on_packet(MqttPacket::V3(v3::Packet::Subscribe {
        packet_id: id(1),
        topic_filters: vec![
            ("a/+".into(), QoS::AtLeastOnce),
            ("a/#/b".into(), QoS::AtMostOnce),
        ],
    }));
    let ack = v3::Packet::SubscribeAck {
        packet_id: id(1),
        status: vec![
            v3::SubscribeReturnCode::Success(QoS::AtMostOnce),
            v3::SubscribeReturnCode::Failure,
        ],
    };
    same(
        effects,
        vec![
            Effect::Subscribe(vec!["a/+".to_owned()]),
            Effect::Send(MqttPacket::V3(ack)),
        ],
    );
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
fn publishes_are_routed_and_acknowledged_by_qos() {
    let mut state = session(4);
    let route = || Effect::Publish {
        topic: "t".to_owned(),
        payload: Bytes::from_static(b"hi"),
    };
    let qos0 = MqttPacket::V3(v3::Packet::Publish(publish(QoS::AtMostOnce, None, "t")));
    same(state.on_packet(qos0), vec![route()]);
    let qos1 = MqttPacket::V3(v3::Packet::Publish(publish(QoS::AtLeastOnce, Some(7), "t")));
    let puback = MqttPacket::V3(v3::Packet::PublishAck { packet_id: id(7) });
    same(state.on_packet(qos1), vec![route(), Effect::Send(puback)]);
    let qos2 = || MqttPacket::V3(v3::Packet::Publish(publish(QoS::ExactlyOnce, Some(8), "t")));
    let pubrec = || {
        Effect::Send(MqttPacket::V3(v3::Packet::PublishReceived {
            packet_id: id(8),
        }))
    };
    same(state.on_packet(qos2()), vec![route(), pubrec()]);
    // A resent QoS 2 publish before PUBREL is not routed twice.
    same(state.on_packet(qos2()), vec![pubrec()]);
    let pubrel = MqttPacket::V3(v3::Packet::PublishRelease { packet_id: id(8) });
    let pubcomp = MqttPacket::V3(v3::Packet::PublishComplete { packet_id: id(8) });
    same(state.on_packet(pubrel), vec![Effect::Send(pubcomp)]);
}

#[test]
fn protocol_violations_close() {
    let mut state = session(4);
    let wild = MqttPacket::V3(v3::Packet::Publish(publish(QoS::AtMostOnce, None, "a/+")));
    same(state.on_packet(wild), vec![Effect::Close]);
    let again = v3_connect(4, "c", true, None);
    same(state.on_packet(again), vec![Effect::Close]);
    let wrong_version = MqttPacket::V5(v5::Packet::PingRequest);
    same(state.on_packet(wrong_version), vec![Effect::Close]);
    let disconnect = MqttPacket::V3(v3::Packet::Disconnect);
    same(state.on_packet(disconnect), vec![Effect::Close]);
}

#[test]
fn v5_ping_and_delivery_use_v5_packets() {
    let mut state = session(5);
    same(
        state.on_packet(MqttPacket::V5(v5::Packet::PingRequest)),
        vec![Effect::Send(MqttPacket::V5(v5::Packet::PingResponse))],
    );
    assert!(matches!(
        state.deliver("t", Bytes::new()),
        MqttPacket::V5(v5::Packet::Publish(_))
    ));
    assert!(matches!(
        session(3).deliver("t", Bytes::new()),
        MqttPacket::V3(v3::Packet::Publish(_))
    ));
}

#[test]
fn a_protocol_level_the_listener_does_not_allow_is_refused() {
    let only_v5 = ConnectPolicy {
        allowed_protocols: AllowedProtocols::of(&[5]),
        ..OPEN
    };
    let refused = connect(v3_connect(4, "c", true, None), only_v5, fresh);
    assert_eq!(
        v3_code(refused),
        v3::ConnectAckReason::UnacceptableProtocolVersion
    );
    assert!(connect(v5_connect("c", true), only_v5, fresh).is_ok());
    assert!(AllowedProtocols::ALL.allows(3) && !AllowedProtocols::ALL.allows(6));
    assert!(!AllowedProtocols::of(&[3, 4, 9]).allows(5));
}
