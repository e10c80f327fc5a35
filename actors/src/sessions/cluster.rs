//! Sessions across the cluster: `session disconnect` reaches every node, and a client that
//! connects here takes its session over from whichever node held it (one session per client
//! id cluster-wide): that node closes the connection as in a takeover and, without a clean
//! start, hands the subscriptions and queued messages over. A node that leaves the cluster
//! moves its persistent sessions to the others ([`SessionsHandle::move_away`]). Frames are
//! CBOR; a malformed one is refused with an error.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

use super::message::{encode, SessionKey};
use super::queue::QueueLimits;
use super::registry::Handover;
use super::{SessionsHandle, SessionsMessage, NAME};
use crate::call::{call, CallError, DEFAULT_CALL_TIMEOUT};
use crate::cluster::{CallFuture, Peers};
use crate::slot::ActorSlot;

/// `session disconnect` on the receiving node: answers `[1]` if it had the session, `[0]` if not.
pub const DISCONNECT_TOPIC: &str = "session.disconnect";
/// A client connected on the sending node: answers the CBOR of `Option<Handover>`.
pub const HANDOVER_TOPIC: &str = "session.handover";
/// A leaving node gives the receiving one a persistent session: CBOR of an `AdoptFrame`.
pub const ADOPT_TOPIC: &str = "session.adopt";
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

/// A session a leaving node gives away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct AdoptFrame {
    mountpoint: String,
    client_id: String,
    handed: Handover,
}

/// What [`SessionsHandle::move_away`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Moved {
    /// Persistent sessions (queues) now kept by another node.
    pub queues: usize,
    /// Their messages.
    pub messages: usize,
    /// Sessions no node took (closed here, and lost).
    pub failed: usize,
}

impl SessionsHandle {
    /// Joins the cluster of `peers`: routes and retained messages are shared with them (with up
    /// to `buffer` bytes of publishes kept for each unreachable member); the other nodes'
    /// disconnects and handovers are answered, and reached from [`SessionsHandle::disconnect`]
    /// and from new connections. Only the first call counts.
    pub fn join_cluster(&self, peers: &Peers, buffer: usize) {
        if self.shared.peers.set(peers.clone()).is_err() {
            return;
        }
        self.link_routes(peers, buffer);
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
        let (slot, limits) = (self.slot.clone(), self.shared.limits);
        peers.on_call(
            ADOPT_TOPIC,
            Arc::new(move |_from, body| adopt(&slot, limits, &body)),
        );
    }

    /// This node leaves the cluster: every session is closed (as in a takeover) and each
    /// persistent one moves, with its subscriptions and messages, to the other running nodes
    /// in turn. Refused when no other node runs.
    pub async fn move_away(&self) -> Result<Moved, String> {
        let peers = self
            .shared
            .peers
            .get()
            .ok_or("this node is not in a cluster")?;
        let targets = peers.connected();
        if targets.is_empty() {
            return Err("no other running cluster node to move the sessions to".to_owned());
        }
        let mut moved = Moved::default();
        let keys: Vec<SessionKey> = self.sessions().keys().cloned().collect();
        for key in keys {
            let (mountpoint, client_id) = (key.mountpoint.clone(), key.client_id.clone());
            let handed = call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
                SessionsMessage::Handover {
                    key,
                    keep: true,
                    reply,
                }
            })
            .await
            .map_err(|e| e.to_string())?;
            let Some(handed) = handed.filter(|h| h.expiry_secs != Some(0)) else {
                continue;
            };
            let messages = handed.messages.len();
            let target = &targets[(moved.queues + moved.failed) % targets.len()];
            let frame = encode(&AdoptFrame {
                mountpoint,
                client_id,
                handed,
            });
            match peers
                .call(target, ADOPT_TOPIC, frame, DEFAULT_CALL_TIMEOUT)
                .await
            {
                Ok(_) => {
                    moved.queues += 1;
                    moved.messages += messages;
                }
                Err(error) => {
                    tracing::warn!(%error, "a session of this leaving node was lost");
                    moved.failed += 1;
                }
            }
        }
        Ok(moved)
    }

    /// `session disconnect`: closes the client's connection (the session stays unless
    /// `cleanup`), on whichever cluster node holds it. Answers whether there was such a session.
    pub async fn disconnect(&self, key: SessionKey, cleanup: bool) -> Result<bool, CallError> {
        let (here, elsewhere) = tokio::join!(
            self.disconnect_here(key.clone(), cleanup),
            self.disconnect_elsewhere(&key, cleanup)
        );
        Ok(here? || elsewhere)
    }

    /// [`SessionsHandle::disconnect`] on this node only.
    async fn disconnect_here(&self, key: SessionKey, cleanup: bool) -> Result<bool, CallError> {
        call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            SessionsMessage::Disconnect {
                key,
                cleanup,
                reply,
            }
        })
        .await
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

fn adopt(slot: &ActorSlot<SessionsMessage>, limits: QueueLimits, body: &[u8]) -> CallFuture {
    let frame: Result<AdoptFrame, String> = ciborium::from_reader(body)
        .map_err(|_| "malformed session frame (a node of another version?)".to_owned());
    let sent = frame.and_then(|frame| {
        let message = SessionsMessage::Adopt {
            key: SessionKey::new(&frame.mountpoint, &frame.client_id),
            handed: Box::new(frame.handed),
            limits,
        };
        slot.get()
            .cast(message)
            .map_err(|_| format!("the {NAME} is not running"))
    });
    Box::pin(async move { sent.map(|()| Vec::new()) })
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
