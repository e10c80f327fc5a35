//! One trace line per MQTT packet, in VerneMQ's spirit:
//! `2026-11-27T07:00:01.123Z MQTT RECV: CID: "c1" PUBLISH(d0, q1, r0, m3, "a/b") with payload:`
//! followed by the (truncated) payload on an indented line. Passwords are never shown.

use std::fmt::{self, Write as _};

use chrono::{DateTime, Utc};
use rmqtt_codec::types::{Publish, QoS};
use rmqtt_codec::{v3, v5, MqttPacket};

/// Which way a packet went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// From the client.
    Received,
    /// To the client.
    Sent,
}

/// Indents the lines that follow a packet's first line (payloads, topic lists).
const INDENT: &str = "\n    ";

/// The trace line of `packet` (`None` for the protocol-version probe, which is no packet).
pub(crate) fn packet_line(
    at: DateTime<Utc>,
    direction: Direction,
    client_id: &str,
    packet: &MqttPacket,
    trunc_payload: usize,
) -> Option<String> {
    let mut line = String::with_capacity(96);
    let way = match direction {
        Direction::Received => "RECV",
        Direction::Sent => "SEND",
    };
    let stamp = at.format("%Y-%m-%dT%H:%M:%S%.3fZ");
    let _ = write!(line, "{stamp} MQTT {way}: CID: {client_id:?} ");
    // Writing to a `String` cannot fail.
    let _ = match packet {
        MqttPacket::V3(packet) => v3_packet(&mut line, packet, trunc_payload),
        MqttPacket::V5(packet) => v5_packet(&mut line, packet, trunc_payload),
        MqttPacket::Version(_) => return None,
    };
    Some(line)
}

/// What a CONNECT line shows, whatever the protocol.
struct ConnectLine<'a> {
    version: u8,
    client_id: &'a str,
    user: Option<&'a str>,
    password: bool,
    clean: bool,
    keep_alive: u16,
    /// MQTT 5's session expiry interval.
    expiry: Option<u32>,
    will: Option<(QoS, bool, &'a str)>,
}

fn v3_packet(out: &mut String, packet: &v3::Packet, trunc_payload: usize) -> fmt::Result {
    use v3::Packet as P;
    match packet {
        P::Connect(c) => connect(
            out,
            &ConnectLine {
                version: c.protocol.0,
                client_id: &c.client_id,
                user: c.username.as_deref(),
                password: c.password.is_some(),
                clean: c.clean_session,
                keep_alive: c.keep_alive,
                expiry: None,
                will: c.last_will.as_ref().map(|w| (w.qos, w.retain, &*w.topic)),
            },
        ),
        P::ConnectAck(ack) => connack(out, ack.session_present, u8::from(ack.return_code)),
        P::Publish(publish) => self::publish(out, publish, trunc_payload),
        P::PublishAck { packet_id } => ack(out, "PUBACK", packet_id, 0),
        P::PublishReceived { packet_id } => ack(out, "PUBREC", packet_id, 0),
        P::PublishRelease { packet_id } => ack(out, "PUBREL", packet_id, 0),
        P::PublishComplete { packet_id } => ack(out, "PUBCOMP", packet_id, 0),
        P::Subscribe {
            packet_id,
            topic_filters,
        } => {
            write!(out, "SUBSCRIBE(m{packet_id}) with topics:")?;
            for (filter, qos) in topic_filters {
                write!(out, "{INDENT}q:{}, t: {:?}", qos.value(), &**filter)?;
            }
            Ok(())
        }
        P::SubscribeAck { packet_id, status } => {
            let codes: Vec<u8> = status
                .iter()
                .map(|s| match s {
                    v3::SubscribeReturnCode::Success(qos) => qos.value(),
                    v3::SubscribeReturnCode::Failure => 0x80,
                })
                .collect();
            write!(out, "SUBACK(m{packet_id}, qt{codes:?})")
        }
        P::Unsubscribe {
            packet_id,
            topic_filters,
        } => unsubscribe(out, packet_id, topic_filters),
        P::UnsubscribeAck { packet_id } => ack(out, "UNSUBACK", packet_id, 0),
        P::PingRequest => out.write_str("PINGREQ()"),
        P::PingResponse => out.write_str("PINGRESP()"),
        P::Disconnect => out.write_str("DISCONNECT()"),
    }
}

