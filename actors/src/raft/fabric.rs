//! Raft over the cluster fabric: [`PeersTransport`] carries [`RaftRequest`]s as [`Peers`] calls on topic [`RAFT_TOPIC`]; member ids come from node names.

use std::time::Duration;

use sha2::{Digest as _, Sha256};

use super::network::{decode_reply, encode_request, TransportFuture};
use super::{MetaNode, NodeId, RaftRequest, RaftTransport, TransportError};
use crate::cluster::{PeerError, Peers};
use crate::types::NodeName;

/// The peer topic raft requests travel on.
pub const RAFT_TOPIC: &str = "raft";

/// The raft member id of node `name`: the first 8 bytes of its SHA-256, so every node derives
/// the same id for a name, and another name gets another id (a collision is 1 in 2^64).
pub fn node_id(name: &str) -> NodeId {
    let digest = Sha256::digest(name.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// Sends raft requests to the member's node through the peer service; each call is bounded by
/// `timeout` (openraft bounds its own RPCs tighter).
pub struct PeersTransport {
    peers: Peers,
    timeout: Duration,
}

impl PeersTransport {
    /// A transport over `peers`, waiting at most `timeout` for any reply.
    pub fn new(peers: Peers, timeout: Duration) -> Self {
        Self { peers, timeout }
    }
}

impl RaftTransport for PeersTransport {
    fn send(&self, target: NodeId, node: &MetaNode, request: RaftRequest) -> TransportFuture {
        let peers = self.peers.clone();
        let timeout = self.timeout;
        let name = node.name.clone();
        Box::pin(async move {
            let name = NodeName::parse(&name).map_err(|e| {
                TransportError::Failed(format!("member {target} has a malformed name: {e}"))
            })?;
            let body = encode_request(&request)?;
            match peers.call(&name, RAFT_TOPIC, body, timeout).await {
                Ok(bytes) => decode_reply(&bytes),
                Err(PeerError::NotConnected(_)) => Err(TransportError::Unreachable(target)),
                Err(e) => Err(TransportError::Failed(e.to_string())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_differ_by_name() {
        let a = node_id("n1@127.0.0.1");
        assert_eq!(a, node_id("n1@127.0.0.1"));
        assert_ne!(a, node_id("n2@127.0.0.1"));
        assert_ne!(a, node_id("n1@127.0.0.2"));
    }

    #[test]
    fn a_malformed_request_or_reply_is_an_error() {
        assert!(super::super::decode_request(b"\xff\x00garbage").is_err());
        assert!(decode_reply(b"").is_err());
        let bytes = encode_request(&RaftRequest::AwaitApplied(7)).expect("encodable");
        assert!(super::super::decode_request(&bytes[..bytes.len() - 1]).is_err());
    }
}
