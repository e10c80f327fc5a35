//! The session registry's data: connected sessions by client id, their subscriptions, routing.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::router::SubscriptionTrie;

/// Session ids are unique for the life of the process, not of one registry: after the registry
/// actor restarts, a closing connection from before may still unregister its old id, which must
/// never name a session registered since.
static NEXT_SESSION_ID: AtomicU64 = AtomicU64::new(1);

/// Identifies one connection's session in the registry (a client id outlives its connections).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(u64);

/// A connected session as listings show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The MQTT client id.
    pub client_id: String,
    /// The mountpoint ("" until listeners have mountpoints).
    pub mountpoint: String,
    /// The client's address.
    pub peer: SocketAddr,
    /// 3 (MQTT 3.1), 4 (3.1.1) or 5.
    pub protocol: u8,
    /// The username, if the client sent one.
    pub user: Option<String>,
    /// When the session connected, POSIX milliseconds.
    pub connected_at_ms: i64,
}

/// A routed message on its way to one session.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Topic name.
    pub topic: Arc<str>,
    /// Payload.
    pub payload: Bytes,
}

/// How the registry reaches a session's connection.
#[derive(Debug)]
pub struct Mailbox {
    /// Routed messages; full means the client reads too slowly and QoS 0 messages are dropped.
    pub deliveries: mpsc::Sender<Delivery>,
    /// Fired when a newer connection takes the client id over.
    pub kick: oneshot::Sender<()>,
}

struct Entry {
    info: SessionInfo,
    mailbox: Mailbox,
    filters: HashSet<String>,
}

/// Sessions, the subscription trie, and the snapshot listings read.
pub struct SessionsState {
    by_client: HashMap<String, SessionId>,
    sessions: HashMap<SessionId, Entry>,
    trie: SubscriptionTrie<SessionId>,
    published: Arc<ArcSwap<Vec<SessionInfo>>>,
}

impl SessionsState {
    /// An empty registry publishing into `published` (emptied: sessions don't survive a restart).
    pub fn new(published: Arc<ArcSwap<Vec<SessionInfo>>>) -> Self {
        published.store(Arc::new(Vec::new()));
        Self {
            by_client: HashMap::new(),
            sessions: HashMap::new(),
            trie: SubscriptionTrie::default(),
            published,
        }
    }

    /// Adds a connected session; an older session with the same client id is kicked and removed.
    pub fn register(&mut self, info: SessionInfo, mailbox: Mailbox) -> SessionId {
        if let Some(old) = self.by_client.get(&info.client_id).copied() {
            if let Some(entry) = self.remove(old) {
                let _ = entry.mailbox.kick.send(());
            }
        }
        let id = SessionId(NEXT_SESSION_ID.fetch_add(1, Ordering::Relaxed));
        self.by_client.insert(info.client_id.clone(), id);
        let entry = Entry {
            info,
            mailbox,
            filters: HashSet::new(),
        };
        self.sessions.insert(id, entry);
        self.publish_snapshot();
        id
    }

    /// Removes a session whose connection closed (a no-op if it was taken over).
    pub fn unregister(&mut self, id: SessionId) {
        if self.remove(id).is_some() {
            self.publish_snapshot();
        }
    }

    fn remove(&mut self, id: SessionId) -> Option<Entry> {
        let entry = self.sessions.remove(&id)?;
        if self.by_client.get(&entry.info.client_id) == Some(&id) {
            self.by_client.remove(&entry.info.client_id);
        }
        for filter in &entry.filters {
            self.trie.unsubscribe(filter, &id);
        }
        Some(entry)
    }

    /// Subscribes a session to valid filters (granted QoS 0).
    pub fn subscribe(&mut self, id: SessionId, filters: Vec<String>) {
        let Some(entry) = self.sessions.get_mut(&id) else {
            return;
        };
        for filter in filters {
            self.trie.subscribe(&filter, id, 0);
            entry.filters.insert(filter);
        }
    }

    /// Removes a session's subscriptions to `filters`.
    pub fn unsubscribe(&mut self, id: SessionId, filters: Vec<String>) {
        let Some(entry) = self.sessions.get_mut(&id) else {
            return;
        };
        for filter in filters {
            if entry.filters.remove(&filter) {
                self.trie.unsubscribe(&filter, &id);
            }
        }
    }

    /// Hands a message to every session subscribed to `topic`; answers how many took it.
    pub fn publish(&self, topic: &str, payload: &Bytes) -> usize {
        let delivery = Delivery {
            topic: Arc::from(topic),
            payload: payload.clone(),
        };
        self.trie
            .matches(topic)
            .into_keys()
            .filter_map(|id| self.sessions.get(&id))
            .filter(|entry| entry.mailbox.deliveries.try_send(delivery.clone()).is_ok())
            .count()
    }