fn v5_packet(out: &mut String, packet: &v5::Packet, trunc_payload: usize) -> fmt::Result {
    use v5::Packet as P;
    match packet {
        P::Connect(c) => connect(
            out,
            &ConnectLine {
                version: 5,
                client_id: &c.client_id,
                user: c.username.as_deref(),
                password: c.password.is_some(),
                clean: c.clean_start,
                keep_alive: c.keep_alive,
                expiry: Some(c.session_expiry_interval_secs),
                will: c.last_will.as_ref().map(|w| (w.qos, w.retain, &*w.topic)),
            },
        ),
        P::ConnectAck(a) => connack(out, a.session_present, a.reason_code as u8),
        P::Publish(publish) => self::publish(out, publish, trunc_payload),
        P::PublishAck(a) => ack(out, "PUBACK", a.packet_id, a.reason_code as u8),
        P::PublishReceived(a) => ack(out, "PUBREC", a.packet_id, a.reason_code as u8),
        P::PublishRelease(a) => ack(out, "PUBREL", a.packet_id, a.reason_code as u8),
        P::PublishComplete(a) => ack(out, "PUBCOMP", a.packet_id, a.reason_code as u8),
        P::Subscribe(subscribe) => {
            write!(out, "SUBSCRIBE(m{}) with topics:", subscribe.packet_id)?;
            for (filter, o) in &subscribe.topic_filters {
                write!(
                    out,
                    "{INDENT}q:{}, nl: {}, rap: {}, rh: {}, t: {:?}",
                    o.qos.value(),
                    u8::from(o.no_local),
                    u8::from(o.retain_as_published),
                    o.retain_handling as u8,
                    &**filter
                )?;
            }
            Ok(())
        }
        P::SubscribeAck(a) => {
            let codes: Vec<u8> = a.status.iter().map(|s| *s as u8).collect();
            write!(out, "SUBACK(m{}, qt{codes:?})", a.packet_id)
        }
        P::Unsubscribe(u) => unsubscribe(out, u.packet_id, &u.topic_filters),
        P::UnsubscribeAck(a) => ack(out, "UNSUBACK", a.packet_id, 0),
        P::PingRequest => out.write_str("PINGREQ()"),
        P::PingResponse => out.write_str("PINGRESP()"),
        P::Disconnect(d) => write!(out, "DISCONNECT(rc: {})", d.reason_code as u8),
        P::Auth(auth) => write!(out, "AUTH(rc: {})", auth.reason_code as u8),
    }
}

/// `CONNECT(c: "c1", v: 4, u: "alice", p: <hidden>, cs: 1, ka: 60[, se: 0][, lwt: (q1, r0, "t")])`.
fn connect(out: &mut String, c: &ConnectLine<'_>) -> fmt::Result {
    write!(out, "CONNECT(c: {:?}, v: {}, u: ", c.client_id, c.version)?;
    match c.user {
        Some(user) => write!(out, "{user:?}")?,
        None => out.write_str("undefined")?,
    }
    let password = if c.password { "<hidden>" } else { "undefined" };
    let clean = u8::from(c.clean);
    write!(out, ", p: {password}, cs: {clean}, ka: {}", c.keep_alive)?;
    if let Some(expiry) = c.expiry {
        write!(out, ", se: {expiry}")?;
    }
    if let Some((qos, retain, topic)) = c.will {
        let (qos, retain) = (qos.value(), u8::from(retain));
        write!(out, ", lwt: (q{qos}, r{retain}, {topic:?})")?;
    }
    out.write_str(")")
}

fn connack(out: &mut String, session_present: bool, rc: u8) -> fmt::Result {
    write!(out, "CONNACK(sp: {}, rc: {rc})", u8::from(session_present))
}

