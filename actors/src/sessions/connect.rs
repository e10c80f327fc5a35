//! CONNECT rules: which clients are accepted, with what session, will and limits, and the
//! CONNACK that refuses the others. Pure logic, no I/O.

use std::num::{NonZeroU16, NonZeroU32};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rmqtt_codec::types::QoS;
use rmqtt_codec::v5::PublishProperties;
use rmqtt_codec::{v3, v5, MqttPacket};

use super::message::Message;
use super::registry::{SessionExpiry, Will};
use crate::router::validate_topic;

/// What the node's configuration and the listener say about new connections (credentials are
/// the authentication plugins' business, see [`crate::plugins::AuthRules`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectPolicy {
    /// `allow_anonymous`: whether a CONNECT without a username is accepted.
    pub allow_anonymous: bool,
    /// The protocol levels the listener accepts (`allowed_protocol_versions`).
    pub allowed_protocols: AllowedProtocols,
}

/// A set of MQTT protocol levels (3 = 3.1, 4 = 3.1.1, 5 = 5.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowedProtocols(u8);

impl AllowedProtocols {
    /// 3.1, 3.1.1 and 5.0.
    pub const ALL: Self = Self(0b111);

    /// The set of `levels`; levels other than 3, 4 and 5 are ignored.
    pub fn of(levels: &[u8]) -> Self {
        Self(
            levels
                .iter()
                .filter(|l| (3..=5).contains(*l))
                .fold(0, |set, l| set | 1 << (l - 3)),
        )
    }

    /// Whether `level` is in the set.
    pub fn allows(self, level: u8) -> bool {
        (3..=5).contains(&level) && self.0 & 1 << (level - 3) != 0
    }
}

impl Default for AllowedProtocols {
    fn default() -> Self {
        Self::ALL
    }
}

/// A CONNECT that was accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The client id, assigned by the node if the client sent none.
    pub client_id: String,
    /// Whether the node made up the client id.
    pub assigned: bool,
    /// The username, if any.
    pub user: Option<String>,
    /// The password, if any (for the authentication plugins; never logged).
    pub password: Option<Bytes>,
    /// 3 (MQTT 3.1), 4 (3.1.1) or 5.
    pub protocol: u8,
    /// The keep-alive the client asked for, in seconds (0 = none).
    pub keep_alive: u16,
    /// Clean session (3.x) / clean start (5).
    pub clean_start: bool,
    /// How long the session outlives the connection, as the client asked (MQTT 5) or as
    /// clean session implies (3.x: `None` = the node's `persistent_client_expiration`).
    pub expiry: Option<SessionExpiry>,
    /// The last will.
    pub will: Option<Will>,
    /// MQTT 5: most unacknowledged QoS 1/2 publishes the client accepts.
    pub receive_max: Option<NonZeroU16>,
    /// MQTT 5: the largest packet the client accepts.
    pub max_packet_size: Option<NonZeroU32>,
}

/// Decides on a CONNECT: `Ok` with what was accepted, or `Err` with the CONNACK that refuses it
/// (`None`: close without an answer). `fresh_id` makes a client id for clients that send none.
pub fn connect(
    packet: MqttPacket,
    policy: ConnectPolicy,
    max_client_id_size: usize,
    fresh_id: impl FnOnce() -> String,
) -> Result<Accepted, Option<Box<MqttPacket>>> {
    let mut accepted = match packet {
        MqttPacket::V3(v3::Packet::Connect(c)) => accept_v3(*c),
        MqttPacket::V5(v5::Packet::Connect(c)) => accept_v5(*c),
        // Anything before CONNECT is a protocol violation: close without an answer.
        _ => return Err(None),
    }
    .ok_or(None)?;
    let protocol = accepted.protocol;
    let refuse = |why| Err(Some(Box::new(refusal(protocol, why))));
    if !policy.allowed_protocols.allows(protocol) {
        return refuse(Refusal::UnsupportedProtocol);
    }
    if accepted.client_id.is_empty() {
        if !accepted.clean_start || protocol == 3 {
            return refuse(Refusal::IdentifierRejected);
        }
        accepted.client_id = fresh_id();
        accepted.assigned = true;
    }
    if accepted.client_id.len() > max_client_id_size {
        return refuse(Refusal::IdentifierRejected);
    }
    Ok(accepted)
}

