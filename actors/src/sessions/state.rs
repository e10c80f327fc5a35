//! The MQTT session state machine of one connection: one packet in → effects out, and the
//! packets it sends; no I/O. CONNECT rules are in `connect.rs`, messages in flight in `queue.rs`.

use std::collections::HashMap;
use std::num::NonZeroU16;
use std::sync::Arc;

use rmqtt_codec::types::{Publish, QoS};
use rmqtt_codec::{v3, v5, MqttPacket};

use super::connect::Accepted;
use super::message::{Message, RetainHandling, SubOptions};
use super::queue::Outgoing;
use crate::router::{shared_filter, validate_filter, validate_topic};

/// Asks the authorization plugins whether this client may publish or subscribe.
pub trait Permissions {
    /// May the client publish to `topic`?
    fn may_publish(&self, topic: &str) -> bool;
    /// May the client subscribe to `filter`?
    fn may_subscribe(&self, filter: &str) -> bool;
}

/// What the node grants a connection beyond its CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grants {
    /// MQTT 5 receive maximum: QoS 2 publishes the client may have unreleased.
    pub receive_max: u16,
    /// MQTT 5 topic aliases the client may use (`topic_alias_max_client`).
    pub topic_alias_max: u16,
}

/// What the connection must do after a packet.
#[derive(Debug)]
pub enum Effect {
    /// Subscribe to these filters, then send `ack`, then the retained messages they match.
    Subscribe {
        /// Authorized, valid filters with their options.
        filters: Vec<(String, SubOptions)>,
        /// The SUBACK.
        ack: MqttPacket,
    },
    /// Remove these subscriptions, then answer with [`SessionState::unsuback`].
    Unsubscribe {
        /// The UNSUBSCRIBE's packet id.
        packet_id: NonZeroU16,
        /// Filters.
        filters: Vec<String>,
    },
    /// Route (and retain, if flagged) a message; QoS 1/2 then answer with
    /// [`SessionState::publish_ack`].
    Publish {
        /// The message.
        message: Message,
        /// The PUBLISH's packet id and QoS (QoS 1/2).
        ack: Option<(NonZeroU16, QoS)>,
    },
    /// PUBACK: an outgoing QoS 1 message is done.
    Acknowledged(NonZeroU16),
    /// PUBCOMP: an outgoing QoS 2 message is done.
    Completed(NonZeroU16),
    /// PUBREC: answer with PUBREL.
    Received(NonZeroU16),
    /// PUBREL: free the inbound QoS 2 id and answer with PUBCOMP.
    Released(NonZeroU16),
    /// Send a packet to the client.
    Send(MqttPacket),
    /// The client disconnected normally; MQTT 5 may ask for its will and a new session expiry.
    Disconnect {
        /// Publish the will anyway (MQTT 5 reason 0x04).
        with_will: bool,
        /// MQTT 5 session expiry update, seconds.
        session_expiry: Option<u32>,
    },
    /// Close the connection (MQTT 5: with this DISCONNECT reason first).
    Close(Option<v5::DisconnectReasonCode>),
}

/// A connected session's protocol state.
#[derive(Debug)]
pub struct SessionState {
    protocol: u8,
    client_id: Arc<str>,
    assigned_id: Option<String>,
    grants: Grants,
    aliases: HashMap<u16, Arc<str>>,
}

impl SessionState {
    /// The session after `accepted`.
    pub fn new(accepted: &Accepted, grants: Grants) -> Self {
        Self {
            protocol: accepted.protocol,
            client_id: Arc::from(accepted.client_id.as_str()),
            assigned_id: accepted.assigned.then(|| accepted.client_id.clone()),
            grants,
            aliases: HashMap::new(),
        }
    }

    /// Whether the client speaks MQTT 5.
    pub fn is_v5(&self) -> bool {
        self.protocol == 5
    }

    /// The CONNACK that accepts the session.
    pub fn connack(&self, session_present: bool) -> MqttPacket {
        if !self.is_v5() {
            return MqttPacket::V3(v3::Packet::ConnectAck(v3::ConnectAck {
                return_code: v3::ConnectAckReason::ConnectionAccepted,
                session_present,
            }));
        }
        MqttPacket::V5(v5::Packet::ConnectAck(Box::new(v5::ConnectAck {
            session_present,
            reason_code: v5::ConnectAckReason::Success,
            assigned_client_id: self.assigned_id.as_deref().map(Into::into),
            receive_max: NonZeroU16::new(self.grants.receive_max).unwrap_or(NonZeroU16::MAX),
            topic_alias_max: self.grants.topic_alias_max,
            retain_available: true,
            wildcard_subscription_available: true,
            shared_subscription_available: true,
            subscription_identifiers_available: false,
            ..v5::ConnectAck::default()
        })))
    }