/// `PUBACK(m3)`, or with MQTT 5's reason code when it is not success: `PUBACK(m3, rc: 16)`.
fn ack(out: &mut String, name: &str, packet_id: impl fmt::Display, rc: u8) -> fmt::Result {
    match rc {
        0 => write!(out, "{name}(m{packet_id})"),
        rc => write!(out, "{name}(m{packet_id}, rc: {rc})"),
    }
}

fn publish(out: &mut String, publish: &Publish, trunc_payload: usize) -> fmt::Result {
    write!(
        out,
        "PUBLISH(d{}, q{}, r{}, m{}, {:?})",
        u8::from(publish.dup),
        publish.qos.value(),
        u8::from(publish.retain),
        publish.packet_id.map_or(0, |id| id.get()),
        &*publish.topic
    )?;
    if publish.payload.is_empty() {
        return out.write_str(" with empty payload");
    }
    out.write_str(" with payload:")?;
    out.write_str(INDENT)?;
    payload(out, &publish.payload, trunc_payload);
    Ok(())
}

fn unsubscribe(
    out: &mut String,
    packet_id: impl fmt::Display,
    filters: &[impl AsRef<str>],
) -> fmt::Result {
    write!(out, "UNSUBSCRIBE(m{packet_id}) with topics:")?;
    for filter in filters {
        write!(out, "{INDENT}t: {:?}", filter.as_ref())?;
    }
    Ok(())
}

