//! The acknowledged streams ([`super::outbox`]) joined to the peers: an outbox per peer this node
//! sends publishes and retained updates to, an inbox per peer that sends here, the
//! acknowledgements, resyncs and resumes between them, and the `cluster_bytes_*` counters.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::outbox::{Inbox, Outbox, Pushed, Resume, Take};
use super::wire;
use crate::cluster::Peers;
use crate::metrics::{Counter, Metrics};
use crate::types::NodeName;

/// How long a resume may wait for the peer's answer.
const RESUME_TIMEOUT: Duration = Duration::from_secs(5);

/// Every stream of this node.
pub(crate) struct Streams {
    peers: Peers,
    epoch: u64,
    /// Bytes kept per peer at most (`outgoing_clustering_buffer_size`).
    limit: usize,
    outboxes: Mutex<HashMap<NodeName, Outbox>>,
    inboxes: Mutex<HashMap<NodeName, Inbox>>,
    metrics: Arc<Metrics>,
}

impl Streams {
    /// No streams yet; outboxes of run `epoch` keep at most `limit` bytes each.
    pub(crate) fn new(peers: Peers, epoch: u64, limit: usize, metrics: Arc<Metrics>) -> Self {
        Self {
            peers,
            epoch,
            limit,
            outboxes: Mutex::default(),
            inboxes: Mutex::default(),
            metrics,
        }
    }

    /// Sends `body` to `node` on its stream, or keeps it until `node` is back; answers false
    /// when the buffer is full and it was dropped.
    pub(crate) fn send(&self, node: &NodeName, body: &[u8]) -> bool {
        let mut outboxes = self.outboxes.lock();
        let outbox = outboxes
            .entry(node.clone())
            .or_insert_with(|| Outbox::new(self.epoch, self.limit));
        match outbox.push(body) {
            Pushed::Send(frame) => {
                self.cast_frame(node, outbox, frame);
                true
            }
            Pushed::Held => true,
            Pushed::Dropped { first } => {
                if first {
                    let (frames, bytes) = outbox.kept();
                    tracing::warn!(%node, frames, bytes, "cluster buffer full: publishes for this node are dropped (outgoing_clustering_buffer_size)");
                }
                self.metrics.add(Counter::ClusterBytesDropped, body.len());
                false
            }
        }
    }

    /// Casts one frame of `outbox`; a failed cast takes the stream down until the next resume.
    fn cast_frame(&self, node: &NodeName, outbox: &mut Outbox, frame: Vec<u8>) -> bool {
        let bytes = frame.len();
        match self.peers.cast(node, wire::ROUTE_STREAM, frame) {
            Ok(()) => {
                self.metrics.add(Counter::ClusterBytesSent, bytes);
                true
            }
            Err(error) => {
                tracing::debug!(%error, "stream down: publishes are kept for the resume");
                outbox.went_down();
                false
            }
        }
    }

