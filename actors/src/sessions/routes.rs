//! The routing table: subscriptions by mountpoint and filter, read by every publisher without a
//! message round trip (writes come only from the session registry). In a cluster it also tells
//! the peers when a filter gets its first subscriber or loses its last, and hands each publish
//! to the peers with matching subscriptions (none: no extra work beyond one table lookup).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;

use super::message::{Message, SubOptions};
use super::queue::SessionQueue;
use crate::router::link::ClusterLink;
use crate::router::remote::{FilterChange, FilterSet};
use crate::router::{shared_filter, SubscriptionTrie};

/// A subscriber within one mountpoint: its client id, and the share group for `$share/` filters.
type SubscriberKey = (Arc<str>, Option<Arc<str>>);

/// What a subscription delivers into.
#[derive(Debug, Clone)]
struct Subscriber {
    queue: Arc<SessionQueue>,
    options: SubOptions,
}

/// The tries by mountpoint, and the (mountpoint, filter) set the peers are told about.
#[derive(Debug, Default)]
struct Tables {
    tries: HashMap<String, SubscriptionTrie<SubscriberKey, Subscriber>>,
    filters: FilterSet,
}

/// Subscriptions of every session, by mountpoint.
#[derive(Debug, Default)]
pub struct Routes {
    tables: RwLock<Tables>,
    /// Turns through the members of share groups.
    next_member: AtomicUsize,
    /// The cluster, once the node joined the fabric.
    link: OnceLock<Arc<ClusterLink>>,
}

/// What routing one message did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Routed {
    /// Queues it was offered to.
    pub matched: usize,
    /// Of those, full ones that dropped it.
    pub dropped: usize,
    /// Peers it was forwarded to (each delivers to its own subscribers).
    pub remote: usize,
}

/// One matching subscription on the way to its queue.
struct Target<'a> {
    client_id: &'a Arc<str>,
    subscriber: &'a Subscriber,
}

impl Routes {
    /// Adds (or replaces) `client_id`'s subscription to a valid `filter` under `mountpoint`.
    pub fn add(
        &self,
        mountpoint: &str,
        filter: &str,
        client_id: &Arc<str>,
        queue: &Arc<SessionQueue>,
        options: SubOptions,
    ) {
        let (group, plain) = split(filter);
        let subscriber = Subscriber {
            queue: Arc::clone(queue),
            options,
        };
        let mut tables = self.tables.write();
        let table = tables.tries.entry(mountpoint.to_owned()).or_default();
        let replaced = table.subscribe(plain, (Arc::clone(client_id), group), subscriber);
        if replaced.is_none() {
            let change = tables.filters.add(mountpoint, filter);
            self.tell_peers(change);
        }
    }

    /// Removes `client_id`'s subscription to `filter`; answers whether it had one.
    pub fn remove(&self, mountpoint: &str, filter: &str, client_id: &Arc<str>) -> bool {
        let (group, plain) = split(filter);
        let mut tables = self.tables.write();
        let Some(table) = tables.tries.get_mut(mountpoint) else {
            return false;
        };
        let removed = table.unsubscribe(plain, &(Arc::clone(client_id), group));
        if table.is_empty() {
            tables.tries.remove(mountpoint);
        }
        if removed {
            let change = tables.filters.remove(mountpoint, filter);
            self.tell_peers(change);
        }
        removed
    }

    /// Removes every subscription (a restarted registry rebuilds them).
    pub fn clear(&self) {
        let mut tables = self.tables.write();
        tables.tries.clear();
        for (mountpoint, filter) in tables.filters.snapshot() {
            let change = tables.filters.remove(&mountpoint, &filter);
            self.tell_peers(change);
        }
    }

    /// Called with the table locked, so that peers hear of changes in the order they happen.
    fn tell_peers(&self, change: Option<FilterChange>) {
        if let (Some(change), Some(link)) = (change, self.link.get()) {
            link.changed(&change);
        }
    }

    /// Joins the cluster through `link` (once).
    pub(crate) fn set_link(&self, link: Arc<ClusterLink>) {
        if self.link.set(link).is_err() {
            tracing::warn!("the routing table is already linked to the cluster");
        }
    }

    /// Runs `read` on the filter set, with changes held off meanwhile.
    pub(crate) fn with_filters<R>(&self, read: impl FnOnce(&FilterSet) -> R) -> R {
        read(&self.tables.read().filters)
    }