    /// Handles one packet from the client.
    pub fn on_packet(&mut self, packet: MqttPacket, permissions: &dyn Permissions) -> Vec<Effect> {
        match packet {
            MqttPacket::V3(packet) if !self.is_v5() => self.on_v3(packet, permissions),
            MqttPacket::V5(packet) if self.is_v5() => self.on_v5(packet, permissions),
            _ => vec![Effect::Close(None)],
        }
    }

    fn on_v3(&mut self, packet: v3::Packet, permissions: &dyn Permissions) -> Vec<Effect> {
        match packet {
            v3::Packet::Publish(publish) => self.publish(*publish, permissions),
            v3::Packet::PublishAck { packet_id } => vec![Effect::Acknowledged(packet_id)],
            v3::Packet::PublishComplete { packet_id } => vec![Effect::Completed(packet_id)],
            v3::Packet::PublishReceived { packet_id } => vec![Effect::Received(packet_id)],
            v3::Packet::PublishRelease { packet_id } => vec![Effect::Released(packet_id)],
            v3::Packet::Subscribe {
                packet_id,
                topic_filters,
            } => {
                let requests = topic_filters
                    .into_iter()
                    .map(|(filter, qos)| (filter.to_string(), SubOptions::v3(qos.value())));
                self.subscribe(packet_id, requests, permissions)
            }
            v3::Packet::Unsubscribe { topic_filters, .. } if topic_filters.is_empty() => {
                vec![Effect::Close(None)]
            }
            v3::Packet::Unsubscribe {
                packet_id,
                topic_filters,
            } => vec![Effect::Unsubscribe {
                packet_id,
                filters: topic_filters.iter().map(ToString::to_string).collect(),
            }],
            v3::Packet::PingRequest => vec![Effect::Send(MqttPacket::V3(v3::Packet::PingResponse))],
            v3::Packet::Disconnect => vec![Effect::Disconnect {
                with_will: false,
                session_expiry: None,
            }],
            // A second CONNECT, and packets only a server sends, are protocol violations.
            _ => vec![Effect::Close(None)],
        }
    }

    fn on_v5(&mut self, packet: v5::Packet, permissions: &dyn Permissions) -> Vec<Effect> {
        match packet {
            v5::Packet::Publish(publish) => match self.resolve_alias(*publish) {
                Ok(publish) => self.publish(publish, permissions),
                Err(reason) => vec![Effect::Close(Some(reason))],
            },
            v5::Packet::PublishAck(ack) => vec![Effect::Acknowledged(ack.packet_id)],
            v5::Packet::PublishComplete(ack) => vec![Effect::Completed(ack.packet_id)],
            v5::Packet::PublishReceived(ack) => vec![Effect::Received(ack.packet_id)],
            v5::Packet::PublishRelease(ack) => vec![Effect::Released(ack.packet_id)],
            v5::Packet::Subscribe(subscribe) => {
                let requests = subscribe.topic_filters.into_iter().map(|(filter, o)| {
                    let options = SubOptions {
                        qos: o.qos.value(),
                        no_local: o.no_local,
                        retain_as_published: o.retain_as_published,
                        retain_handling: match o.retain_handling {
                            v5::RetainHandling::AtSubscribe => RetainHandling::AtSubscribe,
                            v5::RetainHandling::AtSubscribeNew => RetainHandling::AtNewSubscription,
                            v5::RetainHandling::NoAtSubscribe => RetainHandling::Never,
                        },
                        v5: true,
                    };
                    (filter.to_string(), options)
                });
                self.subscribe(subscribe.packet_id, requests, permissions)
            }
            v5::Packet::Unsubscribe(unsubscribe) if unsubscribe.topic_filters.is_empty() => {
                vec![Effect::Close(Some(v5::DisconnectReasonCode::ProtocolError))]
            }
            v5::Packet::Unsubscribe(unsubscribe) => vec![Effect::Unsubscribe {
                packet_id: unsubscribe.packet_id,
                filters: unsubscribe
                    .topic_filters
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            }],
            v5::Packet::PingRequest => vec![Effect::Send(MqttPacket::V5(v5::Packet::PingResponse))],
            v5::Packet::Disconnect(disconnect) => vec![Effect::Disconnect {
                with_will: disconnect.reason_code
                    == v5::DisconnectReasonCode::DisconnectWithWillMessage,
                session_expiry: disconnect.session_expiry_interval_secs,
            }],
            // A second CONNECT, AUTH (no enhanced authentication here), server packets.
            _ => vec![Effect::Close(Some(v5::DisconnectReasonCode::ProtocolError))],
        }
    }

