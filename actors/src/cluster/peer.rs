//! Requests between nodes over the fabric: every node runs one peer service, announced in the
//! process group `vmq_peer:<node name>`, and the parts of the node (raft, routing, sessions, …)
//! register a handler per topic. [`Peers`] is what they use to call, cast and broadcast.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use parking_lot::RwLock;
use ractor::message::{BoxedDowncastErr, SerializedMessage};
use ractor::{pg, Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::Member;
use crate::call::{call, CallError};
use crate::types::NodeName;

/// The prefix of every node's peer-service group; the node name follows it.
const GROUP_PREFIX: &str = "vmq_peer:";

/// What a call handler's future yields: the reply body, or why the request was refused.
pub type CallFuture = Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send>>;
/// Answers a request from node `from`.
pub type CallHandler = Arc<dyn Fn(NodeName, Vec<u8>) -> CallFuture + Send + Sync>;
/// Takes a one-way message from node `from`; it runs on the peer service, in arrival order, so it
/// must return quickly (hand long work to a task or an actor).
pub type CastHandler = Arc<dyn Fn(NodeName, Vec<u8>) + Send + Sync>;

/// Why a request to a peer got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// No fabric session with that node is up.
    #[error("cluster node {0} is not connected")]
    NotConnected(String),
    /// The node did not answer in time, or its session closed.
    #[error("cluster node {node} did not answer: {error}")]
    NoAnswer {
        /// The node asked.
        node: String,
        /// The call's failure.
        error: CallError,
    },
    /// The node answered that it cannot serve the request.
    #[error("cluster node {node} refused the request: {reason}")]
    Refused {
        /// The node asked.
        node: String,
        /// Its reason.
        reason: String,
    },
}

#[derive(Default)]
struct Handlers {
    calls: HashMap<String, CallHandler>,
    casts: HashMap<String, CastHandler>,
}

/// The node's side of the peer fabric: registered handlers and the way to reach other nodes.
#[derive(Clone)]
pub struct Peers {
    local: NodeName,
    handlers: Arc<RwLock<Handlers>>,
    /// The cluster's member list, when this node keeps one.
    members: Option<Arc<ArcSwap<Vec<Member>>>>,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Peers({})", self.local)
    }
}

impl Peers {
    /// The peer side of node `local`, with no handlers yet.
    pub(crate) fn new(local: NodeName) -> Self {
        Self {
            local,
            handlers: Arc::default(),
            members: None,
        }
    }

    /// The same, answering [`Peers::is_member`] from `members`.
    pub(crate) fn with_members(self, members: Arc<ArcSwap<Vec<Member>>>) -> Self {
        Self {
            members: Some(members),
            ..self
        }
    }

    /// Whether `node` is a member of the cluster, reachable or not (false without a member list).
    pub fn is_member(&self, node: &NodeName) -> bool {
        self.members
            .as_ref()
            .is_some_and(|members| members.load().iter().any(|m| &m.node == node))
    }

    /// This node's name.
    pub fn local(&self) -> &NodeName {
        &self.local
    }

    /// Answers `topic` requests with `handler` (replacing an earlier one).
    pub fn on_call(&self, topic: &str, handler: CallHandler) {
        self.handlers
            .write()
            .calls
            .insert(topic.to_owned(), handler);
    }

    /// Takes `topic` messages with `handler` (replacing an earlier one).
    pub fn on_cast(&self, topic: &str, handler: CastHandler) {
        self.handlers
            .write()
            .casts
            .insert(topic.to_owned(), handler);
    }

    /// Every node a fabric session is up with, sorted, without this one.
    pub fn connected(&self) -> Vec<NodeName> {
        let mut nodes: Vec<NodeName> = pg::which_groups()
            .iter()
            .filter_map(|group| group.strip_prefix(GROUP_PREFIX))
            .filter(|name| *name != self.local.as_str())
            .filter_map(|name| NodeName::parse(name).ok())
            .filter(|node| remote_service(node).is_some())
            .collect();
        nodes.sort();
        nodes.dedup();
        nodes
    }