fn accept_v3(c: v3::Connect) -> Option<Accepted> {
    let will = match c.last_will {
        Some(w) => Some(will(
            w.topic.as_ref(),
            w.message,
            w.qos,
            w.retain,
            None,
            None,
        )?),
        None => None,
    };
    Some(Accepted {
        client_id: c.client_id.to_string(),
        assigned: false,
        user: c.username.map(|u| u.to_string()),
        password: c.password,
        protocol: c.protocol.level(),
        keep_alive: c.keep_alive,
        clean_start: c.clean_session,
        expiry: c
            .clean_session
            .then_some(SessionExpiry::After(Duration::ZERO)),
        will,
        receive_max: None,
        max_packet_size: None,
    })
}

fn accept_v5(c: v5::Connect) -> Option<Accepted> {
    let will = match c.last_will {
        Some(w) => {
            let properties = PublishProperties {
                correlation_data: w.correlation_data,
                message_expiry_interval: w.message_expiry_interval,
                content_type: w.content_type,
                user_properties: w.user_properties,
                is_utf8_payload: w.is_utf8_payload.unwrap_or(false),
                response_topic: w.response_topic,
                ..PublishProperties::default()
            };
            let delay = Duration::from_secs(u64::from(w.will_delay_interval_sec.unwrap_or(0)));
            let topic = w.topic.as_ref();
            Some(will(
                topic,
                w.message,
                w.qos,
                w.retain,
                Some(properties),
                Some(delay),
            )?)
        }
        None => None,
    };
    let expiry = Duration::from_secs(u64::from(c.session_expiry_interval_secs));
    Some(Accepted {
        client_id: c.client_id.to_string(),
        assigned: false,
        user: c.username.map(|u| u.to_string()),
        password: c.password,
        protocol: 5,
        keep_alive: c.keep_alive,
        clean_start: c.clean_start,
        expiry: Some(match c.session_expiry_interval_secs {
            u32::MAX => SessionExpiry::Never,
            _ => SessionExpiry::After(expiry),
        }),
        will,
        receive_max: c.receive_max,
        max_packet_size: c.max_packet_size,
    })
}

/// The will of a CONNECT; `None` (the CONNECT is malformed) for an invalid will topic.
fn will(
    topic: &str,
    payload: Bytes,
    qos: QoS,
    retain: bool,
    properties: Option<PublishProperties>,
    delay: Option<Duration>,
) -> Option<Will> {
    validate_topic(topic).ok()?;
    Some(Will {
        message: Message {
            topic: Arc::from(topic),
            payload,
            qos: qos.value(),
            retain,
            properties: properties.map(Arc::new),
            // Stamped from the expiry interval when the will is published.
            expires_at_ms: None,
            publisher: None,
        },
        delay: delay.unwrap_or_default(),
    })
}

/// Why a CONNECT is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The protocol level is not accepted here.
    UnsupportedProtocol,
    /// The client id is not acceptable.
    IdentifierRejected,
    /// Username or password wrong.
    BadCredentials,
    /// Not allowed to connect.
    NotAuthorized,
}

/// The CONNACK that refuses a CONNECT of `protocol` for `why`.
pub fn refusal(protocol: u8, why: Refusal) -> MqttPacket {
    if protocol == 5 {
        let reason_code = match why {
            Refusal::UnsupportedProtocol => v5::ConnectAckReason::UnsupportedProtocolVersion,
            Refusal::IdentifierRejected => v5::ConnectAckReason::ClientIdentifierNotValid,
            Refusal::BadCredentials => v5::ConnectAckReason::BadUserNameOrPassword,
            Refusal::NotAuthorized => v5::ConnectAckReason::NotAuthorized,
        };
        MqttPacket::V5(v5::Packet::ConnectAck(Box::new(v5::ConnectAck {
            reason_code,
            ..v5::ConnectAck::default()
        })))
    } else {
        let return_code = match why {
            Refusal::UnsupportedProtocol => v3::ConnectAckReason::UnacceptableProtocolVersion,
            Refusal::IdentifierRejected => v3::ConnectAckReason::IdentifierRejected,
            Refusal::BadCredentials => v3::ConnectAckReason::BadUserNameOrPassword,
            Refusal::NotAuthorized => v3::ConnectAckReason::NotAuthorized,
        };
        MqttPacket::V3(v3::Packet::ConnectAck(v3::ConnectAck {
            return_code,
            session_present: false,
        }))
    }
}

/// How long a connection may stay silent: 1.5 × keep-alive; `None` when keep-alive is 0.
pub fn keep_alive_timeout(keep_alive: u16) -> Option<Duration> {
    (keep_alive > 0).then(|| Duration::from_millis(u64::from(keep_alive) * 1500))
}

#[cfg(test)]
#[path = "connect_tests.rs"]
mod tests;
