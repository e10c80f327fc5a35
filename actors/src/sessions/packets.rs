//! The acknowledgements a session sends, built for the client's protocol (3.x or 5).

use std::num::NonZeroU16;

use rmqtt_codec::types::QoS;
use rmqtt_codec::{v3, v5, MqttPacket};

use super::state::{Grant, SessionState};

impl SessionState {
    /// The SUBACK for `codes`, one per requested filter.
    pub(crate) fn suback(&self, packet_id: NonZeroU16, codes: &[Grant]) -> MqttPacket {
        if !self.is_v5() {
            let status = codes
                .iter()
                .map(|code| match code {
                    Grant::Granted(qos) => v3::SubscribeReturnCode::Success(
                        QoS::try_from(*qos).unwrap_or(QoS::AtMostOnce),
                    ),
                    Grant::Invalid | Grant::Denied => v3::SubscribeReturnCode::Failure,
                })
                .collect();
            return MqttPacket::V3(v3::Packet::SubscribeAck { packet_id, status });
        }
        let status = codes
            .iter()
            .map(|code| match code {
                Grant::Granted(0) => v5::SubscribeAckReason::GrantedQos0,
                Grant::Granted(1) => v5::SubscribeAckReason::GrantedQos1,
                Grant::Granted(_) => v5::SubscribeAckReason::GrantedQos2,
                Grant::Invalid => v5::SubscribeAckReason::TopicFilterInvalid,
                Grant::Denied => v5::SubscribeAckReason::NotAuthorized,
            })
            .collect();
        MqttPacket::V5(v5::Packet::SubscribeAck(v5::SubscribeAck {
            packet_id,
            properties: Vec::new(),
            reason_string: None,
            status,
        }))
    }

    /// The UNSUBACK; `existed` says per filter whether there was a subscription (MQTT 5 codes).
    pub fn unsuback(&self, packet_id: NonZeroU16, existed: &[bool]) -> MqttPacket {
        if !self.is_v5() {
            return MqttPacket::V3(v3::Packet::UnsubscribeAck { packet_id });
        }
        let status = existed
            .iter()
            .map(|had| match had {
                true => v5::UnsubscribeAckReason::Success,
                false => v5::UnsubscribeAckReason::NoSubscriptionExisted,
            })
            .collect();
        MqttPacket::V5(v5::Packet::UnsubscribeAck(v5::UnsubscribeAck {
            packet_id,
            properties: Vec::new(),
            reason_string: None,
            status,
        }))
    }

    /// PUBACK (QoS 1) or PUBREC (QoS 2) for a routed publish; MQTT 5 says whether anyone matched.
    pub fn publish_ack(&self, packet_id: NonZeroU16, qos: QoS, matched: bool) -> MqttPacket {
        let reason_code = match matched {
            true => v5::PublishAckReason::Success,
            false => v5::PublishAckReason::NoMatchingSubscribers,
        };
        self.ack_with(packet_id, qos, reason_code)
    }

    /// PUBACK/PUBREC refusing an unauthorized publish (3.x has no code: a plain ack).
    pub(crate) fn refused_publish_ack(&self, packet_id: NonZeroU16, qos: QoS) -> MqttPacket {
        self.ack_with(packet_id, qos, v5::PublishAckReason::NotAuthorized)
    }

    fn ack_with(
        &self,
        packet_id: NonZeroU16,
        qos: QoS,
        reason_code: v5::PublishAckReason,
    ) -> MqttPacket {
        let received = qos == QoS::ExactlyOnce;
        if !self.is_v5() {
            return MqttPacket::V3(match received {
                true => v3::Packet::PublishReceived { packet_id },
                false => v3::Packet::PublishAck { packet_id },
            });
        }
        let ack = v5::PublishAck {
            packet_id,
            reason_code,
            ..v5::PublishAck::default()
        };
        MqttPacket::V5(match received {
            true => v5::Packet::PublishReceived(ack),
            false => v5::Packet::PublishAck(ack),
        })
    }

    /// PUBREL, answering a PUBREC (or resent after a reconnect); `known` false → MQTT 5 code 0x92.
    pub fn pubrel(&self, packet_id: NonZeroU16, known: bool) -> MqttPacket {
        if !self.is_v5() {
            return MqttPacket::V3(v3::Packet::PublishRelease { packet_id });
        }
        MqttPacket::V5(v5::Packet::PublishRelease(ack2(packet_id, known)))
    }

    /// PUBCOMP, answering a PUBREL; `known` false → MQTT 5 code 0x92.
    pub fn pubcomp(&self, packet_id: NonZeroU16, known: bool) -> MqttPacket {
        if !self.is_v5() {
            return MqttPacket::V3(v3::Packet::PublishComplete { packet_id });
        }
        MqttPacket::V5(v5::Packet::PublishComplete(ack2(packet_id, known)))
    }

    /// The DISCONNECT an MQTT 5 client gets before the node closes (3.x clients get none).
    pub fn disconnect(&self, reason_code: v5::DisconnectReasonCode) -> Option<MqttPacket> {
        self.is_v5().then(|| {
            MqttPacket::V5(v5::Packet::Disconnect(v5::Disconnect {
                reason_code,
                ..v5::Disconnect::default()
            }))
        })
    }
}

fn ack2(packet_id: NonZeroU16, known: bool) -> v5::PublishAck2 {
    v5::PublishAck2 {
        packet_id,
        reason_code: match known {
            true => v5::PublishAck2Reason::Success,
            false => v5::PublishAck2Reason::PacketIdNotFound,
        },
        ..v5::PublishAck2::default()
    }
}