    /// Asks `node` (this one answers directly) and waits up to `timeout` for the reply body.
    pub async fn call(
        &self,
        node: &NodeName,
        topic: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, PeerError> {
        let refused = |reason| PeerError::Refused {
            node: node.to_string(),
            reason,
        };
        if *node == self.local {
            let answer = self.dispatch_call(self.local.clone(), topic, body);
            return answer.await.map_err(refused);
        }
        let service = remote_service(node).ok_or(PeerError::NotConnected(node.to_string()))?;
        let from = self.local.clone();
        let frame = call(&service, "peer service", timeout, |reply| {
            PeerMessage::Call {
                from,
                topic: topic.to_owned(),
                body,
                reply,
            }
        })
        .await
        .map_err(|error| PeerError::NoAnswer {
            node: node.to_string(),
            error,
        })?;
        decode_reply(frame).map_err(refused)
    }

    /// Sends `body` to `node` without waiting; messages to one node arrive in the order sent.
    pub fn cast(&self, node: &NodeName, topic: &str, body: Vec<u8>) -> Result<(), PeerError> {
        if *node == self.local {
            self.dispatch_cast(self.local.clone(), topic, body);
            return Ok(());
        }
        let service = remote_service(node).ok_or(PeerError::NotConnected(node.to_string()))?;
        let message = PeerMessage::Cast {
            from: self.local.clone(),
            topic: topic.to_owned(),
            body,
        };
        service
            .cast(message)
            .map_err(|_| PeerError::NotConnected(node.to_string()))
    }

    /// Casts `body` to every connected node; returns the nodes it was sent to.
    pub fn broadcast(&self, topic: &str, body: &[u8]) -> Vec<NodeName> {
        let nodes = self.connected();
        nodes
            .into_iter()
            .filter(|node| self.cast(node, topic, body.to_vec()).is_ok())
            .collect()
    }

    fn dispatch_call(&self, from: NodeName, topic: &str, body: Vec<u8>) -> CallFuture {
        let handler = self.handlers.read().calls.get(topic).cloned();
        match handler {
            Some(handler) => handler(from, body),
            None => {
                let reason = format!("no handler for '{topic}' (a node of another version?)");
                Box::pin(async move { Err(reason) })
            }
        }
    }

    fn dispatch_cast(&self, from: NodeName, topic: &str, body: Vec<u8>) {
        let handler = self.handlers.read().casts.get(topic).cloned();
        match handler {
            Some(handler) => handler(from, body),
            None => tracing::debug!(%from, topic, "peer message without a handler dropped"),
        }
    }
}

/// The remote peer service of `node`, when a fabric session with it is up.
fn remote_service(node: &NodeName) -> Option<ActorRef<PeerMessage>> {
    pg::get_members(&group(node))
        .into_iter()
        .find(|cell: &ActorCell| !cell.get_id().is_local())
        .map(ActorRef::from)
}

fn group(node: &NodeName) -> String {
    format!("{GROUP_PREFIX}{node}")
}

/// A reply on the wire: `0` then the body, or `1` then the reason it was refused.
fn encode_reply(answer: Result<Vec<u8>, String>) -> Vec<u8> {
    match answer {
        Ok(mut body) => {
            body.insert(0, 0);
            body
        }
        Err(reason) => {
            let mut frame = vec![1];
            frame.extend_from_slice(reason.as_bytes());
            frame
        }
    }
}

fn decode_reply(mut frame: Vec<u8>) -> Result<Vec<u8>, String> {
    match frame.first() {
        Some(0) => {
            frame.remove(0);
            Ok(frame)
        }
        Some(1) => Err(String::from_utf8_lossy(&frame[1..]).into_owned()),
        _ => Err("malformed reply".to_owned()),
    }
}

/// The peer service's messages: what other nodes send.
pub enum PeerMessage {
    /// A request that expects a reply frame: `0` then the body, or `1` then why it was refused.
    Call {
        /// The sending node.
        from: NodeName,
        /// Which handler.
        topic: String,
        /// The request.
        body: Vec<u8>,
        /// Where the reply frame goes.
        reply: RpcReplyPort<Vec<u8>>,
    },
    /// A one-way message.
    Cast {
        /// The sending node.
        from: NodeName,
        /// Which handler.
        topic: String,
        /// The message.
        body: Vec<u8>,
    },
}

impl ractor::Message for PeerMessage {
    fn serializable() -> bool {
        true
    }

    fn serialize(self) -> Result<SerializedMessage, BoxedDowncastErr> {
        Ok(match self {
            PeerMessage::Call {
                from,
                topic,
                body,
                reply,
            } => SerializedMessage::Call {
                variant: topic,
                args: body,
                reply,
                metadata: Some(from.as_str().as_bytes().to_vec()),
            },
            PeerMessage::Cast { from, topic, body } => SerializedMessage::Cast {
                variant: topic,
                args: body,
                metadata: Some(from.as_str().as_bytes().to_vec()),
            },
        })
    }

    fn deserialize(bytes: SerializedMessage) -> Result<Self, BoxedDowncastErr> {
        let sender = |metadata: Option<Vec<u8>>| {
            let bytes = metadata.ok_or(BoxedDowncastErr)?;
            let text = std::str::from_utf8(&bytes).map_err(|_| BoxedDowncastErr)?;
            NodeName::parse(text).map_err(|_| BoxedDowncastErr)
        };
        match bytes {
            SerializedMessage::Call {
                variant,
                args,
                reply,
                metadata,
            } => Ok(PeerMessage::Call {
                from: sender(metadata)?,
                topic: variant,
                body: args,
                reply,
            }),
            SerializedMessage::Cast {
                variant,
                args,
                metadata,
            } => Ok(PeerMessage::Cast {
                from: sender(metadata)?,
                topic: variant,
                body: args,
            }),
            SerializedMessage::CallReply(..) => Err(BoxedDowncastErr),
        }
    }
}

/// The actor; it holds no data.
pub(crate) struct PeerService;

impl Actor for PeerService {
    type Msg = PeerMessage;
    type State = Peers;
    type Arguments = Peers;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        peers: Peers,
    ) -> Result<Self::State, ActorProcessingErr> {
        pg::join(group(&peers.local), vec![myself.get_cell()]);
        Ok(peers)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        peers: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            PeerMessage::Call {
                from,
                topic,
                body,
                reply,
            } => {
                let answer = peers.dispatch_call(from, &topic, body);
                tokio::spawn(async move {
                    let _ = reply.send(encode_reply(answer.await));
                });
            }
            PeerMessage::Cast { from, topic, body } => peers.dispatch_cast(from, &topic, body),
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "peer_tests.rs"]
mod tests;
