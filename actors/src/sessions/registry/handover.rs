//! A session moving between nodes: the node that held it gives it up ([`SessionsState::handover`]:
//! the connection is closed as in a takeover, the session leaves this node), and the node the
//! client connected to takes in its subscriptions and messages ([`SessionsState::inherit`]), or,
//! when a node leaves the cluster, a remaining node keeps it offline ([`SessionsState::adopt`]).

use serde::{Deserialize, Serialize};

use super::{subscribe, Kick, SessionsState, Timer};
use crate::metrics::Counter;
use crate::sessions::message::{Message, SessionKey, SubOptions};
use crate::sessions::persist::{self, SessionRecord};
use crate::sessions::queue::QueueLimits;

/// What a persistent session brings to the node its client moved to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    /// Its subscriptions.
    pub subscriptions: Vec<(String, SubOptions)>,
    /// Its messages, in flight first.
    pub messages: Vec<Message>,
    /// When it was created, POSIX milliseconds.
    pub started_at_ms: i64,
    /// Seconds it outlives its connection (`None`: never expires).
    #[serde(default)]
    pub expiry_secs: Option<u64>,
}

impl SessionsState {
    /// The client of `key` connected to another node: closes its connection here (as a
    /// takeover) and deletes the session; answers what it held when `keep` (the new connection
    /// resumes it), `None` when there was no such session or `keep` is false.
    pub fn handover(&mut self, key: &SessionKey, keep: bool) -> Option<Handover> {
        let entry = self.sessions.get_mut(key)?;
        if let Some(online) = entry.online.take() {
            let _ = online.kick.send(Kick::TakenOver);
            entry.queue.set_holder(None);
        }
        // The will belongs to the connection that is gone, not to the node the client moved to.
        entry.will = None;
        let handed = keep.then(|| Handover {
            subscriptions: entry
                .subscriptions
                .iter()
                .map(|(filter, options)| (filter.clone(), *options))
                .collect(),
            messages: entry.queue.messages(),
            started_at_ms: entry.started_at_ms,
            expiry_secs: persist::expiry_secs(entry.expiry),
        });
        self.remove(key, true);
        handed
    }

    /// Gives the session of `key`, just created for a connection, what it held on another node.
    pub(super) fn inherit(&mut self, key: &SessionKey, handed: Handover) {
        let Some(entry) = self.sessions.get_mut(key) else {
            return;
        };
        entry.started_at_ms = entry.started_at_ms.min(handed.started_at_ms);
        entry.queue.restore(handed.messages);
        for (filter, options) in handed.subscriptions {
            subscribe(&self.routes, &key.mountpoint, entry, filter, options);
        }
    }

    /// Keeps a session of a node that left, offline, here (added to one of the same key);
    /// answers the expiry timer to start.
    pub fn adopt(
        &mut self,
        key: &SessionKey,
        handed: Handover,
        limits: QueueLimits,
        now_ms: i64,
    ) -> Option<Timer> {
        if self.sessions.contains_key(key) {
            self.inherit(key, handed);
            self.republish(key);
            return None;
        }
        let record = SessionRecord {
            subscriptions: Vec::new(),
            expiry_secs: handed.expiry_secs,
            started_at_ms: handed.started_at_ms,
            offline_since_ms: Some(now_ms),
        };
        let generation = self.generation();
        self.metrics.count_one(Counter::QueueSetup);
        self.offline_entry(key, &record, limits, generation);
        self.inherit(key, handed);
        if let (Some(store), Some(entry)) = (&self.store, self.sessions.get(key)) {
            entry.queue.persist_offline(store, key);
        }
        self.republish(key);
        let delay = record.remaining(now_ms)?;
        Some(Timer {
            delay,
            key: key.clone(),
            generation,
        })
    }
}
