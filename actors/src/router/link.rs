//! The routing table and the retained messages joined to the cluster over [`Peers`]: this node
//! casts each change of its subscription set to every peer (with a sequence number) and a beacon
//! every second; it pulls a peer's full set when the peer connects, restarts or a change went
//! missing. Publishes go to the peers with matching subscriptions, and retained sets and clears
//! to every peer, on each peer's acknowledged stream ([`super::stream`]); retained messages are
//! also pulled in full on connect. A member that becomes unreachable keeps its set, and publishes
//! for it are kept until it is back; a node that left the cluster is forgotten.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use super::remote::{FilterChange, RemoteRoutes};
use super::stream::Streams;
use super::sync::SyncTable;
use super::wire::{
    self, Beacon, Carried, Forwarded, ForwardedRef, RetainPage, RouteDelta, RouteFull,
};
use crate::cluster::{CallFuture, Peers};
use crate::metrics::{Counter, Metrics};
use crate::retain::{RetainStore, RetainUpdate};
use crate::sessions::{Message, Routes};
use crate::types::NodeName;

/// How often the connected peers are compared with the known ones.
const WATCH_EVERY: Duration = Duration::from_millis(250);
/// Beacons go out every this many watches.
const BEACON_EVERY: u32 = 4;
/// How long a pull may take.
const PULL_TIMEOUT: Duration = Duration::from_secs(5);
/// Pulls of a peer that has no handler yet (it is starting) are tried this many times.
const PULL_TRIES: u32 = 40;

/// This node's side of cross-node routing.
pub struct ClusterLink {
    peers: Peers,
    remote: RemoteRoutes,
    /// Drawn at start: a peer that sees another epoch knows this node restarted.
    epoch: u64,
    /// The number of the last change of this node's subscription set.
    seq: AtomicU64,
    syncs: Mutex<SyncTable>,
    /// The forwarded publishes, a stream per peer.
    streams: Arc<Streams>,
    /// The peers connected at the last watch (share groups prefer them).
    up: RwLock<BTreeSet<NodeName>>,
    routes: Weak<Routes>,
    retained: Weak<RetainStore>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for ClusterLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClusterLink({})", self.peers.local())
    }
}

/// Joins `routes` and `retained` to the cluster of `peers`: registers the peer handlers and
/// starts watching the peers (until the routing table is dropped). Up to `buffer` bytes of
/// publishes are kept per unreachable peer.
pub(crate) fn start(
    routes: &Arc<Routes>,
    retained: &Arc<RetainStore>,
    metrics: Arc<Metrics>,
    peers: &Peers,
    buffer: usize,
) {
    let epoch = random_epoch();
    let streams = Streams::new(peers.clone(), epoch, buffer, Arc::clone(&metrics));
    let link = Arc::new(ClusterLink {
        peers: peers.clone(),
        remote: RemoteRoutes::default(),
        epoch,
        seq: AtomicU64::new(0),
        syncs: Mutex::default(),
        streams: Arc::new(streams),
        up: RwLock::default(),
        routes: Arc::downgrade(routes),
        retained: Arc::downgrade(retained),
        metrics,
    });
    routes.set_link(Arc::clone(&link));
    let weak = Arc::downgrade(&link);
    retained.replicate(
        peers.local().as_str(),
        Box::new(move |updates| {
            let updates: Vec<_> = updates.into_iter().filter(wire::fits).collect();
            if let (Some(link), false) = (weak.upgrade(), updates.is_empty()) {
                link.send_retained(&updates);
            }
        }),
    );
    register(&link);
    tokio::spawn(peers::watch(Arc::downgrade(&link)));
}

fn random_epoch() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // The clock is a fine epoch too: it differs between runs.
        return crate::sessions::now_ms().unsigned_abs();
    }
    u64::from_le_bytes(bytes)
}

/// Answers a peer's call from the link.
type Answer = fn(&ClusterLink, &NodeName, &[u8]) -> Result<Vec<u8>, String>;

