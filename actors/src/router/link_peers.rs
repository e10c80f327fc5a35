//! What the link knows of its peers, kept current: the watch that sees peers connect and go
//! (pulling a newcomer's routes and retained messages, keeping an unreachable member's routes,
//! forgetting a node that left), the beacon, and the route changes and full sets peers send.

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};

use super::{ClusterLink, BEACON_EVERY, PULL_TIMEOUT, PULL_TRIES, WATCH_EVERY};
use crate::metrics::Counter;
use crate::router::sync::OnDelta;
use crate::router::wire::{self, Cursor, RouteFull};
use crate::types::NodeName;

/// Compares the connected peers with the known ones, keeps the streams going, and sends the
/// beacon, until the link goes.
pub(super) async fn watch(link: Weak<ClusterLink>) {
    let mut known: BTreeSet<NodeName> = BTreeSet::new();
    // Members that became unreachable (a netsplit, until they are back).
    let mut split: BTreeSet<NodeName> = BTreeSet::new();
    let mut ticks = 0u32;
    let mut interval = tokio::time::interval(WATCH_EVERY);
    loop {
        interval.tick().await;
        let Some(link) = link.upgrade() else {
            return;
        };
        let connected: BTreeSet<NodeName> = link.peers.connected().into_iter().collect();
        *link.up.write() = connected.clone();
        for node in connected.difference(&known) {
            tracing::debug!(%node, "peer connected: pulling its routes and retained messages");
            if split.remove(node) {
                link.metrics.count_one(Counter::NetsplitResolved);
            }
            link.start_pull(node);
            tokio::spawn(pull_retained(Arc::clone(&link), node.clone()));
        }
        for node in known.difference(&connected) {
            if link.went_away(node) {
                link.metrics.count_one(Counter::NetsplitDetected);
                split.insert(node.clone());
            }
        }
        split.retain(|node| link.peers.is_member(node));
        link.sweep(&connected);
        link.streams.tick(&connected);
        known = connected;
        ticks = ticks.wrapping_add(1);
        if ticks.is_multiple_of(BEACON_EVERY) {
            link.send_beacon();
        }
    }
}

impl ClusterLink {
    fn send_beacon(&self) {
        let Some(routes) = self.routes.upgrade() else {
            return;
        };
        // Read with changes held off: every change the beacon counts was cast before it.
        routes.with_filters(|_| {
            let beacon = self.beacon();
            self.peers
                .broadcast(wire::ROUTE_BEACON, &wire::encode(&beacon));
        });
    }

    /// `node` is not connected any more: a member keeps its routes and stream until it is back
    /// (answers true), another node is forgotten.
    fn went_away(&self, node: &NodeName) -> bool {
        if !self.peers.is_member(node) {
            tracing::info!(%node, "peer gone: its routes are dropped");
            self.forget(node);
            return false;
        }
        tracing::warn!(%node, "cluster member unreachable: publishes for it are kept until it is back");
        self.syncs.lock().forget(node);
        true
    }

    /// Forgets the routes and streams of nodes that are neither connected nor members (they
    /// left the cluster).
    fn sweep(&self, connected: &BTreeSet<NodeName>) {
        let mut nodes = self.remote.nodes();
        nodes.extend(self.streams.nodes());
        for node in nodes {
            if !connected.contains(&node) && !self.peers.is_member(&node) {
                tracing::info!(%node, "node left the cluster: its routes are dropped");
                self.forget(&node);
            }
        }
    }

    fn forget(&self, node: &NodeName) {
        let mut syncs = self.syncs.lock();
        syncs.forget(node);
        self.remote.remove_node(node);
        self.streams.forget(node);
    }

    pub(super) fn on_delta(self: &Arc<Self>, from: NodeName, body: &[u8]) {
        let Some(delta) = wire::decode_delta(body) else {
            tracing::warn!(%from, "malformed route change from a peer dropped");
            return;
        };
        let mut syncs = self.syncs.lock();
        match syncs.on_delta(&from, delta) {
            OnDelta::Apply(change) => self.remote.apply(&from, &change),
            OnDelta::Wait => {}
            OnDelta::Pull => {
                drop(syncs);
                tokio::spawn(pull_routes(Arc::clone(self), from));
            }
        }
    }

    pub(super) fn on_beacon(self: &Arc<Self>, from: NodeName, body: &[u8]) {
        let Some(beacon) = wire::decode_beacon(body) else {
            tracing::warn!(%from, "malformed route beacon from a peer dropped");
            return;
        };
        if self.syncs.lock().on_beacon(&from, beacon) {
            tokio::spawn(pull_routes(Arc::clone(self), from));
        }
    }

    fn start_pull(self: &Arc<Self>, node: &NodeName) {
        if self.syncs.lock().start_pull(node) {
            tokio::spawn(pull_routes(Arc::clone(self), node.clone()));
        }
    }

    /// Installs `node`'s full set and the changes kept while it was on its way.
    fn install(self: &Arc<Self>, node: &NodeName, full: &RouteFull) {
        let mut syncs = self.syncs.lock();
        if !self.peers.connected().contains(node) {
            // Gone meanwhile: its set comes again when it is back.
            syncs.forget(node);
            return;
        }
        self.remote.replace_node(node, &full.filters);
        let after = syncs.on_full(node, full);
        for change in &after.changes {
            self.remote.apply(node, change);
        }
        drop(syncs);
        if after.pull_again {
            tokio::spawn(pull_routes(Arc::clone(self), node.clone()));
        }
    }
}

/// Asks `node` for its full subscription set and installs it (the sync table marked it pulling).
async fn pull_routes(link: Arc<ClusterLink>, node: NodeName) {
    let answer = link
        .peers
        .call(&node, wire::ROUTE_FULL, Vec::new(), PULL_TIMEOUT)
        .await;
    match answer.map(|body| wire::decode_full(&body)) {
        Ok(Some(full)) => link.install(&node, &full),
        Ok(None) => {
            tracing::warn!(%node, "malformed route set from a peer dropped");
            link.syncs.lock().pull_failed(&node);
        }
        Err(error) => {
            tracing::debug!(%error, "routes not pulled yet");
            link.syncs.lock().pull_failed(&node);
        }
    }
}

/// Asks `node` for every retained message and clear it knows, page by page, and merges them; a
/// peer still starting (no handler yet) is asked again a little later.
async fn pull_retained(link: Arc<ClusterLink>, node: NodeName) {
    let mut after: Cursor = None;
    let mut tries = 0;
    while tries < PULL_TRIES {
        let request = wire::encode(&after);
        let answer = link
            .peers
            .call(&node, wire::RETAIN_FULL, request, PULL_TIMEOUT)
            .await;
        match answer {
            Ok(body) => {
                let Some(page) = wire::decode_page(&body) else {
                    tracing::warn!(%node, "malformed retained messages from a peer dropped");
                    return;
                };
                if let Some(retained) = link.retained.upgrade() {
                    retained.merge(&page.updates);
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => return,
                }
                continue;
            }
            Err(error) => tracing::debug!(%error, "retained messages not pulled yet"),
        }
        if !link.peers.connected().contains(&node) {
            return;
        }
        tries += 1;
        tokio::time::sleep(WATCH_EVERY).await;
    }
}
