//! Membership data and its rules, kept apart from the actor so they test without a runtime.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::types::NodeName;

/// One cluster member as `cluster show` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's node name.
    pub node: NodeName,
    /// Whether it is up and ready.
    pub running: bool,
}

/// The members, with the snapshot every change is published to.
pub struct ClusterState {
    local: NodeName,
    members: Vec<Member>,
    published: Arc<ArcSwap<Vec<Member>>>,
}

impl ClusterState {
    /// State over `members`; the local node is added if missing.
    pub fn new(
        local: NodeName,
        mut members: Vec<Member>,
        published: Arc<ArcSwap<Vec<Member>>>,
    ) -> Self {
        if !members.iter().any(|m| m.node == local) {
            members.push(Member {
                node: local.clone(),
                running: false,
            });
        }
        let mut state = Self {
            local,
            members,
            published,
        };
        state.publish();
        state
    }

    /// Marks the local node running or not.
    pub fn set_local_running(&mut self, running: bool) {
        for member in &mut self.members {
            if member.node == self.local {
                member.running = running;
            }
        }
        self.publish();
    }

    fn publish(&mut self) {
        self.members.sort_by(|a, b| a.node.cmp(&b.node));
        self.published.store(Arc::new(self.members.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> NodeName {
        NodeName::parse(text).expect("valid")
    }

    #[test]
    fn local_node_is_always_a_member_and_members_are_sorted() {
        let published = Arc::new(ArcSwap::from_pointee(Vec::new()));
        let other = Member {
            node: name("A@h"),
            running: true,
        };
        let mut state = ClusterState::new(name("B@h"), vec![other.clone()], Arc::clone(&published));
        assert_eq!(published.load().len(), 2);
        state.set_local_running(true);
        let members = published.load_full();
        assert_eq!(members[0], other);
        assert_eq!(
            members[1],
            Member {
                node: name("B@h"),
                running: true
            }
        );
    }
}
