//! The routing table: subscriptions by mountpoint and filter, read by every publisher without a
//! message round trip (writes come only from the session registry).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use super::message::{Message, SubOptions};
use super::queue::SessionQueue;
use crate::router::{shared_filter, SubscriptionTrie};

/// A subscriber within one mountpoint: its client id, and the share group for `$share/` filters.
type SubscriberKey = (Arc<str>, Option<Arc<str>>);

/// What a subscription delivers into.
#[derive(Debug, Clone)]
struct Subscriber {
    queue: Arc<SessionQueue>,
    options: SubOptions,
}

/// Subscriptions of every session, by mountpoint.
#[derive(Debug, Default)]
pub struct Routes {
    tables: RwLock<HashMap<String, SubscriptionTrie<SubscriberKey, Subscriber>>>,
    /// Turns through the members of share groups.
    next_member: AtomicUsize,
}

/// What routing one message did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Routed {
    /// Queues it was offered to.
    pub matched: usize,
    /// Of those, full ones that dropped it.
    pub dropped: usize,
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
        let table = tables.entry(mountpoint.to_owned()).or_default();
        table.subscribe(plain, (Arc::clone(client_id), group), subscriber);
    }

    /// Removes `client_id`'s subscription to `filter`; answers whether it had one.
    pub fn remove(&self, mountpoint: &str, filter: &str, client_id: &Arc<str>) -> bool {
        let (group, plain) = split(filter);
        let mut tables = self.tables.write();
        let Some(table) = tables.get_mut(mountpoint) else {
            return false;
        };
        let removed = table.unsubscribe(plain, &(Arc::clone(client_id), group));
        if table.is_empty() {
            tables.remove(mountpoint);
        }
        removed
    }

    /// Removes every subscription (a restarted registry rebuilds them).
    pub fn clear(&self) {
        self.tables.write().clear();
    }

    /// Subscriptions in all mountpoints.
    pub fn len(&self) -> usize {
        self.tables.read().values().map(SubscriptionTrie::len).sum()
    }

    /// Whether there are no subscriptions.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Delivers `message` to every matching subscription under `mountpoint`: once per client
    /// (at the highest granted QoS), and to one member per share group; `upgrade` delivers at
    /// the granted QoS (`upgrade_outgoing_qos`).
    pub fn route(&self, mountpoint: &str, message: &Message, upgrade: bool) -> Routed {
        let tables = self.tables.read();
        let Some(table) = tables.get(mountpoint) else {
            return Routed::default();
        };
        let mut direct: Vec<Target<'_>> = Vec::new();
        let mut groups: HashMap<&str, Vec<Target<'_>>> = HashMap::new();
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
        let picked = groups.values().filter_map(|members| self.pick(members));
        let mut routed = Routed::default();
        for target in direct.iter().chain(picked) {
            let copy = message.for_subscriber(&target.subscriber.options, false, upgrade);
            routed.matched += 1;
            routed.dropped += usize::from(!target.subscriber.queue.push(copy));
        }
        routed
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
