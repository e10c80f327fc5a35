//! Membership data and its rules (heartbeat misses, gossip merge, join bookkeeping, reconnect
//! backoff), kept apart from the actor so they test without a runtime. Time is counted in ticks
//! (one per heartbeat interval).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arc_swap::ArcSwap;
use ractor::RpcReplyPort;

use super::wire::{Heartbeat, MemberList, StoredMember};
use crate::types::NodeName;

#[path = "state_leave.rs"]
mod leave;
pub use leave::LeaveOutcome;

/// A peer unheard for more ticks than this shows `Running = false`.
pub const MISS_LIMIT: u32 = 3;
/// A join that has not seen both sides agree after this many ticks answers with an error.
pub const JOIN_TIMEOUT_TICKS: u32 = 10;
/// The longest wait, in ticks, between two reconnect attempts to a down member.
const MAX_BACKOFF: u32 = 16;

/// One cluster member as `cluster show` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's node name.
    pub node: NodeName,
    /// Whether it is up and ready.
    pub running: bool,
}

/// What a join answers: done, or why not.
pub type JoinReply = RpcReplyPort<Result<(), String>>;

struct Peer {
    address: String,
    running: bool,
    silent_ticks: u32,
    retry_in: u32,
    backoff: u32,
}

impl Peer {
    fn down(address: String) -> Self {
        Self {
            address,
            running: false,
            silent_ticks: 0,
            retry_in: 0,
            backoff: 1,
        }
    }
}

struct PendingJoin {
    node: NodeName,
    address: String,
    ticks_left: u32,
    reply: JoinReply,
}

/// What a heartbeat changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Heard {
    /// The member list (names or addresses) changed: persist it.
    pub members_changed: bool,
    /// The sender was down (or unknown) and runs now.
    pub came_up: bool,
}

/// What a tick asks the actor to do.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tick {
    /// Down members to dial now: (node, address).
    pub connect: Vec<(NodeName, String)>,
    /// Members that just went silent.
    pub went_down: Vec<NodeName>,
}

/// Whether a join needs a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum JoinStart {
    /// Already answered (this node itself, or a running member).
    Answered,
    /// Dial the discovery node; the join answers once both sides see each other.
    Connect,
}

/// The members, with the snapshot every change is published to.
pub struct ClusterState {
    local: NodeName,
    local_address: String,
    local_running: bool,
    peers: BTreeMap<NodeName, Peer>,
    removed: BTreeSet<NodeName>,
    joins: Vec<PendingJoin>,
    published: Arc<ArcSwap<Vec<Member>>>,
    /// This node left the cluster for good: it hears and tells nobody any more.
    departed: bool,
}

impl ClusterState {
    /// State over the stored list (members down until heard from); the local node is not a peer.
    pub fn new(
        local: NodeName,
        local_address: String,
        stored: &MemberList,
        published: Arc<ArcSwap<Vec<Member>>>,
    ) -> Self {
        let mut state = Self {
            local,
            local_address,
            local_running: false,
            peers: BTreeMap::new(),
            removed: BTreeSet::new(),
            joins: Vec::new(),
            published,
            departed: false,
        };
        state.merge(stored);
        state.publish();
        state
    }

    /// Marks the local node running or not.
    pub fn set_local_running(&mut self, running: bool) {
        self.local_running = running;
        self.publish();
    }

    /// Every member with its address, this node included, and the removed nodes: what is
    /// persisted and gossiped.
    pub fn list(&self) -> MemberList {
        let mut members = vec![StoredMember {
            node: self.local.to_string(),
            address: self.local_address.clone(),
        }];
        members.extend(self.peers.iter().map(|(node, peer)| StoredMember {
            node: node.to_string(),
            address: peer.address.clone(),
        }));
        let removed = self.removed.iter().map(ToString::to_string).collect();
        MemberList { members, removed }
    }

