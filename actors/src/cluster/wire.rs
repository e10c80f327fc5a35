//! What members tell each other over the fabric: a heartbeat carrying the sender's member list,
//! a request to stop MQTT listeners, and a node's farewell when it leaves for good.

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
/// The variant tag of a node's farewell: it has left the cluster for good.
const DEPARTED: &str = "departed";

impl Heartbeat {
    pub(crate) fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// `None` for bytes that are not a heartbeat: a peer's bad frame is dropped, never a panic.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

// Only these variants cross the fabric; the others stay local (their serialisation fails).
impl ractor::Message for ClusterMessage {
    fn serializable() -> bool {
        true
    }

    fn serialize(self) -> Result<SerializedMessage, BoxedDowncastErr> {
        let (variant, args) = match self {
            ClusterMessage::Heartbeat(beat) => (HEARTBEAT, beat.encode()),
            ClusterMessage::StopListeners { node } => (STOP_LISTENERS, name_bytes(&node)),
            ClusterMessage::Departed { node } => (DEPARTED, name_bytes(&node)),
            _ => return Err(BoxedDowncastErr),
        };
        Ok(SerializedMessage::Cast {
            variant: variant.to_owned(),
            args,
            metadata: None,
        })
    }

    fn deserialize(bytes: SerializedMessage) -> Result<Self, BoxedDowncastErr> {
        let SerializedMessage::Cast { variant, args, .. } = bytes else {
            return Err(BoxedDowncastErr);
        };
        match variant.as_str() {
            HEARTBEAT => Heartbeat::decode(&args)
                .map(ClusterMessage::Heartbeat)
                .ok_or(BoxedDowncastErr),
            STOP_LISTENERS => Ok(ClusterMessage::StopListeners { node: name(&args)? }),
            DEPARTED => Ok(ClusterMessage::Departed { node: name(&args)? }),
            _ => Err(BoxedDowncastErr),
        }
    }
}

fn name_bytes(node: &NodeName) -> Vec<u8> {
    node.as_str().as_bytes().to_vec()
}

fn name(bytes: &[u8]) -> Result<NodeName, BoxedDowncastErr> {
    let text = std::str::from_utf8(bytes).map_err(|_| BoxedDowncastErr)?;
    NodeName::parse(text).map_err(|_| BoxedDowncastErr)
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
    fn only_heartbeats_stop_requests_and_farewells_cross_the_fabric() {
        use ractor::Message as _;
        let node = NodeName::parse("B@h").expect("name");
        let frame = ClusterMessage::StopListeners { node: node.clone() }
            .serialize()
            .expect("remote");
        assert!(matches!(
            ClusterMessage::deserialize(frame),
            Ok(ClusterMessage::StopListeners { node: n }) if n == node
        ));
        let frame = ClusterMessage::Departed { node: node.clone() }
            .serialize()
            .expect("remote");
        assert!(matches!(
            ClusterMessage::deserialize(frame),
            Ok(ClusterMessage::Departed { node: n }) if n == node
        ));
        for variant in [STOP_LISTENERS, DEPARTED] {
            let bad = SerializedMessage::Cast {
                variant: variant.to_owned(),
                args: b"no name".to_vec(),
                metadata: None,
            };
            assert!(ClusterMessage::deserialize(bad).is_err());
        }
        assert!(ClusterMessage::Tick.serialize().is_err());
    }
}