    /// Subscriptions in all mountpoints.
    pub fn len(&self) -> usize {
        let tables = self.tables.read();
        tables.tries.values().map(SubscriptionTrie::len).sum()
    }

    /// Whether there are no subscriptions.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Delivers `message` to every matching subscription under `mountpoint`: once per client
    /// (at the highest granted QoS), and to one member per share group; `upgrade` delivers at
    /// the granted QoS (`upgrade_outgoing_qos`). Peers with matching subscriptions get it too,
    /// and share groups with no local member are served by one of them.
    pub fn route(&self, mountpoint: &str, message: &Message, upgrade: bool) -> Routed {
        let tables = self.tables.read();
        let (mut routed, served) = match tables.tries.get(mountpoint) {
            Some(table) => self.deliver(table, message, upgrade, None),
            None => (Routed::default(), Vec::new()),
        };
        drop(tables);
        if let Some(link) = self.link.get() {
            let served_here = |group: &str| served.iter().any(|g| &**g == group);
            routed.remote = link.forward(mountpoint, message, served_here);
        }
        routed
    }

    /// Delivers a publish a peer forwarded: to local subscriptions only, and of share groups only
    /// to those in `groups` (the ones the peer left to this node).
    pub fn route_forwarded(
        &self,
        mountpoint: &str,
        message: &Message,
        groups: &[String],
    ) -> Routed {
        let tables = self.tables.read();
        match tables.tries.get(mountpoint) {
            Some(table) => self.deliver(table, message, false, Some(groups)).0,
            None => Routed::default(),
        }
    }

    /// Delivers to the matching subscriptions of `table` (of share groups, those in `only` if
    /// given); answers what it did and the share groups it served.
    fn deliver(
        &self,
        table: &SubscriptionTrie<SubscriberKey, Subscriber>,
        message: &Message,
        upgrade: bool,
        only: Option<&[String]>,
    ) -> (Routed, Vec<Arc<str>>) {
        let mut direct: Vec<Target<'_>> = Vec::new();
        let mut groups: HashMap<&Arc<str>, Vec<Target<'_>>> = HashMap::new();
        table.for_each_match(&message.topic, |(client_id, group), subscriber| {
            let target = Target {
                client_id,
                subscriber,
            };
            match group {
                Some(group) => groups.entry(group).or_default().push(target),
                None => merge(&mut direct, target, message),
            }
        });
        if let Some(only) = only {
            groups.retain(|group, _| only.iter().any(|g| g.as_str() == &***group));
        }
        let served = groups.keys().map(|g| Arc::clone(g)).collect();
        let picked = groups.values().filter_map(|members| self.pick(members));
        let mut routed = Routed::default();
        for target in direct.iter().chain(picked) {
            let copy = message.for_subscriber(&target.subscriber.options, false, upgrade);
            routed.matched += 1;
            routed.dropped += usize::from(!target.subscriber.queue.push(copy));
        }
        (routed, served)
    }

    /// One member of a share group: the next online one in turn, else the next in turn.
    fn pick<'a>(&self, members: &'a [Target<'a>]) -> Option<&'a Target<'a>> {
        let start = self.next_member.fetch_add(1, Ordering::Relaxed);
        let in_turn = |offset: usize| &members[(start + offset) % members.len()];
        (0..members.len())
            .map(in_turn)
            .find(|t| t.subscriber.queue.stats().online)
            .or_else(|| members.get(start % members.len().max(1)))
    }
}

/// Adds a match unless `no_local` forbids it; a client matched twice keeps its best QoS.
fn merge<'a>(direct: &mut Vec<Target<'a>>, target: Target<'a>, message: &Message) {
    let options = &target.subscriber.options;
    if options.no_local && message.publisher.as_deref() == Some(&**target.client_id) {
        return;
    }
    match direct.iter_mut().find(|t| t.client_id == target.client_id) {
        Some(known) if known.subscriber.options.qos < options.qos => *known = target,
        Some(_) => {}
        None => direct.push(target),
    }
}

fn split(filter: &str) -> (Option<Arc<str>>, &str) {
    match shared_filter(filter) {
        Some((group, plain)) => (Some(Arc::from(group)), plain),
        None => (None, filter),
    }
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "routes_cluster_tests.rs"]
mod cluster_tests;
