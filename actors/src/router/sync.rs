//! Whether what this node knows of each peer's subscription set is current: changes apply in
//! sequence; a gap, another epoch (the peer restarted) or a beacon that disagrees asks for the
//! full set, and changes that come while it is on its way are kept and applied after it.

use std::collections::HashMap;

use super::remote::FilterChange;
use super::wire::{Beacon, RouteDelta, RouteFull};
use crate::types::NodeName;

/// Changes kept per peer while its full set is on its way; beyond this, they are dropped and the
/// next beacon asks again.
const MAX_PENDING: usize = 10_000;

/// What to do with a peer's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnDelta {
    /// Apply it.
    Apply(FilterChange),
    /// Nothing now (kept until the full set comes, or stale).
    Wait,
    /// Ask the peer for its full set.
    Pull,
}

/// What follows a full set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterFull {
    /// Kept changes newer than the set, to apply after it in order.
    pub changes: Vec<FilterChange>,
    /// The kept changes leave a gap: pull again.
    pub pull_again: bool,
}

#[derive(Debug, Default)]
struct PeerSync {
    /// The version applied, once a full set came.
    current: Option<Beacon>,
    /// A full set was asked for and has not come.
    pulling: bool,
    /// Changes newer than `current`, in arrival order.
    pending: Vec<RouteDelta>,
}

/// Per peer, the version of its subscription set this node holds.
#[derive(Debug, Default)]
pub struct SyncTable {
    peers: HashMap<NodeName, PeerSync>,
}

fn change(delta: RouteDelta) -> FilterChange {
    let RouteDelta {
        added,
        mountpoint,
        filter,
        ..
    } = delta;
    match added {
        true => FilterChange::Added { mountpoint, filter },
        false => FilterChange::Removed { mountpoint, filter },
    }
}

impl SyncTable {
    /// A change from `node`.
    pub fn on_delta(&mut self, node: &NodeName, delta: RouteDelta) -> OnDelta {
        let peer = self.peers.entry(node.clone()).or_default();
        match peer.current {
            Some(at) if at.epoch == delta.at.epoch && delta.at.seq == at.seq + 1 => {
                peer.current = Some(delta.at);
                OnDelta::Apply(change(delta))
            }
            Some(at) if at.epoch == delta.at.epoch && delta.at.seq <= at.seq => OnDelta::Wait,
            _ => {
                if peer.pending.len() < MAX_PENDING {
                    peer.pending.push(delta);
                }
                match std::mem::replace(&mut peer.pulling, true) {
                    true => OnDelta::Wait,
                    false => OnDelta::Pull,
                }
            }
        }
    }

    /// A pull of `node`'s full set starts (`false`: one is already on its way).
    pub fn start_pull(&mut self, node: &NodeName) -> bool {
        let peer = self.peers.entry(node.clone()).or_default();
        !std::mem::replace(&mut peer.pulling, true)
    }

    /// A pull failed; a later beacon or change asks again.
    pub fn pull_failed(&mut self, node: &NodeName) {
        if let Some(peer) = self.peers.get_mut(node) {
            peer.pulling = false;
        }
    }

    /// `node`'s full set came (install it): answers the kept changes to apply after it.
    pub fn on_full(&mut self, node: &NodeName, full: &RouteFull) -> AfterFull {
        let peer = self.peers.entry(node.clone()).or_default();
        peer.pulling = false;
        let mut at = full.at;
        let mut changes = Vec::new();
        let mut gap = false;
        for delta in std::mem::take(&mut peer.pending) {
            if delta.at.epoch != at.epoch || delta.at.seq <= at.seq {
                continue;
            }
            if delta.at.seq != at.seq + 1 {
                gap = true;
                break;
            }
            at = delta.at;
            changes.push(change(delta));
        }
        peer.current = Some(at);
        if gap {
            peer.pulling = true;
        }
        AfterFull {
            changes,
            pull_again: gap,
        }
    }

    /// A beacon from `node`: whether its full set must be pulled now.
    pub fn on_beacon(&mut self, node: &NodeName, beacon: Beacon) -> bool {
        let peer = self.peers.entry(node.clone()).or_default();
        // Changes are cast before the beacon that counts them: a beacon that disagrees means
        // something was lost (or the peer restarted).
        if peer.current == Some(beacon) || peer.pulling {
            return false;
        }
        peer.pulling = true;
        true
    }

    /// Forgets `node` (down or gone): its next set comes in full.
    pub fn forget(&mut self, node: &NodeName) {
        self.peers.remove(node);
    }
}

#[cfg(test)]
#[path = "sync_tests.rs"]
mod tests;
