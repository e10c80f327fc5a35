//! How members leave: `cluster leave` of a down member (removed here, gossiped as removed), and a
//! running node that leaves for good (it forgets the cluster; its peers drop it at once).

use super::ClusterState;
use crate::types::NodeName;

/// What `cluster leave node=…` found.
#[derive(Debug, PartialEq, Eq)]
pub enum LeaveOutcome {
    /// The down member was removed here; peers learn it with the next heartbeat.
    Removed,
    /// Not a member.
    NotMember,
    /// The member runs (or is this node): it is asked to stop its MQTT listeners.
    Running,
}

impl ClusterState {
    /// `cluster leave node=…` of a down member: forgotten here and remembered as removed.
    pub fn leave(&mut self, node: &NodeName) -> LeaveOutcome {
        if *node == self.local {
            return LeaveOutcome::Running;
        }
        match self.peers.get(node) {
            None => LeaveOutcome::NotMember,
            Some(peer) if peer.running => LeaveOutcome::Running,
            Some(_) => {
                self.peers.remove(node);
                self.removed.insert(node.clone());
                self.publish();
                LeaveOutcome::Removed
            }
        }
    }

    /// This node leaves the cluster for good: it forgets every peer, removed node and pending
    /// join (what it persists is itself alone, so a restart does not rejoin), and from now on it
    /// hears no heartbeat and sends none.
    pub fn depart(&mut self) {
        self.departed = true;
        self.peers.clear();
        self.removed.clear();
        self.answer_joins(
            |_| true,
            |node| {
                Err(format!(
                    "this node left the cluster: restart it, then join {node} again"
                ))
            },
        );
        self.publish();
    }

    /// Whether this node has left the cluster for good.
    pub fn departed(&self) -> bool {
        self.departed
    }

    /// Peer `node` left the cluster for good: forgotten even though it runs, and remembered as
    /// removed so that a peer still listing it does not bring it back. True on a change.
    pub fn peer_departed(&mut self, node: &NodeName) -> bool {
        if *node == self.local || self.departed {
            return false;
        }
        let known = self.peers.remove(node).is_some();
        let remembered = self.removed.insert(node.clone());
        if known {
            self.publish();
        }
        known || remembered
    }
}