    /// A frame of `from`'s stream came: answers its body when it is the next in sequence (to
    /// deliver now); a frame out of sequence asks `from` to resume.
    pub(crate) fn receive<'a>(&self, from: &NodeName, frame: &'a [u8]) -> Option<&'a [u8]> {
        let Some((epoch, seq, body)) = super::outbox::unsequenced(frame) else {
            tracing::warn!(%from, "malformed stream frame from a peer dropped");
            return None;
        };
        self.metrics.add(Counter::ClusterBytesReceived, frame.len());
        let mut inboxes = self.inboxes.lock();
        let inbox = inboxes.entry(from.clone()).or_default();
        match inbox.take(epoch, seq) {
            Take::Deliver { ack } => {
                if ack {
                    self.send_ack(from, inbox);
                }
                Some(body)
            }
            Take::Resync => {
                tracing::debug!(%from, seq, "stream frame out of sequence: asking for a resume");
                let _ = self.peers.cast(from, wire::ROUTE_RESYNC, Vec::new());
                None
            }
            Take::Duplicate | Take::Skip => None,
        }
    }

    fn send_ack(&self, to: &NodeName, inbox: &mut Inbox) {
        if let Some(ack) = inbox.ack() {
            let _ = self.peers.cast(to, wire::ROUTE_ACK, wire::encode(&ack));
        }
    }

    /// `from` acknowledged frames of this node's stream to it.
    pub(crate) fn on_ack(&self, from: &NodeName, body: &[u8]) {
        let Some(ack) = wire::decode_ack(body) else {
            tracing::warn!(%from, "malformed stream acknowledgement from a peer dropped");
            return;
        };
        if let Some(outbox) = self.outboxes.lock().get_mut(from) {
            outbox.acked(ack.epoch, ack.seq);
        }
    }

    /// `from` got a frame out of sequence: resume the stream to it.
    pub(crate) fn on_resync(self: &Arc<Self>, from: &NodeName) {
        let mut outboxes = self.outboxes.lock();
        if let Some(outbox) = outboxes.get_mut(from) {
            if outbox.is_live() {
                self.start_resume(from, outbox);
            }
        }
    }

    /// `from` resumes its stream here: answers the last frame delivered.
    pub(crate) fn answer_resume(&self, from: &NodeName, body: &[u8]) -> Result<Vec<u8>, String> {
        let request = wire::decode_resume(body).ok_or("malformed resume request")?;
        let mut inboxes = self.inboxes.lock();
        let delivered = inboxes.entry(from.clone()).or_default().resume(request);
        Ok(wire::encode(&delivered))
    }

    /// Every watch tick: resumes the streams to `connected` peers that are down or stalled,
    /// takes the others down, and acknowledges what was delivered since the last tick.
    pub(crate) fn tick(self: &Arc<Self>, connected: &BTreeSet<NodeName>) {
        let mut outboxes = self.outboxes.lock();
        for (node, outbox) in outboxes.iter_mut() {
            if outbox.wants_resume(connected.contains(node)) {
                self.start_resume(node, outbox);
            }
        }
        drop(outboxes);
        let mut inboxes = self.inboxes.lock();
        for (node, inbox) in inboxes.iter_mut() {
            if connected.contains(node) {
                self.send_ack(node, inbox);
            }
        }
    }

    fn start_resume(self: &Arc<Self>, node: &NodeName, outbox: &mut Outbox) {
        let (id, request) = outbox.begin_resume();
        tokio::spawn(resume(Arc::clone(self), node.clone(), id, request));
    }

    /// Drops the streams to and from `node` (it left the cluster).
    pub(crate) fn forget(&self, node: &NodeName) {
        if let Some(outbox) = self.outboxes.lock().remove(node) {
            let (frames, bytes) = outbox.kept();
            if frames > 0 {
                tracing::warn!(%node, frames, "node left the cluster: publishes kept for it are dropped");
                self.metrics.add(Counter::ClusterBytesDropped, bytes);
            }
        }
        self.inboxes.lock().remove(node);
    }

    /// The peers with a stream either way.
    pub(crate) fn nodes(&self) -> BTreeSet<NodeName> {
        let mut nodes: BTreeSet<NodeName> = self.outboxes.lock().keys().cloned().collect();
        nodes.extend(self.inboxes.lock().keys().cloned());
        nodes
    }
}

/// Asks `node` how far it got and sends it the rest of the stream.
async fn resume(streams: Arc<Streams>, node: NodeName, id: u64, request: Resume) {
    let answer = streams
        .peers
        .call(
            &node,
            wire::ROUTE_RESUME,
            wire::encode(&request),
            RESUME_TIMEOUT,
        )
        .await;
    let mut outboxes = streams.outboxes.lock();
    let Some(outbox) = outboxes.get_mut(&node) else {
        return;
    };
    let delivered = match answer.map(|body| wire::decode_delivered(&body)) {
        Ok(Some(delivered)) => delivered,
        Ok(None) => {
            tracing::warn!(%node, "malformed resume answer from a peer");
            outbox.resume_failed(id);
            return;
        }
        Err(error) => {
            tracing::debug!(%error, "stream not resumed yet");
            outbox.resume_failed(id);
            return;
        }
    };
    let frames = outbox.resumed(id, delivered);
    if !frames.is_empty() {
        tracing::info!(%node, frames = frames.len(), "publishes kept for a peer are sent");
    }
    for frame in frames {
        if !streams.cast_frame(&node, outbox, frame) {
            return;
        }
    }
}
