//! The MQTT session state machine: CONNECT rules, then one packet in → effects out, without I/O.

use std::collections::HashSet;
use std::num::NonZeroU16;
use std::time::Duration;

use bytes::Bytes;
use rmqtt_codec::types::{Publish, QoS};
use rmqtt_codec::{v3, v5, MqttPacket};

use crate::router::{validate_filter, validate_topic};

/// What the node's configuration says about new connections.
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The client id, assigned by the node if the client sent none.
    pub client_id: String,
    /// Whether the node made up the client id.
    pub assigned: bool,
    /// The username, if any.
    pub user: Option<String>,
    /// 3 (MQTT 3.1), 4 (3.1.1) or 5.
    pub protocol: u8,
    /// The keep-alive the client asked for, in seconds (0 = none).
    pub keep_alive: u16,
}

/// What the connection must do after a packet.
#[derive(Debug)]
pub enum Effect {
    /// Subscribe to these valid filters (before the SUBACK that follows is sent).
    Subscribe(Vec<String>),
    /// Remove these subscriptions.
    Unsubscribe(Vec<String>),
    /// Route a message to the matching subscribers.
    Publish {
        /// Topic name.
        topic: String,
        /// Payload.
        payload: Bytes,
    },
    /// Send a packet to the client.
    Send(MqttPacket),
    /// Close the connection (after sending what came before).
    Close,
}

/// Decides on a CONNECT: `Ok` with what was accepted, or `Err` with the CONNACK that refuses it.
/// `fresh_id` makes a client id for clients that send none.
pub fn connect(
    packet: MqttPacket,
    policy: ConnectPolicy,
    fresh_id: impl FnOnce() -> String,
) -> Result<Accepted, Option<Box<MqttPacket>>> {
    let (protocol, clean, keep_alive, client_id, user) = match packet {
        MqttPacket::V3(v3::Packet::Connect(c)) => (
            c.protocol.level(),
            c.clean_session,
            c.keep_alive,
            c.client_id,
            c.username,
        ),
        MqttPacket::V5(v5::Packet::Connect(c)) => {
            (5, c.clean_start, c.keep_alive, c.client_id, c.username)
        }
        // Anything before CONNECT is a protocol violation: close without an answer.
        _ => return Err(None),
    };
    let mut accepted = Accepted {
        client_id: client_id.to_string(),
        assigned: false,
        user: user.map(|u| u.to_string()),
        protocol,
        keep_alive,
    };
    if !policy.allowed_protocols.allows(protocol) {
        return Err(Some(Box::new(refusal(
            protocol,
            Refusal::UnsupportedProtocol,
        ))));
    }
    if accepted.client_id.is_empty() {
        if !clean || protocol == 3 {
            return Err(Some(Box::new(refusal(
                protocol,
                Refusal::IdentifierRejected,
            ))));
        }
        accepted.client_id = fresh_id();
        accepted.assigned = true;
    }
    if accepted.user.is_none() && !policy.allow_anonymous {
        return Err(Some(Box::new(refusal(protocol, Refusal::NotAuthorized))));
    }
    Ok(accepted)
}

/// Why a CONNECT is refused.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    UnsupportedProtocol,
    IdentifierRejected,
    NotAuthorized,
}