    /// The heartbeat this node sends.
    pub fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            from: self.local.to_string(),
            address: self.local_address.clone(),
            list: self.list(),
        }
    }

    /// A peer's heartbeat: it runs; members it knows that this node does not are added (down
    /// until heard from); a join waiting for it completes once it lists this node.
    pub fn heard(&mut self, beat: &Heartbeat) -> Heard {
        let Ok(from) = NodeName::parse(&beat.from) else {
            return Heard::default();
        };
        if from == self.local || self.departed {
            return Heard::default();
        }
        let mut heard = Heard {
            // A removed node that talks to this node again is a member again.
            members_changed: self.removed.remove(&from),
            came_up: false,
        };
        let peer = self.peers.entry(from.clone()).or_insert_with(|| {
            heard.members_changed = true;
            Peer::down(beat.address.clone())
        });
        if peer.address != beat.address {
            peer.address.clone_from(&beat.address);
            heard.members_changed = true;
        }
        heard.came_up = !peer.running;
        peer.running = true;
        peer.silent_ticks = 0;
        peer.backoff = 1;
        heard.members_changed |= self.merge(&beat.list);
        // A join that dialled this sender's address under another name cannot complete; the
        // fabric connection stands (same cookie, same cluster), so the sender is a member anyway.
        self.answer_joins(
            |join| join.address == beat.address && join.node != from,
            |node| {
                Err(format!(
                    "the node at {} is {from}, not {node}: check the name (the two nodes are \
                     connected all the same)",
                    beat.address
                ))
            },
        );
        let lists_us = beat
            .list
            .members
            .iter()
            .any(|m| m.node == self.local.as_str());
        if lists_us {
            self.answer_joins(|join| join.node == from, |_| Ok(()));
        }
        self.publish();
        heard
    }

    /// One heartbeat interval passed.
    pub fn tick(&mut self) -> Tick {
        let mut tick = Tick::default();
        if self.departed {
            return tick;
        }
        for (node, peer) in &mut self.peers {
            peer.silent_ticks = peer.silent_ticks.saturating_add(1);
            if peer.running && peer.silent_ticks > MISS_LIMIT {
                peer.running = false;
                peer.retry_in = 0;
                tick.went_down.push(node.clone());
            }
            if peer.running {
                continue;
            }
            if peer.retry_in == 0 {
                tick.connect.push((node.clone(), peer.address.clone()));
                peer.retry_in = peer.backoff;
                peer.backoff = (peer.backoff * 2).min(MAX_BACKOFF);
            } else {
                peer.retry_in -= 1;
            }
        }
        for join in &mut self.joins {
            join.ticks_left = join.ticks_left.saturating_sub(1);
        }
        self.answer_joins(
            |join| join.ticks_left == 0,
            |node| {
                Err(format!(
                    "discovery node {node} did not join within {JOIN_TIMEOUT_TICKS} s: check that it \
                     runs, its listener.vmq.clustering address, and that both nodes have the same \
                     distributed_cookie"
                ))
            },
        );
        if !tick.went_down.is_empty() {
            self.publish();
        }
        tick
    }

    /// Starts a join of `node` at `address`; `reply` is answered now or when both sides see
    /// each other.
    pub fn join(&mut self, node: NodeName, address: String, reply: JoinReply) -> JoinStart {
        if node == self.local {
            let _ = reply.send(Err(format!(
                "{node} is this node: give the name of a node of the cluster to join"
            )));
            return JoinStart::Answered;
        }
        if self.peers.get(&node).is_some_and(|peer| peer.running) {
            let _ = reply.send(Ok(()));
            return JoinStart::Answered;
        }
        self.joins.push(PendingJoin {
            node,
            address,
            ticks_left: JOIN_TIMEOUT_TICKS,
            reply,
        });
        JoinStart::Connect
    }

    /// The discovery node of a join could not be dialled.
    pub fn join_failed(&mut self, node: &NodeName, error: &str) {
        self.answer_joins(
            |join| join.node == *node,
            |node| Err(format!("could not reach discovery node {node}: {error}")),
        );
    }

    /// A connection to `address` closed before authenticating: a join dialling it fails now.
    pub fn refused(&mut self, address: &str) {
        self.answer_joins(
            |join| join.address == address,
            |node| {
                Err(format!(
                    "discovery node {node} refused the connection before authenticating: both \
                     nodes need the same distributed_cookie (and, with listener.vmqs, certificates \
                     signed by the same CA)"
                ))
            },
        );
    }

    /// Answers (and forgets) the pending joins `which` selects.
    fn answer_joins(
        &mut self,
        which: impl Fn(&PendingJoin) -> bool,
        answer: impl Fn(&NodeName) -> Result<(), String>,
    ) {
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.joins)
            .into_iter()
            .partition(|join| which(join));
        self.joins = waiting;
        for join in done {
            let _ = join.reply.send(answer(&join.node));
        }
    }

    /// Adds members not known yet and drops down members removed elsewhere; true on a change.
    fn merge(&mut self, list: &MemberList) -> bool {
        let mut changed = false;
        for text in &list.removed {
            let Ok(node) = NodeName::parse(text) else {
                continue;
            };
            let down = self.peers.get(&node).is_some_and(|peer| !peer.running);
            if node != self.local
                && !self.removed.contains(&node)
                && (down || !self.peers.contains_key(&node))
            {
                self.peers.remove(&node);
                self.removed.insert(node);
                changed = true;
            }
        }
        for member in &list.members {
            let Ok(node) = NodeName::parse(&member.node) else {
                continue;
            };
            if node == self.local || self.peers.contains_key(&node) || self.removed.contains(&node)
            {
                continue;
            }
            self.peers.insert(node, Peer::down(member.address.clone()));
            changed = true;
        }
        changed
    }

    fn publish(&self) {
        let mut members = vec![Member {
            node: self.local.clone(),
            running: self.local_running,
        }];
        members.extend(self.peers.iter().map(|(node, peer)| Member {
            node: node.clone(),
            running: peer.running,
        }));
        members.sort_by(|a, b| a.node.cmp(&b.node));
        self.published.store(Arc::new(members));
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