/// Registers the handlers; each holds the link weakly and does nothing once it is gone.
fn register(link: &Arc<ClusterLink>) {
    let peers = &link.peers;
    let cast = |handle: fn(&Arc<ClusterLink>, NodeName, &[u8])| {
        let weak = Arc::downgrade(link);
        Arc::new(move |from: NodeName, body: Vec<u8>| {
            if let Some(link) = weak.upgrade() {
                handle(&link, from, &body);
            }
        })
    };
    peers.on_cast(wire::ROUTE_DELTA, cast(ClusterLink::on_delta));
    peers.on_cast(wire::ROUTE_BEACON, cast(ClusterLink::on_beacon));
    peers.on_cast(wire::ROUTE_STREAM, cast(ClusterLink::on_stream));
    peers.on_cast(
        wire::ROUTE_ACK,
        cast(|link, from, body| link.streams.on_ack(&from, body)),
    );
    peers.on_cast(
        wire::ROUTE_RESYNC,
        cast(|link, from, _| link.streams.on_resync(&from)),
    );
    let call = |answer: Answer| {
        let weak = Arc::downgrade(link);
        Arc::new(move |from: NodeName, body: Vec<u8>| -> CallFuture {
            let frame = match weak.upgrade() {
                Some(link) => answer(&link, &from, &body),
                None => Err("the node is stopping".to_owned()),
            };
            Box::pin(async move { frame })
        })
    };
    peers.on_call(wire::ROUTE_FULL, call(ClusterLink::full_frame));
    peers.on_call(wire::RETAIN_FULL, call(ClusterLink::retained_frame));
    peers.on_call(
        wire::ROUTE_RESUME,
        call(|link, from, body| link.streams.answer_resume(from, body)),
    );
}

impl ClusterLink {
    /// This node's subscription set changed (called with the routing table locked, in order).
    pub(crate) fn changed(&self, change: &FilterChange) {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let (added, mountpoint, filter) = match change {
            FilterChange::Added { mountpoint, filter } => (true, mountpoint, filter),
            FilterChange::Removed { mountpoint, filter } => (false, mountpoint, filter),
        };
        let delta = RouteDelta {
            at: Beacon {
                epoch: self.epoch,
                seq,
            },
            added,
            mountpoint: mountpoint.clone(),
            filter: filter.clone(),
        };
        self.peers
            .broadcast(wire::ROUTE_DELTA, &wire::encode(&delta));
    }

    /// Forwards a publish to the peers with matching subscriptions (share groups that
    /// `served_here` are left out); answers how many peers it went to.
    pub(crate) fn forward(
        &self,
        mountpoint: &str,
        message: &Message,
        served_here: impl Fn(&str) -> bool,
    ) -> usize {
        // Reachability is only asked for share groups served by peers.
        let up = |node: &NodeName| self.up.read().contains(node);
        let forwards = self
            .remote
            .forwards(mountpoint, &message.topic, served_here, up);
        for forward in &forwards {
            let frame = ForwardedRef {
                mountpoint,
                groups: forward.groups.iter().map(|g| &**g).collect(),
                message,
            };
            self.streams
                .send(&forward.node, &wire::encode_publish(&frame));
        }
        self.metrics
            .add(Counter::RouterMatchesRemote, forwards.len());
        forwards.len()
    }

    fn beacon(&self) -> Beacon {
        Beacon {
            epoch: self.epoch,
            seq: self.seq.load(Ordering::SeqCst),
        }
    }

    fn full_frame(&self, _from: &NodeName, _request: &[u8]) -> Result<Vec<u8>, String> {
        let routes = self.routes.upgrade().ok_or("the node is stopping")?;
        Ok(routes.with_filters(|filters| {
            wire::encode(&RouteFull {
                at: self.beacon(),
                filters: filters.snapshot(),
            })
        }))
    }

    fn retained_frame(&self, _from: &NodeName, request: &[u8]) -> Result<Vec<u8>, String> {
        let after = wire::decode_cursor(request).ok_or("malformed retained pull")?;
        let retained = self.retained.upgrade().ok_or("the node is stopping")?;
        Ok(wire::encode(&RetainPage::of(retained.updates(), &after)))
    }

    /// Sends retained updates to the peers connected at the last watch (one that connects
    /// later pulls them all).
    fn send_retained(&self, updates: &[RetainUpdate]) {
        let body = wire::encode_retained(updates);
        for node in self.up.read().iter() {
            self.streams.send(node, &body);
        }
    }

    fn on_stream(self: &Arc<Self>, from: NodeName, frame: &[u8]) {
        let Some(body) = self.streams.receive(&from, frame) else {
            return;
        };
        match wire::decode_carried(body) {
            Some(Carried::Publish(forwarded)) => self.deliver(&forwarded),
            Some(Carried::Retained(updates)) => {
                if let Some(retained) = self.retained.upgrade() {
                    retained.merge(&updates);
                }
            }
            None => {
                tracing::warn!(%from, "malformed publish or retained update from a peer dropped")
            }
        }
    }

    fn deliver(&self, forwarded: &Forwarded) {
        let Some(routes) = self.routes.upgrade() else {
            return;
        };
        let routed =
            routes.route_forwarded(&forwarded.mountpoint, &forwarded.message, &forwarded.groups);
        let delivered = routed.matched - routed.dropped.min(routed.matched);
        self.metrics.add(Counter::QueueMessageIn, delivered);
        self.metrics.add(Counter::QueueMessageDrop, routed.dropped);
    }
}

#[path = "link_peers.rs"]
mod peers;