fn refusal(protocol: u8, why: Refusal) -> MqttPacket {
    if protocol == 5 {
        let reason_code = match why {
            Refusal::UnsupportedProtocol => v5::ConnectAckReason::UnsupportedProtocolVersion,
            Refusal::IdentifierRejected => v5::ConnectAckReason::ClientIdentifierNotValid,
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

/// A connected session: its protocol and the QoS 2 packet ids received but not yet released.
#[derive(Debug)]
pub struct SessionState {
    protocol: u8,
    assigned_id: Option<String>,
    releasing: HashSet<NonZeroU16>,
}

impl SessionState {
    /// The session after `accepted`.
    pub fn new(accepted: &Accepted) -> Self {
        Self {
            protocol: accepted.protocol,
            assigned_id: accepted.assigned.then(|| accepted.client_id.clone()),
            releasing: HashSet::new(),
        }
    }

    /// Whether the client speaks MQTT 5.
    pub fn is_v5(&self) -> bool {
        self.protocol == 5
    }

    /// The CONNACK that accepts the session (no stored sessions yet: `session_present` is false).
    pub fn connack(&self) -> MqttPacket {
        if self.is_v5() {
            MqttPacket::V5(v5::Packet::ConnectAck(Box::new(v5::ConnectAck {
                reason_code: v5::ConnectAckReason::Success,
                assigned_client_id: self.assigned_id.as_deref().map(Into::into),
                shared_subscription_available: false,
                retain_available: false,
                ..v5::ConnectAck::default()
            })))
        } else {
            MqttPacket::V3(v3::Packet::ConnectAck(v3::ConnectAck {
                return_code: v3::ConnectAckReason::ConnectionAccepted,
                session_present: false,
            }))
        }
    }

    /// A QoS 0 PUBLISH of a routed message.
    pub fn deliver(&self, topic: &str, payload: Bytes) -> MqttPacket {
        let publish = Box::new(Publish {
            dup: false,
            retain: false,
            qos: QoS::AtMostOnce,
            topic: topic.into(),
            packet_id: None,
            payload,
            properties: None,
        });
        if self.is_v5() {
            MqttPacket::V5(v5::Packet::Publish(publish))
        } else {
            MqttPacket::V3(v3::Packet::Publish(publish))
        }
    }

    /// Handles one packet from the client.
    pub fn on_packet(&mut self, packet: MqttPacket) -> Vec<Effect> {
        match packet {
            MqttPacket::V3(packet) if !self.is_v5() => self.on_v3(packet),
            MqttPacket::V5(packet) if self.is_v5() => self.on_v5(packet),
            _ => vec![Effect::Close],
        }
    }

    fn on_v3(&mut self, packet: v3::Packet) -> Vec<Effect> {
        match packet {
            v3::Packet::Publish(publish) => self.publish(*publish),
            v3::Packet::PublishRelease { packet_id } => {
                self.releasing.remove(&packet_id);
                send_v3(v3::Packet::PublishComplete { packet_id })
            }
            v3::Packet::Subscribe {
                packet_id,
                topic_filters,
            } => {
                let (valid, codes) = sort_filters(topic_filters.iter().map(|(f, _)| f.as_ref()));
                let status = codes
                    .into_iter()
                    .map(|ok| match ok {
                        true => v3::SubscribeReturnCode::Success(QoS::AtMostOnce),
                        false => v3::SubscribeReturnCode::Failure,
                    })
                    .collect();
                let ack = v3::Packet::SubscribeAck { packet_id, status };
                vec![Effect::Subscribe(valid), Effect::Send(MqttPacket::V3(ack))]
            }
            v3::Packet::Unsubscribe {
                packet_id,
                topic_filters,
            } => {
                let filters = topic_filters.iter().map(ToString::to_string).collect();
                let ack = v3::Packet::UnsubscribeAck { packet_id };
                vec![
                    Effect::Unsubscribe(filters),
                    Effect::Send(MqttPacket::V3(ack)),
                ]
            }
            v3::Packet::PingRequest => send_v3(v3::Packet::PingResponse),
            // DISCONNECT, and packets only a server sends, end the connection.
            _ => vec![Effect::Close],
        }
    }

    fn on_v5(&mut self, packet: v5::Packet) -> Vec<Effect> {
        match packet {
            v5::Packet::Publish(publish) => self.publish(*publish),
            v5::Packet::PublishRelease(release) => {
                self.releasing.remove(&release.packet_id);
                send_v5(v5::Packet::PublishComplete(v5::PublishAck2 {
                    packet_id: release.packet_id,
                    ..v5::PublishAck2::default()
                }))
            }
            v5::Packet::Subscribe(subscribe) => {
                let filters = subscribe.topic_filters.iter().map(|(f, _)| f.as_ref());
                let (valid, codes) = sort_filters(filters);
                let status = codes
                    .into_iter()
                    .map(|ok| match ok {
                        true => v5::SubscribeAckReason::GrantedQos0,
                        false => v5::SubscribeAckReason::TopicFilterInvalid,
                    })
                    .collect();
                let ack = v5::Packet::SubscribeAck(v5::SubscribeAck {
                    packet_id: subscribe.packet_id,
                    properties: Vec::new(),
                    reason_string: None,
                    status,
                });
                vec![Effect::Subscribe(valid), Effect::Send(MqttPacket::V5(ack))]
            }
            v5::Packet::Unsubscribe(unsubscribe) => {
                let filters = unsubscribe.topic_filters.iter().map(ToString::to_string);
                let ack = v5::Packet::UnsubscribeAck(v5::UnsubscribeAck {
                    packet_id: unsubscribe.packet_id,
                    properties: Vec::new(),
                    reason_string: None,
                    status: filters
                        .clone()
                        .map(|_| v5::UnsubscribeAckReason::Success)
                        .collect(),
                });
                vec![
                    Effect::Unsubscribe(filters.collect()),
                    Effect::Send(MqttPacket::V5(ack)),
                ]
            }
            v5::Packet::PingRequest => send_v5(v5::Packet::PingResponse),
            _ => vec![Effect::Close],
        }
    }

    /// QoS 0 is routed; QoS 1 is routed then acknowledged; QoS 2 is routed once per packet id
    /// (a duplicate before PUBREL is only acknowledged again).
    fn publish(&mut self, publish: Publish) -> Vec<Effect> {
        if validate_topic(&publish.topic).is_err() {
            return vec![Effect::Close];
        }
        let route = Effect::Publish {
            topic: publish.topic.to_string(),
            payload: publish.payload,
        };
        let Some(packet_id) = publish.packet_id else {
            return match publish.qos {
                QoS::AtMostOnce => vec![route],
                _ => vec![Effect::Close],
            };
        };
        match publish.qos {
            QoS::AtMostOnce => vec![Effect::Close],
            QoS::AtLeastOnce => vec![route, Effect::Send(self.ack(packet_id, false))],
            QoS::ExactlyOnce => {
                let mut effects = Vec::new();
                if self.releasing.insert(packet_id) {
                    effects.push(route);
                }
                effects.push(Effect::Send(self.ack(packet_id, true)));
                effects
            }
        }
    }

    /// PUBACK (`received` false) or PUBREC (`received` true).
    fn ack(&self, packet_id: NonZeroU16, received: bool) -> MqttPacket {
        if self.is_v5() {
            let ack = v5::PublishAck {
                packet_id,
                ..v5::PublishAck::default()
            };
            MqttPacket::V5(match received {
                true => v5::Packet::PublishReceived(ack),
                false => v5::Packet::PublishAck(ack),
            })
        } else {
            MqttPacket::V3(match received {
                true => v3::Packet::PublishReceived { packet_id },
                false => v3::Packet::PublishAck { packet_id },
            })
        }
    }
}

fn send_v3(packet: v3::Packet) -> Vec<Effect> {
    vec![Effect::Send(MqttPacket::V3(packet))]
}

fn send_v5(packet: v5::Packet) -> Vec<Effect> {
    vec![Effect::Send(MqttPacket::V5(packet))]
}

/// The valid filters, and per filter in order whether it is valid.
fn sort_filters<'a>(filters: impl Iterator<Item = &'a str>) -> (Vec<String>, Vec<bool>) {
    let mut valid = Vec::new();
    let mut codes = Vec::new();
    for filter in filters {
        let ok = validate_filter(filter).is_ok();
        if ok {
            valid.push(filter.to_owned());
        }
        codes.push(ok);
    }
    (valid, codes)
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
