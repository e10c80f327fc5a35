//! An in-process [`RaftTransport`] for tests: requests go through the wire encoding to the peer's [`MetaHandle`]; nodes can be cut off and healed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use parking_lot::Mutex;

use super::log_store::{decode, encode};
use super::network::TransportFuture;
use super::{
    decode_request, encode_reply, MetaHandle, MetaNode, NodeId, RaftReply, RaftRequest,
    RaftTransport, TransportError,
};

/// The members of one in-process cluster and which of them are cut off.
#[derive(Default)]
pub struct LocalNet {
    nodes: Mutex<BTreeMap<NodeId, MetaHandle>>,
    cut_off: Mutex<BTreeSet<NodeId>>,
}

impl LocalNet {
    /// A net with no nodes.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The transport member `from` sends through.
    pub fn transport(self: &Arc<Self>, from: NodeId) -> Arc<dyn RaftTransport> {
        Arc::new(LocalTransport {
            from,
            net: Arc::clone(self),
        })
    }

    /// Makes `handle` reachable under its id (replacing a previous one: a restart).
    pub fn register(&self, handle: MetaHandle) {
        self.nodes.lock().insert(handle.id(), handle);
    }

    /// Makes `id` unreachable (it is gone).
    pub fn unregister(&self, id: NodeId) {
        self.nodes.lock().remove(&id);
    }

    /// Cuts `id` off: nothing it sends or is sent arrives.
    pub fn cut_off(&self, id: NodeId) {
        self.cut_off.lock().insert(id);
    }

    /// Reconnects `id`.
    pub fn heal(&self, id: NodeId) {
        self.cut_off.lock().remove(&id);
    }

    fn peer(&self, from: NodeId, to: NodeId) -> Option<MetaHandle> {
        let cut_off = self.cut_off.lock();
        if cut_off.contains(&from) || cut_off.contains(&to) {
            return None;
        }
        self.nodes.lock().get(&to).cloned()
    }
}

struct LocalTransport {
    from: NodeId,
    net: Arc<LocalNet>,
}

impl RaftTransport for LocalTransport {
    fn send(&self, target: NodeId, _node: &MetaNode, request: RaftRequest) -> TransportFuture {
        let peer = self.net.peer(self.from, target);
        Box::pin(async move {
            let peer = peer.ok_or(TransportError::Unreachable(target))?;
            // Through the bytes, as a real transport would carry them.
            let bytes = encode(&request).map_err(TransportError::Failed)?;
            let reply = peer.serve(decode_request(&bytes)?).await;
            let bytes = encode_reply(&reply)?;
            decode::<RaftReply>(&bytes).map_err(TransportError::Failed)
        })
    }
}
