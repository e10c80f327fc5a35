//! What members tell each other over the fabric: a heartbeat carrying the sender's member list.

use ractor::message::{BoxedDowncastErr, SerializedMessage};
use serde::{Deserialize, Serialize};

use super::ClusterMessage;
use crate::types::NodeName;

/// One member as it is stored on disk and gossiped: its name and its fabric address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMember {
    /// `Name@host`.
    pub node: String,
    /// `host:port` of its `listener.vmq.clustering`.
    pub address: String,
}

/// The member list as persisted: members, and the nodes removed by `cluster leave` (kept so that
/// a peer that still lists one does not bring it back).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberList {
    /// Every member, this node included.
    pub members: Vec<StoredMember>,
    /// Removed nodes.
    #[serde(default)]
    pub removed: Vec<String>,
}

/// Sent every heartbeat interval to every connected member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The sender's node name.
    pub from: String,
    /// The sender's fabric address.
    pub address: String,
    /// Every member the sender knows, itself included, and the removed nodes.
    #[serde(flatten)]
    pub list: MemberList,
}

/// The variant tag of a heartbeat on the wire.
const HEARTBEAT: &str = "heartbeat";
/// The variant tag of a request that a running node stop its MQTT listeners.
const STOP_LISTENERS: &str = "stop_listeners";

impl Heartbeat {
    pub(crate) fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// `None` for bytes that are not a heartbeat: a peer's bad frame is dropped, never a panic.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

// Only `Heartbeat` crosses the fabric; the other variants stay local (their serialisation fails).
impl ractor::Message for ClusterMessage {
    fn serializable() -> bool {
        true
    }

    fn serialize(self) -> Result<SerializedMessage, BoxedDowncastErr> {
        match self {
            ClusterMessage::Heartbeat(beat) => Ok(SerializedMessage::Cast {
                variant: HEARTBEAT.to_owned(),
                args: beat.encode(),
                metadata: None,
            }),
            ClusterMessage::StopListeners { node } => Ok(SerializedMessage::Cast {
                variant: STOP_LISTENERS.to_owned(),
                args: node.as_str().as_bytes().to_vec(),
                metadata: None,
            }),
            _ => Err(BoxedDowncastErr),
        }
    }

    fn deserialize(bytes: SerializedMessage) -> Result<Self, BoxedDowncastErr> {
        match bytes {
            SerializedMessage::Cast { variant, args, .. } if variant == HEARTBEAT => {
                Heartbeat::decode(&args)
                    .map(ClusterMessage::Heartbeat)
                    .ok_or(BoxedDowncastErr)
            }
            SerializedMessage::Cast { variant, args, .. } if variant == STOP_LISTENERS => {
                let text = std::str::from_utf8(&args).map_err(|_| BoxedDowncastErr)?;
                let node = NodeName::parse(text).map_err(|_| BoxedDowncastErr)?;
                Ok(ClusterMessage::StopListeners { node })
            }
            _ => Err(BoxedDowncastErr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeats_round_trip_and_garbage_is_refused() {
        let beat = Heartbeat {
            from: "A@h".into(),
            address: "h:1".into(),
            list: MemberList {
                members: vec![StoredMember {
                    node: "B@h".into(),
                    address: "h:2".into(),
                }],
                removed: vec!["C@h".into()],
            },
        };
        assert_eq!(Heartbeat::decode(&beat.encode()), Some(beat));
        assert_eq!(Heartbeat::decode(b"\xff\x00garbage"), None);
        assert_eq!(Heartbeat::decode(b"{\"from\":1}"), None);
    }

    #[test]
    fn only_heartbeats_and_stop_requests_cross_the_fabric() {
        use ractor::Message as _;
        let node = NodeName::parse("B@h").expect("name");
        let frame = ClusterMessage::StopListeners { node: node.clone() }
            .serialize()
            .expect("remote");
        assert!(matches!(
            ClusterMessage::deserialize(frame),
            Ok(ClusterMessage::StopListeners { node: n }) if n == node
        ));
        let bad = SerializedMessage::Cast {
            variant: STOP_LISTENERS.to_owned(),
            args: b"no name".to_vec(),
            metadata: None,
        };
        assert!(ClusterMessage::deserialize(bad).is_err());
        assert!(ClusterMessage::Tick.serialize().is_err());
    }
}
