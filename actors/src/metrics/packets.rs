//! Which counter an MQTT packet moves, by protocol, direction and reason code.

use rmqtt_codec::{v3, v5, MqttPacket};

use super::{Metrics, Reasoned, Versioned};

/// Whether the node read or wrote a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client.
    Received,
    /// To the client.
    Sent,
}

/// The counter of a packet: per protocol, or per reason code.
#[derive(Debug, Clone, Copy)]
enum Counted {
    Versioned(Versioned),
    Reasoned(Reasoned, u8),
}

/// Picks `received` or `sent` by direction.
fn by_direction<T>(direction: Direction, received: T, sent: T) -> T {
    match direction {
        Direction::Received => received,
        Direction::Sent => sent,
    }
}

fn v4_counted(packet: &v3::Packet, direction: Direction) -> Option<Counted> {
    use Direction::{Received, Sent};
    let versioned = match (packet, direction) {
        (v3::Packet::Connect(_), Received) => Versioned::ConnectReceived,
        (v3::Packet::ConnectAck(ack), Sent) => {
            return Some(Counted::Reasoned(
                Reasoned::ConnackSentV4,
                ack.return_code as u8,
            ))
        }
        (v3::Packet::Publish(_), _) => by_direction(
            direction,
            Versioned::PublishReceived,
            Versioned::PublishSent,
        ),
        (v3::Packet::PublishAck { .. }, _) => {
            by_direction(direction, Versioned::PubackReceived, Versioned::PubackSent)
        }
        (v3::Packet::PublishReceived { .. }, _) => {
            by_direction(direction, Versioned::PubrecReceived, Versioned::PubrecSent)
        }
        (v3::Packet::PublishRelease { .. }, _) => {
            by_direction(direction, Versioned::PubrelReceived, Versioned::PubrelSent)
        }
        (v3::Packet::PublishComplete { .. }, _) => by_direction(
            direction,
            Versioned::PubcompReceived,
            Versioned::PubcompSent,
        ),
        (v3::Packet::Subscribe { .. }, Received) => Versioned::SubscribeReceived,
        (v3::Packet::SubscribeAck { .. }, Sent) => Versioned::SubackSent,
        (v3::Packet::Unsubscribe { .. }, Received) => Versioned::UnsubscribeReceived,
        (v3::Packet::UnsubscribeAck { .. }, Sent) => Versioned::UnsubackSent,
        (v3::Packet::PingRequest, Received) => Versioned::PingreqReceived,
        (v3::Packet::PingResponse, Sent) => Versioned::PingrespSent,
        (v3::Packet::Disconnect, Received) => Versioned::DisconnectReceived,
        _ => return None,
    };
    Some(Counted::Versioned(versioned))
}

fn v5_counted(packet: &v5::Packet, direction: Direction) -> Option<Counted> {
    use Direction::{Received, Sent};
    let reasoned = |received, sent, code| {
        Some(Counted::Reasoned(
            by_direction(direction, received, sent),
            code,
        ))
    };
    let versioned = match (packet, direction) {
        (v5::Packet::Connect(_), Received) => Versioned::ConnectReceived,
        (v5::Packet::ConnectAck(ack), Sent) => {
            return Some(Counted::Reasoned(
                Reasoned::ConnackSent,
                ack.reason_code as u8,
            ))
        }
        (v5::Packet::Publish(_), _) => by_direction(
            direction,
            Versioned::PublishReceived,
            Versioned::PublishSent,
        ),
        (v5::Packet::PublishAck(ack), _) => {
            return reasoned(
                Reasoned::PubackReceived,
                Reasoned::PubackSent,
                ack.reason_code as u8,
            )
        }
        (v5::Packet::PublishReceived(ack), _) => {
            return reasoned(
                Reasoned::PubrecReceived,
                Reasoned::PubrecSent,
                ack.reason_code as u8,
            )
        }
        (v5::Packet::PublishRelease(ack), _) => {
            return reasoned(
                Reasoned::PubrelReceived,
                Reasoned::PubrelSent,
                ack.reason_code as u8,
            )
        }
        (v5::Packet::PublishComplete(ack), _) => {
            let code = ack.reason_code as u8;
            return reasoned(Reasoned::PubcompReceived, Reasoned::PubcompSent, code);
        }
        (v5::Packet::Disconnect(disconnect), _) => {
            let code = disconnect.reason_code as u8;
            return reasoned(Reasoned::DisconnectReceived, Reasoned::DisconnectSent, code);
        }
        (v5::Packet::Auth(auth), _) => {
            return reasoned(
                Reasoned::AuthReceived,
                Reasoned::AuthSent,
                auth.reason_code as u8,
            )
        }
        (v5::Packet::Subscribe(_), Received) => Versioned::SubscribeReceived,
        (v5::Packet::SubscribeAck(_), Sent) => Versioned::SubackSent,
        (v5::Packet::Unsubscribe(_), Received) => Versioned::UnsubscribeReceived,
        (v5::Packet::UnsubscribeAck(_), Sent) => Versioned::UnsubackSent,
        (v5::Packet::PingRequest, Received) => Versioned::PingreqReceived,
        (v5::Packet::PingResponse, Sent) => Versioned::PingrespSent,
        _ => return None,
    };
    Some(Counted::Versioned(versioned))
}

