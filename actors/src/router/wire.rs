//! What nodes tell each other about routing, as CBOR frames on the peer topics below: a node's
//! subscription set (full, or one change with its sequence number), a beacon of where that set
//! stands, a forwarded publish, and retained-message updates. Every decode checks what it got: a
//! peer's malformed frame is refused (`None`), never a panic.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{validate_filter, validate_topic};
use crate::retain::RetainUpdate;
use crate::sessions::Message;

/// Cast: one change of the sender's subscription set ([`RouteDelta`]).
pub const ROUTE_DELTA: &str = "route/delta";
/// Call: answers the callee's full subscription set ([`RouteFull`]).
pub const ROUTE_FULL: &str = "route/full";
/// Cast: where the sender's subscription set stands ([`Beacon`]).
pub const ROUTE_BEACON: &str = "route/beacon";
/// Cast: a publish for the receiver's local subscribers ([`Forwarded`]).
pub const ROUTE_PUBLISH: &str = "route/publish";
/// Cast: retained messages set or cleared on the sender (a list of [`RetainUpdate`]).
pub const RETAIN_UPDATE: &str = "retain/update";
/// Call: answers every retained message and clear the callee knows (a list of [`RetainUpdate`]).
pub const RETAIN_FULL: &str = "retain/full";

/// Where a node's subscription set stands: `epoch` is drawn at start, `seq` counts its changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beacon {
    /// Changes with another epoch are from another run of the node.
    pub epoch: u64,
    /// The number of the last change.
    pub seq: u64,
}

/// A node's whole subscription set as of `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteFull {
    /// The set's version.
    pub at: Beacon,
    /// Every (mountpoint, filter) with a local subscriber.
    pub filters: Vec<(String, String)>,
}

/// One change to a node's subscription set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteDelta {
    /// The version this change makes.
    pub at: Beacon,
    /// Added (first subscriber) or removed (last one gone).
    pub added: bool,
    /// The mountpoint.
    pub mountpoint: String,
    /// The filter, `$share/…` included.
    pub filter: String,
}

/// A publish handed to a peer for its local subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarded {
    /// The mountpoint.
    pub mountpoint: String,
    /// The share groups the receiver serves for this message.
    pub groups: Vec<String>,
    /// The message.
    pub message: Message,
}

/// [`Forwarded`] as the sender encodes it, borrowing the message.
#[derive(Debug, Serialize)]
pub struct ForwardedRef<'a> {
    /// The mountpoint.
    pub mountpoint: &'a str,
    /// The share groups the receiver serves.
    pub groups: Vec<&'a str>,
    /// The message.
    pub message: &'a Message,
}

/// Encodes a frame.
pub fn encode<T: Serialize>(frame: &T) -> Vec<u8> {
    crate::sessions::encode_record(frame)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    ciborium::from_reader(bytes).ok()
}

/// Decodes a beacon.
pub fn decode_beacon(bytes: &[u8]) -> Option<Beacon> {
    decode(bytes)
}

/// Decodes a full set; refused if a filter is not valid.
pub fn decode_full(bytes: &[u8]) -> Option<RouteFull> {
    let full: RouteFull = decode(bytes)?;
    full.filters
        .iter()
        .all(|(_, filter)| validate_filter(filter).is_ok())
        .then_some(full)
}

/// Decodes a change; refused if its filter is not valid.
pub fn decode_delta(bytes: &[u8]) -> Option<RouteDelta> {
    let delta: RouteDelta = decode(bytes)?;
    validate_filter(&delta.filter).ok().map(|()| delta)
}

/// Decodes a forwarded publish; refused if its topic is not a valid topic name.
pub fn decode_forwarded(bytes: &[u8]) -> Option<Forwarded> {
    let forwarded: Forwarded = decode(bytes)?;
    validate_topic(&forwarded.message.topic)
        .ok()
        .map(|()| forwarded)
}

/// Decodes retained-message updates; refused if a topic is not a valid topic name.
pub fn decode_retained(bytes: &[u8]) -> Option<Vec<RetainUpdate>> {
    let updates: Vec<RetainUpdate> = decode(bytes)?;
    updates
        .iter()
        .all(|u| validate_topic(&u.topic).is_ok())
        .then_some(updates)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::retain::Stamp;

    fn message(topic: &str) -> Message {
        Message {
            topic: Arc::from(topic),
            payload: Bytes::from_static(b"p"),
            qos: 1,
            retain: false,
            properties: None,
            expires_at_ms: None,
            publisher: Some(Arc::from("c")),
        }
    }

    #[test]
    fn frames_round_trip() {
        let at = Beacon { epoch: 7, seq: 3 };
        assert_eq!(decode_beacon(&encode(&at)), Some(at));
        let full = RouteFull {
            at,
            filters: vec![("".into(), "a/#".into()), ("m".into(), "$share/g/b".into())],
        };
        assert_eq!(decode_full(&encode(&full)), Some(full));
        let delta = RouteDelta {
            at,
            added: true,
            mountpoint: String::new(),
            filter: "a/+".into(),
        };
        assert_eq!(decode_delta(&encode(&delta)), Some(delta));
        let forwarded = Forwarded {
            mountpoint: "m".into(),
            groups: vec!["g".into()],
            message: message("a/b"),
        };
        let borrowed = ForwardedRef {
            mountpoint: "m",
            groups: vec!["g"],
            message: &forwarded.message,
        };
        assert_eq!(decode_forwarded(&encode(&borrowed)), Some(forwarded));
        let updates = vec![RetainUpdate {
            mountpoint: String::new(),
            topic: "a/b".into(),
            stamp: Stamp::new(5, "n1@h"),
            message: None,
        }];
        assert_eq!(decode_retained(&encode(&updates)), Some(updates));
    }

    #[test]
    fn garbage_and_invalid_names_are_refused() {
        for garbage in [&b""[..], b"\xff\x00\x01", b"not cbor at all"] {
            assert_eq!(decode_beacon(garbage), None);
            assert_eq!(decode_full(garbage), None);
            assert_eq!(decode_delta(garbage), None);
            assert_eq!(decode_forwarded(garbage), None);
            assert_eq!(decode_retained(garbage), None);
        }
        let bad_filter = RouteDelta {
            at: Beacon { epoch: 1, seq: 1 },
            added: true,
            mountpoint: String::new(),
            filter: "a/#/b".into(),
        };
        assert_eq!(decode_delta(&encode(&bad_filter)), None);
        let full = RouteFull {
            at: Beacon { epoch: 1, seq: 1 },
            filters: vec![(String::new(), String::new())],
        };
        assert_eq!(decode_full(&encode(&full)), None);
        let wildcard = Forwarded {
            mountpoint: String::new(),
            groups: vec![],
            message: message("a/+"),
        };
        assert_eq!(decode_forwarded(&encode(&wildcard)), None);
        // A frame of another kind does not pass for this one.
        assert_eq!(decode_delta(&encode(&Beacon { epoch: 1, seq: 1 })), None);
    }
}
