//! Unit tests of the CONNECT rules: no runtime, no sockets.

use rmqtt_codec::types::Protocol;

use super::*;

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
    let accepted =
        connect(v3_connect(4, "c1", true, Some("u")), OPEN, 100, fresh).expect("accepted");
    assert_eq!(accepted.client_id, "c1");
    assert_eq!(accepted.protocol, 4);
    assert_eq!(accepted.user.as_deref(), Some("u"));
    assert!(!accepted.assigned);
    let accepted = connect(v5_connect("c5", false), OPEN, 100, fresh).expect("accepted");
    assert_eq!(accepted.protocol, 5);
}

#[test]
fn an_empty_client_id_is_assigned_only_with_a_clean_session() {
    let accepted = connect(v3_connect(4, "", true, None), OPEN, 100, fresh).expect("accepted");
    assert_eq!(accepted.client_id, "assigned-1");
    assert!(accepted.assigned);
    let refused = connect(v3_connect(4, "", false, None), OPEN, 100, fresh);
    assert_eq!(v3_code(refused), v3::ConnectAckReason::IdentifierRejected);
    // MQTT 3.1 has no empty client ids at all.
    let refused = connect(v3_connect(3, "", true, None), OPEN, 100, fresh);
    assert_eq!(v3_code(refused), v3::ConnectAckReason::IdentifierRejected);
    match connect(v5_connect("", false), OPEN, 100, fresh).map_err(|p| p.map(|p| *p)) {
        Err(Some(MqttPacket::V5(v5::Packet::ConnectAck(ack)))) => assert_eq!(
            ack.reason_code,
            v5::ConnectAckReason::ClientIdentifierNotValid
        ),
        other => panic!("expected a v5 refusal, got {other:?}"),
    }
}

#[test]
fn the_assigned_id_is_told_to_v5_clients() {
    let accepted = connect(v5_connect("", true), OPEN, 100, fresh).expect("accepted");
    let grants = crate::sessions::state::Grants {
        receive_max: 10,
        topic_alias_max: 0,
    };
    match crate::sessions::state::SessionState::new(&accepted, grants).connack(false) {
        MqttPacket::V5(v5::Packet::ConnectAck(ack)) => {
            assert_eq!(ack.assigned_client_id.as_deref(), Some("assigned-1"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn anything_but_connect_first_closes_silently() {
    let ping = MqttPacket::V3(v3::Packet::PingRequest);
    assert!(matches!(connect(ping, OPEN, 100, fresh), Err(None)));
}

#[test]
fn keep_alive_is_one_and_a_half_times() {
    assert_eq!(keep_alive_timeout(0), None);
    assert_eq!(keep_alive_timeout(10), Some(Duration::from_secs(15)));
}

#[test]
fn a_protocol_level_the_listener_does_not_allow_is_refused() {
    let only_v5 = ConnectPolicy {
        allowed_protocols: AllowedProtocols::of(&[5]),
        ..OPEN
    };
    let refused = connect(v3_connect(4, "c", true, None), only_v5, 100, fresh);
    assert_eq!(
        v3_code(refused),
        v3::ConnectAckReason::UnacceptableProtocolVersion
    );
    assert!(connect(v5_connect("c", true), only_v5, 100, fresh).is_ok());
    assert!(AllowedProtocols::ALL.allows(3) && !AllowedProtocols::ALL.allows(6));
    assert!(!AllowedProtocols::of(&[3, 4, 9]).allows(5));
}

#[test]
fn a_client_id_longer_than_the_limit_is_rejected() {
    let long = "x".repeat(101);
    let refused = connect(v3_connect(4, &long, true, None), OPEN, 100, fresh);
    assert_eq!(v3_code(refused), v3::ConnectAckReason::IdentifierRejected);
}

#[test]
fn clean_session_and_v5_expiry_decide_how_long_a_session_lives() {
    let clean = connect(v3_connect(4, "c", true, None), OPEN, 100, fresh).expect("accepted");
    assert_eq!(clean.expiry, Some(SessionExpiry::After(Duration::ZERO)));
    let kept = connect(v3_connect(4, "c", false, None), OPEN, 100, fresh).expect("accepted");
    assert_eq!(
        kept.expiry, None,
        "the node's persistent_client_expiration applies"
    );
    let v5 = connect(v5_connect("c", false), OPEN, 100, fresh).expect("accepted");
    assert_eq!(v5.expiry, Some(SessionExpiry::After(Duration::ZERO)));
}

#[test]
fn a_will_with_a_wildcard_topic_makes_the_connect_malformed() {
    let packet = MqttPacket::V3(v3::Packet::Connect(Box::new(v3::Connect {
        protocol: Protocol(4),
        clean_session: true,
        client_id: "c".into(),
        last_will: Some(v3::LastWill {
            qos: QoS::AtLeastOnce,
            retain: true,
            topic: "a/#".into(),
            message: Bytes::from_static(b"bye"),
        }),
        ..v3::Connect::default()
    })));
    assert!(matches!(connect(packet, OPEN, 100, fresh), Err(None)));
}
