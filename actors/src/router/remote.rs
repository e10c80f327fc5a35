//! Subscriptions across the cluster, by node: what a node tells its peers about its own
//! subscriptions ([`FilterSet`]: the (mountpoint, filter) pairs with at least one local subscriber,
//! a full set on connect and changes after), and what it keeps of theirs ([`RemoteRoutes`]:
//! which peers a publish must be forwarded to).
//!
//! A publish goes to each peer at most once, whatever number of its subscriptions match: the peer
//! routes it to its own subscribers. A `$share/group/…` subscription is served by one member of the
//! group cluster-wide: by a local member when there is one (`prefer_local`), else by one peer that
//! has members, in turn (reachable peers first); the forwarded message names the groups its peer
//! serves.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use super::{shared_filter, SubscriptionTrie};
use crate::types::NodeName;

/// A change to a node's set of subscribed (mountpoint, filter) pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterChange {
    /// The first local subscriber of `filter` appeared.
    Added {
        /// The mountpoint.
        mountpoint: String,
        /// The filter, `$share/…` included.
        filter: String,
    },
    /// The last local subscriber of `filter` went.
    Removed {
        /// The mountpoint.
        mountpoint: String,
        /// The filter.
        filter: String,
    },
}

/// This node's subscribed filters with their subscriber counts: the changes it reports to peers.
#[derive(Debug, Default)]
pub struct FilterSet {
    counts: HashMap<(String, String), usize>,
}

impl FilterSet {
    /// One more local subscriber of `filter`; answers the change peers must hear of, if any.
    pub fn add(&mut self, mountpoint: &str, filter: &str) -> Option<FilterChange> {
        let count = self
            .counts
            .entry((mountpoint.to_owned(), filter.to_owned()))
            .or_default();
        *count += 1;
        (*count == 1).then(|| FilterChange::Added {
            mountpoint: mountpoint.to_owned(),
            filter: filter.to_owned(),
        })
    }

    /// One local subscriber of `filter` fewer; answers the change peers must hear of, if any.
    pub fn remove(&mut self, mountpoint: &str, filter: &str) -> Option<FilterChange> {
        let key = (mountpoint.to_owned(), filter.to_owned());
        let count = self.counts.get_mut(&key)?;
        *count -= 1;
        if *count > 0 {
            return None;
        }
        self.counts.remove(&key);
        Some(FilterChange::Removed {
            mountpoint: key.0,
            filter: key.1,
        })
    }

    /// Every subscribed (mountpoint, filter), sorted: the full set a peer gets on connect.
    pub fn snapshot(&self) -> Vec<(String, String)> {
        let sorted: BTreeSet<_> = self.counts.keys().cloned().collect();
        sorted.into_iter().collect()
    }
}

/// A peer's subscription within one mountpoint: the node, and the share group for `$share/`.
type RemoteKey = (NodeName, Option<Arc<str>>);

#[derive(Debug, Default)]
struct Tables {
    /// Per mountpoint, filters (without `$share/group/`) by subscribing peer and group.
    tries: HashMap<String, SubscriptionTrie<RemoteKey, ()>>,
    /// Per peer, its full set, to replace or drop it whole.
    by_node: HashMap<NodeName, HashSet<(String, String)>>,
}

/// Where one publish goes beyond this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The peer.
    pub node: NodeName,
    /// The share groups the peer serves for this message (its plain subscriptions always are).
    pub groups: Vec<Arc<str>>,
}

/// The peers' subscriptions, read by every publisher; written when peers report changes.
#[derive(Debug, Default)]
pub struct RemoteRoutes {
    tables: RwLock<Tables>,
    /// Turns through the peers serving a share group.
    next_member: AtomicUsize,
}

fn split(filter: &str) -> (Option<Arc<str>>, &str) {
    match shared_filter(filter) {
        Some((group, plain)) => (Some(Arc::from(group)), plain),
        None => (None, filter),
    }
}

impl Tables {
    fn insert(&mut self, node: &NodeName, mountpoint: &str, filter: &str) {
        let (group, plain) = split(filter);
        let trie = self.tries.entry(mountpoint.to_owned()).or_default();
        trie.subscribe(plain, (node.clone(), group), ());
        self.by_node
            .entry(node.clone())
            .or_default()
            .insert((mountpoint.to_owned(), filter.to_owned()));
    }

