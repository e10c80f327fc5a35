//! Protocol rules the codec lets through, checked on the raw bytes: the CONNECT header (protocol
//! name against level, will and password flags) and the reserved bits of SUBSCRIBE options.
//! Every packet and byte read or written passes here, so this is where they are counted.

use std::sync::Arc;

use bytes::BytesMut;
use rmqtt_codec::error::{DecodeError, EncodeError};
use rmqtt_codec::{MqttCodec, MqttPacket};
use tokio_util::codec::{Decoder, Encoder};

use crate::metrics::{Counter, Direction, Metrics, PacketCount, Versioned};
use crate::trace::TraceTap;

/// What is wrong with a CONNECT header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectProblem {
    /// The protocol name does not go with the level ("MQIsdp" is 3, "MQTT" is 4 or 5): answered
    /// with CONNACK 0x01 (unacceptable protocol version).
    NameLevelMismatch,
    /// Will QoS or will retain without the will flag, or (3.1.1) a password without a username:
    /// the connection is closed.
    Flags,
}

/// Checks the header of a complete or partial CONNECT in `buf` (the codec checks the rest).
pub fn check_connect(buf: &[u8]) -> Result<(), ConnectProblem> {
    let Some(header) = variable_header(buf) else {
        return Ok(());
    };
    let (name, rest) = if let Some(rest) = header.strip_prefix(b"\x00\x04MQTT") {
        ("MQTT", rest)
    } else if let Some(rest) = header.strip_prefix(b"\x00\x06MQIsdp") {
        ("MQIsdp", rest)
    } else {
        return Ok(());
    };
    let (Some(&level), Some(&flags)) = (rest.first(), rest.get(1)) else {
        return Ok(());
    };
    match (name, level) {
        ("MQIsdp", 3) | ("MQTT", 4 | 5) => {}
        ("MQIsdp", 4 | 5) | ("MQTT", 3) => return Err(ConnectProblem::NameLevelMismatch),
        // Other levels are the version codec's business (CONNACK 0x01 as well).
        _ => return Ok(()),
    }
    let will = flags & 0b0000_0100 != 0;
    let will_qos_or_retain = flags & 0b0011_1000 != 0;
    let password_alone = flags & 0b0100_0000 != 0 && flags & 0b1000_0000 == 0;
    if (!will && will_qos_or_retain) || (level < 5 && password_alone) {
        return Err(ConnectProblem::Flags);
    }
    Ok(())
}

/// The bytes after the fixed header of a packet starting `buf`, if the length bytes are there.
fn variable_header(buf: &[u8]) -> Option<&[u8]> {
    let length_bytes = buf.iter().skip(1).take(4).position(|b| b & 0x80 == 0)? + 1;
    buf.get(1 + length_bytes..)
}

/// Whether a complete SUBSCRIBE in `frame` (fixed header included) has reserved option bits set
/// (MQTT 3.1.1 §3.8.3-4: bits 2–7; MQTT 5 §3.8.3-5: bits 6–7). Truncated frames are left to
/// the codec.
fn subscribe_has_reserved_bits(frame: &[u8], v5: bool) -> bool {
    let Some(mut rest) = variable_header(frame) else {
        return false;
    };
    rest = rest.get(2..).unwrap_or_default(); // packet id
    if v5 {
        let Some((length, used)) = varint(rest) else {
            return false;
        };
        rest = rest.get(used + length..).unwrap_or_default();
    }
    let reserved = if v5 { 0b1100_0000 } else { 0b1111_1100 };
    while rest.len() >= 2 {
        let length = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let Some(&options) = rest.get(2 + length) else {
            return false;
        };
        if options & reserved != 0 {
            return true;
        }
        rest = rest.get(3 + length..).unwrap_or_default();
    }
    false
}

/// The whole length of the packet starting `buf` (fixed header included), once its remaining
/// length is readable; a malformed length is left to the codec (answered as its whole buffer).
fn frame_length(buf: &[u8]) -> Option<usize> {
    match varint(buf.get(1..)?) {
        Some((remaining, used)) => Some(1 + used + remaining),
        None if buf.len() >= 5 => Some(buf.len()),
        None => None,
    }
}