    /// Applies an MQTT 5 topic alias: a topic with an alias sets it, an empty topic uses it.
    fn resolve_alias(&mut self, mut publish: Publish) -> Result<Publish, v5::DisconnectReasonCode> {
        // Subscription identifiers are the server's to send (MQTT 5 §3.3.4-6).
        if publish
            .properties
            .as_ref()
            .is_some_and(|p| !p.subscription_ids.is_empty())
        {
            return Err(v5::DisconnectReasonCode::ProtocolError);
        }
        let alias = publish
            .properties
            .as_mut()
            .and_then(|p| p.topic_alias.take());
        let Some(alias) = alias else {
            return Ok(publish);
        };
        if alias.get() > self.grants.topic_alias_max {
            return Err(v5::DisconnectReasonCode::TopicAliasInvalid);
        }
        if publish.topic.is_empty() {
            let topic = self
                .aliases
                .get(&alias.get())
                .ok_or(v5::DisconnectReasonCode::ProtocolError)?;
            publish.topic = topic.as_ref().into();
        } else {
            self.aliases
                .insert(alias.get(), Arc::from(publish.topic.as_ref()));
        }
        Ok(publish)
    }

    /// Validates and authorizes a PUBLISH: routed with its ack, or refused.
    fn publish(&mut self, publish: Publish, permissions: &dyn Permissions) -> Vec<Effect> {
        let ack = match (publish.qos, publish.packet_id) {
            (QoS::AtMostOnce, None) => None,
            (QoS::AtLeastOnce | QoS::ExactlyOnce, Some(packet_id)) => {
                Some((packet_id, publish.qos))
            }
            _ => return vec![Effect::Close(Some(v5::DisconnectReasonCode::ProtocolError))],
        };
        if validate_topic(&publish.topic).is_err() {
            return vec![Effect::Close(Some(
                v5::DisconnectReasonCode::TopicNameInvalid,
            ))];
        }
        // Clients may not write into the broker's own `$` topics.
        if publish.topic.starts_with('$') || !permissions.may_publish(&publish.topic) {
            return match ack {
                Some((packet_id, qos)) => {
                    vec![Effect::Send(self.refused_publish_ack(packet_id, qos))]
                }
                None => Vec::new(),
            };
        }
        let properties = publish.properties.map(|mut p| {
            p.subscription_ids.clear();
            Arc::new(p)
        });
        let message = Message {
            topic: Arc::from(publish.topic.as_ref()),
            payload: publish.payload,
            qos: publish.qos.value(),
            retain: publish.retain,
            properties,
            expires_at_ms: None,
            publisher: Some(Arc::clone(&self.client_id)),
        };
        vec![Effect::Publish { message, ack }]
    }

    /// Sorts SUBSCRIBE requests into granted subscriptions and the SUBACK codes.
    fn subscribe(
        &mut self,
        packet_id: NonZeroU16,
        requests: impl Iterator<Item = (String, SubOptions)>,
        permissions: &dyn Permissions,
    ) -> Vec<Effect> {
        let mut filters = Vec::new();
        let mut codes = Vec::new();
        for (filter, mut options) in requests {
            options.qos = options.qos.min(2);
            let verdict = if validate_filter(&filter).is_err() {
                Grant::Invalid
            } else if options.no_local && shared_filter(&filter).is_some() {
                // MQTT 5 §3.8.3.1: no_local on a shared subscription is a protocol error.
                return vec![Effect::Close(Some(v5::DisconnectReasonCode::ProtocolError))];
            } else if !permissions.may_subscribe(&filter) {
                Grant::Denied
            } else {
                Grant::Granted(options.qos)
            };
            if verdict != Grant::Invalid && verdict != Grant::Denied {
                filters.push((filter, options));
            }
            codes.push(verdict);
        }
        if codes.is_empty() {
            return vec![Effect::Close(Some(v5::DisconnectReasonCode::ProtocolError))];
        }
        let ack = self.suback(packet_id, &codes);
        vec![Effect::Subscribe { filters, ack }]
    }
}

/// The answer to one SUBSCRIBE filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Granted at this QoS.
    Granted(u8),
    /// Malformed filter.
    Invalid,
    /// Refused by authorization.
    Denied,
}

/// Builds a PUBLISH of `outgoing` for the protocol.
pub(crate) fn publish_packet(v5: bool, outgoing: &Outgoing, dup: bool, now_ms: i64) -> MqttPacket {
    let message = &outgoing.message;
    let properties = v5.then(|| {
        let mut properties = message.properties.as_deref().cloned().unwrap_or_default();
        // The remaining lifetime (MQTT 5 §3.3.2.3.3).
        properties.message_expiry_interval = message.expires_at_ms.and_then(|at| {
            let left = ((at - now_ms).max(1000) / 1000).clamp(1, i64::from(u32::MAX));
            std::num::NonZeroU32::new(u32::try_from(left).unwrap_or(u32::MAX))
        });
        properties
    });
    let publish = Box::new(Publish {
        dup,
        retain: message.retain,
        qos: QoS::try_from(message.qos).unwrap_or(QoS::AtMostOnce),
        topic: message.topic.as_ref().into(),
        packet_id: outgoing.packet_id,
        payload: message.payload.clone(),
        properties,
    });
    match v5 {
        true => MqttPacket::V5(v5::Packet::Publish(publish)),
        false => MqttPacket::V3(v3::Packet::Publish(publish)),
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
