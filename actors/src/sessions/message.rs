//! A routed message and the options of a subscription.

use std::sync::Arc;

use bytes::Bytes;
use rmqtt_codec::v5::PublishProperties;
use serde::{Deserialize, Serialize};

pub use crate::store::SessionKey;

/// One application message on its way through the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Topic name (inside the mountpoint).
    pub topic: Arc<str>,
    /// Payload.
    pub payload: Bytes,
    /// 0, 1 or 2: as published, lowered to the subscription's QoS on delivery.
    pub qos: u8,
    /// The retain flag as it reaches the subscriber.
    pub retain: bool,
    /// MQTT 5 properties forwarded to MQTT 5 subscribers (topic alias and subscription ids removed).
    pub properties: Option<Arc<PublishProperties>>,
    /// When the message expires (MQTT 5 message expiry), POSIX milliseconds.
    pub expires_at_ms: Option<i64>,
    /// The publisher, so that `no_local` subscriptions can skip their own messages.
    pub publisher: Option<Arc<str>>,
}

impl Message {
    /// Sets the absolute expiry from the MQTT 5 message expiry interval, counted from `now_ms`.
    pub fn stamp_expiry(&mut self, now_ms: i64) {
        self.expires_at_ms = self
            .properties
            .as_ref()
            .and_then(|p| p.message_expiry_interval)
            .map(|secs| now_ms + i64::from(secs.get()) * 1000);
    }

    /// Whether the message expired before `now_ms`.
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_some_and(|at| at <= now_ms)
    }

    /// The message as delivered under a subscription: at the lower of the published and the
    /// granted QoS (at the granted one with `upgrade_outgoing_qos`), with its retain rule.
    pub fn for_subscriber(&self, options: &SubOptions, retained: bool, upgrade: bool) -> Message {
        Message {
            qos: match upgrade {
                true => options.qos,
                false => self.qos.min(options.qos),
            },
            retain: retained || (options.retain_as_published && self.retain),
            ..self.clone()
        }
    }

    /// Encodes for the store.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes what [`Message::encode`] wrote; `None` for garbage.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        ciborium::from_reader(bytes).ok()
    }
}

/// The wall clock in POSIX milliseconds (session and message timestamps).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Encodes a stored record as CBOR.
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and our records always serialize.
    let _ = ciborium::into_writer(value, &mut out);
    out
}

/// What the retained-message rules of a subscription say (MQTT 5 "retain handling").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetainHandling {
    /// Send retained messages at every subscribe.
    AtSubscribe,
    /// Only when the subscription is new.
    AtNewSubscription,
    /// Never.
    Never,
}

/// The options a subscription was granted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubOptions {
    /// Granted QoS.
    pub qos: u8,
    /// MQTT 5: the subscriber does not get its own messages.
    pub no_local: bool,
    /// MQTT 5: forward the retain flag as published.
    pub retain_as_published: bool,
    /// MQTT 5: when retained messages are sent.
    pub retain_handling: RetainHandling,
    /// Whether the client speaks MQTT 5 (listings print `rap`/`no_local` only for those).
    pub v5: bool,
}

impl SubOptions {
    /// A plain MQTT 3 subscription at `qos`.
    pub fn v3(qos: u8) -> Self {
        Self {
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::AtSubscribe,
            v5: false,
        }
    }
}

#[cfg(test)]
impl Message {
    /// For tests: a QoS 1 message to `topic`, not retained, without properties or publisher.
    pub(crate) fn sample(topic: &str, payload: &'static [u8]) -> Self {
        Self {
            topic: Arc::from(topic),
            payload: Bytes::from_static(payload),
            qos: 1,
            retain: false,
            properties: None,
            expires_at_ms: None,
            publisher: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            topic: Arc::from("a/b"),
            payload: Bytes::from_static(b"\x00\xffpayload"),
            qos: 2,
            retain: true,
            properties: Some(Arc::new(PublishProperties {
                content_type: Some("text/plain".into()),
                ..PublishProperties::default()
            })),
            expires_at_ms: Some(1_000),
            publisher: Some(Arc::from("pub")),
        }
    }

    #[test]
    fn a_message_survives_the_store_encoding() {
        let original = message();
        assert_eq!(Message::decode(&original.encode()), Some(original));
        assert_eq!(Message::decode(b"garbage"), None);
    }

    #[test]
    fn delivery_lowers_qos_and_applies_the_retain_rules() {
        let original = message();
        let live = original.for_subscriber(&SubOptions::v3(1), false, false);
        assert_eq!((live.qos, live.retain), (1, false));
        let rap = SubOptions {
            retain_as_published: true,
            ..SubOptions::v3(2)
        };
        assert!(original.for_subscriber(&rap, false, false).retain);
        assert!(
            original
                .for_subscriber(&SubOptions::v3(0), true, false)
                .retain
        );
        let low = Message {
            qos: 0,
            ..original.clone()
        };
        assert_eq!(
            low.for_subscriber(&SubOptions::v3(2), false, true).qos,
            2,
            "upgraded"
        );
        assert!(original.is_expired(1_000) && !original.is_expired(999));
    }
}