/// The first `limit` bytes of `bytes`: as text when they are UTF-8 (a character cut by the
/// limit is dropped; line breaks keep the indent, other control characters are escaped),
/// otherwise escaped byte by byte (`\xff`). A cut payload ends with how much was left out.
pub(crate) fn payload(out: &mut String, bytes: &[u8], limit: usize) {
    let shown = bytes.get(..limit).unwrap_or(bytes);
    let cut = shown.len() < bytes.len();
    let text = match std::str::from_utf8(shown) {
        Ok(text) => Some(text),
        // Only the last character is incomplete, and the limit cut it.
        Err(error) if cut && error.error_len().is_none() => shown
            .get(..error.valid_up_to())
            .and_then(|valid| std::str::from_utf8(valid).ok()),
        Err(_) => None,
    };
    let kept = match text {
        Some(text) => {
            for c in text.chars() {
                match c {
                    '\n' => out.push_str(INDENT),
                    '\t' => out.push(c),
                    c if c.is_control() => out.extend(c.escape_default()),
                    c => out.push(c),
                }
            }
            text.len()
        }
        None => {
            let _ = write!(out, "{}", shown.escape_ascii());
            shown.len()
        }
    };
    if bytes.len() > kept {
        let _ = write!(out, "... ({} more bytes)", bytes.len() - kept);
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU16;

    use bytes::Bytes;

    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T07:00:01.123456Z")
            .expect("a date")
            .with_timezone(&Utc)
    }

    fn line(direction: Direction, packet: MqttPacket) -> String {
        packet_line(at(), direction, "c1", &packet, 200).expect("a packet")
    }

    fn publish(qos: QoS, payload: &'static [u8]) -> Box<Publish> {
        Box::new(Publish {
            dup: false,
            retain: false,
            qos,
            topic: "a/b".into(),
            packet_id: NonZeroU16::new(u16::from(qos.value()) * 3),
            payload: Bytes::from_static(payload),
            properties: None,
        })
    }

    fn text(bytes: &[u8], limit: usize) -> String {
        let mut out = String::new();
        payload(&mut out, bytes, limit);
        out
    }

    #[test]
    fn publish_lines_show_flags_topic_and_payload() {
        let packet = MqttPacket::V3(v3::Packet::Publish(publish(QoS::AtLeastOnce, b"hello")));
        assert_eq!(
            line(Direction::Received, packet),
            "2026-11-27T07:00:01.123Z MQTT RECV: CID: \"c1\" PUBLISH(d0, q1, r0, m3, \"a/b\") with payload:\n    hello"
        );
        let packet = MqttPacket::V5(v5::Packet::Publish(publish(QoS::AtMostOnce, b"")));
        assert!(line(Direction::Sent, packet).ends_with(
            "MQTT SEND: CID: \"c1\" PUBLISH(d0, q0, r0, m0, \"a/b\") with empty payload"
        ));
    }

    /// The line after the client id.
    fn tail(packet: MqttPacket) -> String {
        let line = line(Direction::Sent, packet);
        line.split_once("\"c1\" ")
            .map(|(_, t)| t.to_owned())
            .unwrap_or(line)
    }

    #[test]
    fn acks_pings_and_subscriptions() {
        let id = NonZeroU16::new(3).expect("non-zero");
        let puback = v3::Packet::PublishAck { packet_id: id };
        assert_eq!(tail(MqttPacket::V3(puback)), "PUBACK(m3)");
        assert_eq!(tail(MqttPacket::V3(v3::Packet::PingResponse)), "PINGRESP()");
        let status = vec![
            v3::SubscribeReturnCode::Success(QoS::AtLeastOnce),
            v3::SubscribeReturnCode::Failure,
        ];
        let suback = v3::Packet::SubscribeAck {
            packet_id: id,
            status,
        };
        assert_eq!(tail(MqttPacket::V3(suback)), "SUBACK(m3, qt[1, 128])");
        let topic_filters = vec![("a/#".into(), QoS::ExactlyOnce)];
        let subscribe = v3::Packet::Subscribe {
            packet_id: id,
            topic_filters,
        };
        let expected = "SUBSCRIBE(m3) with topics:\n    q:2, t: \"a/#\"";
        assert_eq!(tail(MqttPacket::V3(subscribe)), expected);
        let ack = v5::PublishAck {
            packet_id: id,
            reason_code: v5::PublishAckReason::NoMatchingSubscribers,
            properties: Default::default(),
            reason_string: None,
        };
        let ack = MqttPacket::V5(v5::Packet::PublishAck(ack));
        assert_eq!(tail(ack), "PUBACK(m3, rc: 16)", "MQTT 5 reason codes");
    }

    #[test]
    fn connect_hides_the_password_and_shows_the_will() {
        let connect = v3::Connect {
            protocol: rmqtt_codec::types::Protocol(4),
            clean_session: true,
            keep_alive: 60,
            last_will: Some(v3::LastWill {
                qos: QoS::AtLeastOnce,
                retain: true,
                topic: "gone".into(),
                message: Bytes::from_static(b"bye"),
            }),
            client_id: "c1".into(),
            username: Some("alice".into()),
            password: Some(Bytes::from_static(b"secret")),
            cert: None,
        };
        let text = line(
            Direction::Received,
            MqttPacket::V3(v3::Packet::Connect(Box::new(connect))),
        );
        assert!(
            text.ends_with("CONNECT(c: \"c1\", v: 4, u: \"alice\", p: <hidden>, cs: 1, ka: 60, lwt: (q1, r1, \"gone\"))"),
            "{text}"
        );
        assert!(!text.contains("secret"));
    }

    #[test]
    fn the_version_probe_is_no_line() {
        let probe = MqttPacket::Version(rmqtt_codec::version::ProtocolVersion::MQTT3);
        assert_eq!(
            packet_line(at(), Direction::Received, "c1", &probe, 10),
            None
        );
    }

    #[test]
    fn payloads_are_truncated_text_or_escaped_bytes() {
        assert_eq!(text(b"hello", 200), "hello");
        assert_eq!(text(b"hello world", 5), "hello... (6 more bytes)");
        assert_eq!(text(b"", 5), "");
        assert_eq!(text(b"abc", 0), "... (3 more bytes)");
        // "é" is two bytes: a cut through it drops it instead of escaping half of it.
        assert_eq!(text("aé".as_bytes(), 2), "a... (2 more bytes)");
        assert_eq!(text("aé".as_bytes(), 3), "aé");
        assert_eq!(text(b"\xff\x00ab", 10), "\\xff\\x00ab");
        assert_eq!(text(b"one\ntwo\x07", 20), "one\n    two\\u{7}");
        assert_eq!(text(b"a\xc3", 20), "a\\xc3", "not cut: an invalid payload");
    }
}