    /// Subscriptions held by connected sessions.
    pub fn subscriptions(&self) -> usize {
        self.trie.len()
    }

    fn publish_snapshot(&self) {
        let mut rows: Vec<SessionInfo> = self.sessions.values().map(|e| e.info.clone()).collect();
        rows.sort_by(|a, b| (&a.mountpoint, &a.client_id).cmp(&(&b.mountpoint, &b.client_id)));
        self.published.store(Arc::new(rows));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Inbox = (mpsc::Receiver<Delivery>, oneshot::Receiver<()>);

    fn info(client_id: &str) -> SessionInfo {
        SessionInfo {
            client_id: client_id.to_owned(),
            mountpoint: String::new(),
            peer: SocketAddr::from(([127, 0, 0, 1], 5000)),
            protocol: 4,
            user: None,
            connected_at_ms: 0,
        }
    }

    fn mailbox() -> (Mailbox, Inbox) {
        let (deliveries, rx) = mpsc::channel(2);
        let (kick, kicked) = oneshot::channel();
        (Mailbox { deliveries, kick }, (rx, kicked))
    }

    fn state() -> (SessionsState, Arc<ArcSwap<Vec<SessionInfo>>>) {
        let published = Arc::new(ArcSwap::from_pointee(Vec::new()));
        (SessionsState::new(Arc::clone(&published)), published)
    }

    #[test]
    fn a_second_connection_takes_the_client_id_over() {
        let (mut state, published) = state();
        let (first_box, (_rx1, mut kicked1)) = mailbox();
        let first = state.register(info("c"), first_box);
        state.subscribe(first, vec!["t".to_owned()]);
        let (second_box, _inbox2) = mailbox();
        let second = state.register(info("c"), second_box);
        assert_eq!(kicked1.try_recv(), Ok(()));
        assert_eq!(state.subscriptions(), 0);
        assert_eq!(published.load().len(), 1);
        // The old connection's late unregister does not remove the new session.
        state.unregister(first);
        assert_eq!(published.load().len(), 1);
        state.unregister(second);
        assert!(published.load().is_empty());
    }

    #[test]
    fn a_restarted_registry_never_reuses_an_id() {
        let (mut before, _) = state();
        let (old_box, _old_inbox) = mailbox();
        let old = before.register(info("a"), old_box);
        drop(before);
        let (mut after, published) = state();
        let (new_box, _new_inbox) = mailbox();
        let new = after.register(info("b"), new_box);
        assert_ne!(old, new);
        // The pre-restart connection's late unregister leaves the new session alone.
        after.unregister(old);
        assert_eq!(published.load().len(), 1);
    }

    #[test]
    fn dropping_the_registry_state_tells_every_connection() {
        let (mut state, _) = state();
        let (mailbox, (_rx, mut kicked)) = mailbox();
        state.register(info("c"), mailbox);
        drop(state);
        // The connection sees its kick channel closed (not fired) and ends as "registry lost".
        assert_eq!(kicked.try_recv(), Err(oneshot::error::TryRecvError::Closed));
    }

    #[test]
    fn publish_reaches_matching_subscribers_and_drops_when_full() {
        let (mut state, _published) = state();
        let (a_box, (mut a_rx, _)) = mailbox();
        let a = state.register(info("a"), a_box);
        let (b_box, (mut b_rx, _)) = mailbox();
        let b = state.register(info("b"), b_box);
        state.subscribe(a, vec!["s/+".to_owned()]);
        state.subscribe(b, vec!["other".to_owned()]);
        assert_eq!(state.publish("s/1", &Bytes::from_static(b"x")), 1);
        assert_eq!(
            a_rx.try_recv().map(|d| d.topic.to_string()),
            Ok("s/1".to_owned())
        );
        assert!(b_rx.try_recv().is_err());
        for _ in 0..2 {
            state.publish("s/1", &Bytes::new());
        }
        assert_eq!(
            state.publish("s/1", &Bytes::new()),
            0,
            "mailbox of 2 is full"
        );
        state.unsubscribe(a, vec!["s/+".to_owned()]);
        assert_eq!(state.subscriptions(), 1);
    }

    #[test]
    fn the_snapshot_is_sorted_by_mountpoint_and_client_id() {
        let (mut state, published) = state();
        for name in ["b", "a", "c"] {
            let (m, _inbox) = mailbox();
            state.register(info(name), m);
        }
        let ids: Vec<String> = published
            .load()
            .iter()
            .map(|s| s.client_id.clone())
            .collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }
}