/// An MQTT variable byte integer: its value and how many bytes it took.
fn varint(buf: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, byte) in buf.iter().take(4).enumerate() {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The MQTT codec with the checks above in front of it, counting what passes.
#[derive(Debug)]
pub struct CheckedCodec {
    /// The codec of the connection's protocol.
    pub codec: MqttCodec,
    /// The largest remaining length accepted (0 = the protocol maximum).
    pub max_packet_size: u32,
    /// Where packets and bytes are counted.
    pub metrics: Arc<Metrics>,
    /// `trace client`: shows this connection's packets while its client is traced.
    pub trace: TraceTap,
}

impl CheckedCodec {
    /// Encodes `packet` into `dst` unless it comes out larger than `max` bytes (then `dst` is
    /// left as it was); answers whether it was kept. Only a kept packet is counted.
    pub fn encode_within(
        &mut self,
        packet: MqttPacket,
        dst: &mut BytesMut,
        max: usize,
    ) -> Result<bool, EncodeError> {
        let before = dst.len();
        let counted = self.classify_sent(&packet);
        // Traced before it is known to fit: a dropped oversized message shows as sent.
        self.trace.sent(&packet);
        self.codec.encode(packet, dst)?;
        if dst.len() - before > max {
            dst.truncate(before);
            return Ok(false);
        }
        self.count_sent(counted, dst.len() - before);
        Ok(true)
    }

    /// What a packet about to be written counts as; nothing when counting is off.
    fn classify_sent(&self, packet: &MqttPacket) -> Option<PacketCount> {
        self.metrics
            .enabled()
            .then(|| PacketCount::of(packet, Direction::Sent))
    }

    fn count_sent(&self, packet: Option<PacketCount>, bytes: usize) {
        if let Some(packet) = packet {
            self.metrics.count(packet);
            self.metrics.add(Counter::BytesSent, bytes);
        }
    }

    fn is_v5(&self) -> bool {
        matches!(self.codec, MqttCodec::V5(_))
    }

    /// Decodes one packet (after the SUBSCRIBE check); neither counted nor traced.
    fn checked_decode(
        &mut self,
        src: &mut BytesMut,
    ) -> Result<Option<(MqttPacket, u32)>, DecodeError> {
        if src.first() == Some(&0x82) {
            // The codec consumes a fixed header before the rest has arrived: a SUBSCRIBE is
            // only handed over whole, after its options were checked.
            let Some(total) = frame_length(src) else {
                return Ok(None);
            };
            let limit = usize::try_from(self.max_packet_size).unwrap_or(usize::MAX);
            let oversized = self.max_packet_size != 0 && total > limit.saturating_add(5);
            if !oversized {
                // Waiting costs no more than what the client sends; the codec refuses more
                // than `max_packet_size` itself.
                if src.len() < total {
                    return Ok(None);
                }
                if subscribe_has_reserved_bits(&src[..total], self.is_v5()) {
                    return Err(DecodeError::MalformedPacket);
                }
            }
        }
        self.codec.decode(src)
    }
}

impl Decoder for CheckedCodec {
    type Item = (MqttPacket, u32);
    type Error = DecodeError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        let before = src.len();
        let decoded = self.checked_decode(src);
        // The codec may consume a fixed header before the rest of its packet has arrived: the
        // bytes are counted as they are consumed.
        self.metrics.add(Counter::BytesReceived, before - src.len());
        match &decoded {
            Ok(Some((packet, _))) => {
                self.metrics.count_packet(packet, Direction::Received);
                self.trace.received(packet);
            }
            Err(DecodeError::MaxSizeExceeded) => self
                .metrics
                .count_versioned(Versioned::InvalidMsgSizeError, self.is_v5()),
            _ => {}
        }
        decoded
    }
}

impl Encoder<MqttPacket> for CheckedCodec {
    type Error = EncodeError;

    fn encode(&mut self, item: MqttPacket, dst: &mut BytesMut) -> Result<(), Self::Error> {
        let before = dst.len();
        let counted = self.classify_sent(&item);
        self.trace.sent(&item);
        self.codec.encode(item, dst)?;
        self.count_sent(counted, dst.len() - before);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_must_match_their_levels() {
        let connect = |name: &[u8], level: u8, flags: u8| {
            let mut bytes = vec![0x10, 0x0f];
            bytes.extend_from_slice(name);
            bytes.extend_from_slice(&[level, flags, 0, 60]);
            check_connect(&bytes)
        };
        assert_eq!(connect(b"\x00\x04MQTT", 4, 0x02), Ok(()));
        assert_eq!(connect(b"\x00\x06MQIsdp", 3, 0x02), Ok(()));
        assert_eq!(
            connect(b"\x00\x04MQTT", 5, 0x42),
            Ok(()),
            "v5 allows a password alone"
        );
        assert_eq!(
            connect(b"\x00\x06MQIsdp", 4, 0x02),
            Err(ConnectProblem::NameLevelMismatch)
        );
        assert_eq!(
            connect(b"\x00\x04MQTT", 3, 0x02),
            Err(ConnectProblem::NameLevelMismatch)
        );
        assert_eq!(
            connect(b"\x00\x04MQTT", 4, 0x0a),
            Err(ConnectProblem::Flags)
        );
        assert_eq!(
            connect(b"\x00\x04MQTT", 5, 0x22),
            Err(ConnectProblem::Flags)
        );
        assert_eq!(
            connect(b"\x00\x04MQTT", 4, 0x42),
            Err(ConnectProblem::Flags)
        );
        assert_eq!(
            connect(b"\x00\x04MQTT", 4, 0x0e),
            Ok(()),
            "will QoS 1 with the will flag"
        );
        assert_eq!(check_connect(b"\x10"), Ok(()), "partial: left to the codec");
    }

    #[test]
    fn reserved_subscription_option_bits_are_found() {
        assert!(subscribe_has_reserved_bits(
            b"\x82\x06\x00\x01\x00\x01a\x04",
            false
        ));
        assert!(!subscribe_has_reserved_bits(
            b"\x82\x06\x00\x01\x00\x01a\x02",
            false
        ));
        assert!(subscribe_has_reserved_bits(
            b"\x82\x07\x00\x01\x00\x00\x01a\xc0",
            true
        ));
        assert!(!subscribe_has_reserved_bits(
            b"\x82\x07\x00\x01\x00\x00\x01a\x2e",
            true
        ));
        assert!(
            !subscribe_has_reserved_bits(b"\x82\x07\x00\x01", true),
            "truncated"
        );
    }

    #[test]
    fn a_subscribe_arriving_in_pieces_is_checked_whole() {
        let mut codec = CheckedCodec {
            codec: MqttCodec::V5(rmqtt_codec::v5::Codec::new(0, 0)),
            max_packet_size: 0,
            metrics: Arc::default(),
            trace: Arc::new(crate::trace::TraceHub::default()).tap("".into()),
        };
        let mut buf = BytesMut::from(&b"\x82\x07\x00\x01\x00\x00\x01a"[..]);
        assert!(matches!(codec.decode(&mut buf), Ok(None)));
        assert_eq!(buf.len(), 8, "nothing consumed before the frame is whole");
        buf.extend_from_slice(b"\xc0");
        assert!(matches!(
            codec.decode(&mut buf),
            Err(DecodeError::MalformedPacket)
        ));
    }
}