    fn delete(&mut self, node: &NodeName, mountpoint: &str, filter: &str) {
        let (group, plain) = split(filter);
        if let Some(trie) = self.tries.get_mut(mountpoint) {
            trie.unsubscribe(plain, &(node.clone(), group));
            if trie.is_empty() {
                self.tries.remove(mountpoint);
            }
        }
        if let Some(set) = self.by_node.get_mut(node) {
            set.remove(&(mountpoint.to_owned(), filter.to_owned()));
        }
    }

    fn drop_node(&mut self, node: &NodeName) {
        for (mountpoint, filter) in self.by_node.remove(node).unwrap_or_default() {
            self.delete(node, &mountpoint, &filter);
        }
        self.by_node.remove(node);
    }
}

impl RemoteRoutes {
    /// Replaces everything known of `node` with its full set (on connect and reconnect).
    pub fn replace_node(&self, node: &NodeName, filters: &[(String, String)]) {
        let mut tables = self.tables.write();
        tables.drop_node(node);
        for (mountpoint, filter) in filters {
            tables.insert(node, mountpoint, filter);
        }
    }

    /// Applies one change `node` reported.
    pub fn apply(&self, node: &NodeName, change: &FilterChange) {
        let mut tables = self.tables.write();
        match change {
            FilterChange::Added { mountpoint, filter } => tables.insert(node, mountpoint, filter),
            FilterChange::Removed { mountpoint, filter } => {
                tables.delete(node, mountpoint, filter);
            }
        }
    }

    /// Forgets `node` (it left the cluster).
    pub fn remove_node(&self, node: &NodeName) {
        self.tables.write().drop_node(node);
    }

    /// The peers with subscriptions known here.
    pub fn nodes(&self) -> BTreeSet<NodeName> {
        self.tables.read().by_node.keys().cloned().collect()
    }

    /// The (mountpoint, filter) pairs known of `node`, sorted.
    pub fn filters_of(&self, node: &NodeName) -> Vec<(String, String)> {
        let tables = self.tables.read();
        let set = tables.by_node.get(node);
        let sorted: BTreeSet<_> = set.into_iter().flatten().cloned().collect();
        sorted.into_iter().collect()
    }

    /// The peers a publish to `topic` under `mountpoint` goes to, in node order: every peer with
    /// a matching plain subscription, and for each matching share group that no local member
    /// serves (`served_locally`), one peer with members, in turn, among the reachable ones
    /// (`up`) when there are any.
    pub fn forwards(
        &self,
        mountpoint: &str,
        topic: &str,
        served_locally: impl Fn(&str) -> bool,
        up: impl Fn(&NodeName) -> bool,
    ) -> Vec<Forward> {
        let tables = self.tables.read();
        let Some(trie) = tables.tries.get(mountpoint) else {
            return Vec::new();
        };
        let mut plain: BTreeSet<&NodeName> = BTreeSet::new();
        let mut groups: HashMap<&Arc<str>, BTreeSet<&NodeName>> = HashMap::new();
        trie.for_each_match(topic, |(node, group), ()| match group {
            None => {
                plain.insert(node);
            }
            Some(group) => {
                groups.entry(group).or_default().insert(node);
            }
        });
        let mut forwards: Vec<Forward> = plain
            .into_iter()
            .map(|node| Forward {
                node: node.clone(),
                groups: Vec::new(),
            })
            .collect();
        let mut served: Vec<(&Arc<str>, BTreeSet<&NodeName>)> = groups
            .into_iter()
            .filter(|(group, _)| !served_locally(group))
            .collect();
        served.sort_by(|a, b| a.0.cmp(b.0));
        for (group, mut members) in served {
            if members.iter().any(|node| up(node)) {
                members.retain(|node| up(node));
            }
            let turn = self.next_member.fetch_add(1, Ordering::Relaxed) % members.len();
            let Some(node) = members.into_iter().nth(turn) else {
                continue;
            };
            match forwards.iter_mut().find(|f| &f.node == node) {
                Some(forward) => forward.groups.push(Arc::clone(group)),
                None => forwards.push(Forward {
                    node: node.clone(),
                    groups: vec![Arc::clone(group)],
                }),
            }
        }
        forwards.sort_by(|a, b| a.node.cmp(&b.node));
        forwards
    }
}

#[cfg(test)]
#[path = "remote_tests.rs"]
mod tests;