/// What one packet counts as (taken before the packet is handed to the encoder).
#[derive(Debug, Clone, Copy)]
pub struct PacketCount {
    counted: Option<Counted>,
    v5: bool,
}

impl PacketCount {
    /// What `packet`, read or written, counts as.
    pub fn of(packet: &MqttPacket, direction: Direction) -> Self {
        let (counted, v5) = match packet {
            MqttPacket::V3(packet) => (v4_counted(packet, direction), false),
            MqttPacket::V5(packet) => (v5_counted(packet, direction), true),
            MqttPacket::Version(_) => (None, false),
        };
        Self { counted, v5 }
    }
}

impl Metrics {
    /// Counts one packet read from or written to a client.
    pub fn count_packet(&self, packet: &MqttPacket, direction: Direction) {
        if self.enabled {
            self.count(PacketCount::of(packet, direction));
        }
    }

    /// Counts a packet classified earlier.
    pub fn count(&self, packet: PacketCount) {
        match packet.counted {
            Some(Counted::Versioned(which)) => self.count_versioned(which, packet.v5),
            Some(Counted::Reasoned(which, code)) => self.count_reasoned(which, code),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU16;

    use super::*;
    use crate::metrics::{Families, Value};

    fn total(families: &Families, name: &str) -> u64 {
        families
            .iter()
            .filter(|f| f.name == name)
            .flat_map(|f| &f.series)
            .map(|s| match s.value {
                Value::Int(n) => n,
                Value::Float(_) => 0,
            })
            .sum()
    }

    #[test]
    fn packets_are_counted_by_protocol_direction_and_reason() {
        let metrics = Metrics::default();
        let id = NonZeroU16::MIN;
        let v3_ack = MqttPacket::V3(v3::Packet::PublishAck { packet_id: id });
        metrics.count_packet(&v3_ack, Direction::Received);
        metrics.count_packet(&v3_ack, Direction::Sent);
        metrics.count_packet(
            &MqttPacket::V3(v3::Packet::PingRequest),
            Direction::Received,
        );
        let v5_ack = MqttPacket::V5(v5::Packet::PublishAck(v5::PublishAck {
            packet_id: id,
            reason_code: v5::PublishAckReason::NoMatchingSubscribers,
            properties: Vec::new(),
            reason_string: None,
        }));
        metrics.count_packet(&v5_ack, Direction::Sent);
        // A PINGRESP from a client is not a packet the node counts.
        metrics.count_packet(
            &MqttPacket::V5(v5::Packet::PingResponse),
            Direction::Received,
        );
        let families = metrics.families();
        assert_eq!(total(&families, "mqtt_puback_received"), 1);
        assert_eq!(total(&families, "mqtt_puback_sent"), 2);
        assert_eq!(total(&families, "mqtt_pingreq_received"), 1);
        assert_eq!(total(&families, "mqtt_pingresp_sent"), 0);
        assert_eq!(metrics.get_versioned(Versioned::PubackSent), 1, "v4 only");
    }
}
