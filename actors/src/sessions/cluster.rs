//! Sessions across the cluster: `session disconnect` reaches every node, and a client that
//! connects here takes its session over from whichever node held it (one session per client
//! id cluster-wide): that node closes the connection as in a takeover and, without a clean
//! start, hands the subscriptions and queued messages over. Frames are CBOR; a malformed one
//! is refused with an error.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

use super::message::{encode, SessionKey};
use super::registry::Handover;
use super::{SessionsHandle, SessionsMessage, NAME};
use crate::call::{call, DEFAULT_CALL_TIMEOUT};
use crate::cluster::{CallFuture, Peers};
use crate::slot::ActorSlot;

/// `session disconnect` on the receiving node: answers `[1]` if it had the session, `[0]` if not.
pub const DISCONNECT_TOPIC: &str = "session.disconnect";
/// A client connected on the sending node: answers the CBOR of `Option<Handover>`.
pub const HANDOVER_TOPIC: &str = "session.handover";
/// How long a connecting client waits for the other nodes to give its session up.
const HANDOVER_TIMEOUT: Duration = Duration::from_secs(2);

/// A session and one switch (`cleanup` for a disconnect, `keep` for a handover).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct KeyFrame {
    mountpoint: String,
    client_id: String,
    switch: bool,
}

impl KeyFrame {
    fn encode(key: &SessionKey, switch: bool) -> Vec<u8> {
        encode(&Self {
            mountpoint: key.mountpoint.clone(),
            client_id: key.client_id.clone(),
            switch,
        })
    }

    fn decode(body: &[u8]) -> Result<(SessionKey, bool), String> {
        let frame: Self = ciborium::from_reader(body)
            .map_err(|_| "malformed session frame (a node of another version?)".to_owned())?;
        Ok((
            SessionKey::new(&frame.mountpoint, &frame.client_id),
            frame.switch,
        ))
    }
}

impl SessionsHandle {
    /// Joins the cluster of `peers`: answers the other nodes' disconnects and handovers, and
    /// reaches them from [`SessionsHandle::disconnect`] and from new connections. Only the
    /// first call counts.
    pub fn join_cluster(&self, peers: &Peers) {
        if self.shared.peers.set(peers.clone()).is_err() {
            return;
        }
        let slot = self.slot.clone();
        peers.on_call(
            DISCONNECT_TOPIC,
            Arc::new(move |_from, body| disconnect(slot.clone(), &body)),
        );
        let slot = self.slot.clone();
        peers.on_call(
            HANDOVER_TOPIC,
            Arc::new(move |_from, body| handover(slot.clone(), &body)),
        );
    }

    /// Disconnects the client on every other running node; answers whether one had it.
    pub(super) async fn disconnect_elsewhere(&self, key: &SessionKey, cleanup: bool) -> bool {
        let answers = self
            .ask_others(
                DISCONNECT_TOPIC,
                KeyFrame::encode(key, cleanup),
                DEFAULT_CALL_TIMEOUT,
            )
            .await;
        answers.iter().any(|answer| answer.as_slice() == [1])
    }

    /// The client of `key` connects here: every other running node gives its session up, and
    /// answers what it held unless `clean_start`.
    pub(crate) async fn take_over_elsewhere(
        &self,
        key: &SessionKey,
        clean_start: bool,
    ) -> Option<Handover> {
        let answers = self
            .ask_others(
                HANDOVER_TOPIC,
                KeyFrame::encode(key, !clean_start),
                HANDOVER_TIMEOUT,
            )
            .await;
        answers
            .iter()
            .filter_map(|answer| ciborium::from_reader::<Option<Handover>, _>(&answer[..]).ok())
            .flatten()
            .reduce(|mut all, more| {
                all.subscriptions.extend(more.subscriptions);
                all.messages.extend(more.messages);
                all.started_at_ms = all.started_at_ms.min(more.started_at_ms);
                all
            })
    }

    /// Calls `topic` on every other running node at once; the answers of those that answered
    /// (the others are logged).
    async fn ask_others(&self, topic: &str, body: Vec<u8>, timeout: Duration) -> Vec<Vec<u8>> {
        let Some(peers) = self.shared.peers.get() else {
            return Vec::new();
        };
        let nodes = peers.connected();
        if nodes.is_empty() {
            return Vec::new();
        }
        let calls = nodes
            .iter()
            .map(|node| peers.call(node, topic, body.clone(), timeout));
        join_all(calls)
            .await
            .into_iter()
            .filter_map(|answer| {
                answer
                    .map_err(|error| tracing::warn!(%error, topic, "a cluster node did not answer"))
                    .ok()
            })
            .collect()
    }
}

fn disconnect(slot: ActorSlot<SessionsMessage>, body: &[u8]) -> CallFuture {
    let frame = KeyFrame::decode(body);
    Box::pin(async move {
        let (key, cleanup) = frame?;
        let existed = call(&slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            SessionsMessage::Disconnect {
                key,
                cleanup,
                reply,
            }
        })
        .await
        .map_err(|e| e.to_string())?;
        Ok(vec![u8::from(existed)])
    })
}

fn handover(slot: ActorSlot<SessionsMessage>, body: &[u8]) -> CallFuture {
    let frame = KeyFrame::decode(body);
    Box::pin(async move {
        let (key, keep) = frame?;
        let handed = call(&slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            SessionsMessage::Handover { key, keep, reply }
        })
        .await
        .map_err(|e| e.to_string())?;
        Ok(encode(&handed))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_garbage_is_refused() {
        let key = SessionKey::new("mp", "c");
        assert_eq!(
            KeyFrame::decode(&KeyFrame::encode(&key, true)),
            Ok((key, true))
        );
        for garbage in [&b""[..], b"\xff", b"\xa3\x01\x02", b"not cbor at all"] {
            assert!(KeyFrame::decode(garbage).is_err());
        }
    }
}
