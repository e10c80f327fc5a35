//! Retained messages by mountpoint and topic: set by publishers, read by new subscriptions and
//! `retain show`, shared without a message round trip. Across the cluster, every set and clear
//! carries a [`Stamp`] (time, then node name) and the latest wins on every node, whatever order
//! updates arrive in; clears are remembered so that a stale copy cannot come back.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::router::filter_matches;
use crate::sessions::{now_ms, Message};
use crate::store::{LoadedRetained, Store};

/// A retained message as `retain show` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainedRow {
    /// Its mountpoint.
    pub mountpoint: String,
    /// Its topic.
    pub topic: String,
    /// Its payload.
    pub payload: Bytes,
}

/// When and where a retained message was set or cleared; the greater stamp wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stamp {
    /// POSIX milliseconds (or one more than the stamp it replaced).
    pub ms: i64,
    /// The node that set it (ties between nodes).
    pub node: Arc<str>,
}

impl Stamp {
    /// A stamp at `ms` by `node`.
    pub fn new(ms: i64, node: &str) -> Self {
        Self {
            ms,
            node: Arc::from(node),
        }
    }
}

/// A retained message set (`message`) or cleared (`None`) on some node: what peers exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetainUpdate {
    /// The mountpoint.
    pub mountpoint: String,
    /// The topic.
    pub topic: String,
    /// When and where.
    pub stamp: Stamp,
    /// The message, or `None` for a clear.
    pub message: Option<Message>,
}

/// How a store record holds a retained message and its stamp.
#[derive(Serialize, Deserialize)]
struct Record {
    message: Message,
    stamp: Stamp,
}

/// How a store record holds a clear (kept so that a restarted node still refuses stale copies).
#[derive(Serialize, Deserialize)]
struct ClearRecord {
    cleared: Stamp,
}

impl Record {
    /// A message or a clear (`None`) with its stamp; a bare message (as stored before stamps)
    /// gets the least stamp.
    fn decode(bytes: &[u8]) -> Option<(Option<Message>, Stamp)> {
        if let Ok(record) = ciborium::from_reader::<Record, _>(bytes) {
            return Some((Some(record.message), record.stamp));
        }
        if let Ok(clear) = ciborium::from_reader::<ClearRecord, _>(bytes) {
            return Some((None, clear.cleared));
        }
        Message::decode(bytes).map(|m| (Some(m), Stamp::default()))
    }
}

#[derive(Debug)]
struct Entry {
    message: Message,
    stamp: Stamp,
}

#[derive(Debug, Default)]
struct Inner {
    messages: HashMap<String, BTreeMap<String, Entry>>,
    /// Clears by (mountpoint, topic), kept in memory.
    cleared: HashMap<(String, String), Stamp>,
}

/// Where local sets and clears go beyond this node.
struct Replication {
    local: Arc<str>,
    send: Box<dyn Fn(Vec<RetainUpdate>) + Send + Sync>,
}

impl std::fmt::Debug for Replication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Replication({})", self.local)
    }
}

/// The retained messages of every mountpoint, written through to the store if there is one.
#[derive(Debug, Default)]
pub struct RetainStore {
    inner: RwLock<Inner>,
    store: Option<Store>,
    replication: OnceLock<Replication>,
}

/// What a retained PUBLISH did to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetainChange {
    /// The message was stored (new or replacing one).
    Stored,
    /// An empty payload removed the topic's message.
    Deleted,
    /// An empty payload for a topic with nothing retained.
    Unchanged,
}

impl Inner {
    fn stamp_of(&self, mountpoint: &str, topic: &str) -> Option<&Stamp> {
        let kept = self.messages.get(mountpoint).and_then(|t| t.get(topic));
        kept.map(|e| &e.stamp)
            .or_else(|| self.cleared.get(&(mountpoint.to_owned(), topic.to_owned())))
    }

    fn insert(&mut self, mountpoint: &str, topic: &str, entry: Entry) {
        self.cleared
            .remove(&(mountpoint.to_owned(), topic.to_owned()));
        let topics = self.messages.entry(mountpoint.to_owned()).or_default();
        topics.insert(topic.to_owned(), entry);
    }

    fn clear(&mut self, mountpoint: &str, topic: &str, stamp: Stamp) -> bool {
        self.cleared
            .insert((mountpoint.to_owned(), topic.to_owned()), stamp);
        let Some(topics) = self.messages.get_mut(mountpoint) else {
            return false;
        };
        let removed = topics.remove(topic).is_some();
        if topics.is_empty() {
            self.messages.remove(mountpoint);
        }
        removed
    }
}

impl RetainStore {
    /// An empty store writing through to `store`.
    pub fn new(store: Option<Store>) -> Self {
        Self {
            inner: RwLock::default(),
            store,
            replication: OnceLock::new(),
        }
    }

    /// Sends every later local set and clear, stamped by node `local`, to `send` (once).
    pub fn replicate(&self, local: &str, send: Box<dyn Fn(Vec<RetainUpdate>) + Send + Sync>) {
        let replication = Replication {
            local: Arc::from(local),
            send,
        };
        if self.replication.set(replication).is_err() {
            tracing::warn!("retained messages are already replicated");
        }
    }

    /// Brings back what the store kept (unreadable records are skipped with a warning).
    pub fn restore(&self, loaded: &[LoadedRetained]) {
        let mut inner = self.inner.write();
        for retained in loaded {
            let (mountpoint, topic) = (&retained.mountpoint, &retained.topic);
            match Record::decode(&retained.record) {
                Some((Some(message), stamp)) => {
                    inner.insert(mountpoint, topic, Entry { message, stamp });
                }
                Some((None, stamp)) => {
                    inner.clear(mountpoint, topic, stamp);
                }
                None => tracing::warn!(%topic, "unreadable retained message skipped"),
            }
        }
    }

    /// Keeps `message` as the topic's retained message, or deletes it when the payload is empty.
    pub fn set(&self, mountpoint: &str, message: &Message) -> RetainChange {
        let kept = (!message.payload.is_empty()).then(|| Message {
            retain: true,
            ..message.clone()
        });
        self.set_local(mountpoint, &message.topic, kept)
    }

    /// Deletes a topic's retained message; answers whether there was one.
    pub fn delete(&self, mountpoint: &str, topic: &str) -> bool {
        self.set_local(mountpoint, topic, None) == RetainChange::Deleted
    }

    fn set_local(&self, mountpoint: &str, topic: &str, message: Option<Message>) -> RetainChange {
        let local = self.replication.get().map(|r| &r.local);
        let mut inner = self.inner.write();
        let prior = inner.stamp_of(mountpoint, topic).map_or(i64::MIN, |s| s.ms);
        let stamp = Stamp {
            ms: now_ms().max(prior.saturating_add(1)),
            node: local.map_or_else(|| Arc::from(""), Arc::clone),
        };
        let update = RetainUpdate {
            mountpoint: mountpoint.to_owned(),
            topic: topic.to_owned(),
            stamp,
            message,
        };
        let change = self.apply(&mut inner, &update);
        drop(inner);
        if let Some(replication) = self.replication.get() {
            (replication.send)(vec![update]);
        }
        change
    }

    /// Applies `update` and writes it through to the store.
    fn apply(&self, inner: &mut Inner, update: &RetainUpdate) -> RetainChange {
        let RetainUpdate {
            mountpoint, topic, ..
        } = update;
        let stamp = update.stamp.clone();
        let Some(message) = &update.message else {
            if let Some(store) = &self.store {
                let record = ClearRecord {
                    cleared: stamp.clone(),
                };
                store.put_retained(mountpoint, topic, crate::sessions::encode_record(&record));
            }
            let removed = inner.clear(mountpoint, topic, stamp);
            return match removed {
                true => RetainChange::Deleted,
                false => RetainChange::Unchanged,
            };
        };
        if let Some(store) = &self.store {
            let record = Record {
                message: message.clone(),
                stamp: stamp.clone(),
            };
            store.put_retained(mountpoint, topic, crate::sessions::encode_record(&record));
        }
        let entry = Entry {
            message: message.clone(),
            stamp,
        };
        inner.insert(mountpoint, topic, entry);
        RetainChange::Stored
    }

    /// Applies a peer's updates that are newer than what this node has; answers how many were.
    pub fn merge(&self, updates: &[RetainUpdate]) -> usize {
        let mut inner = self.inner.write();
        let mut applied = 0;
        for update in updates {
            let newer = inner
                .stamp_of(&update.mountpoint, &update.topic)
                .is_none_or(|known| update.stamp > *known);
            if newer {
                self.apply(&mut inner, update);
                applied += 1;
            }
        }
        applied
    }

    /// Every retained message and remembered clear, as updates (a peer's full sync).
    pub fn updates(&self) -> Vec<RetainUpdate> {
        let inner = self.inner.read();
        let kept = inner.messages.iter().flat_map(|(mountpoint, topics)| {
            topics.iter().map(move |(topic, entry)| RetainUpdate {
                mountpoint: mountpoint.clone(),
                topic: topic.clone(),
                stamp: entry.stamp.clone(),
                message: Some(entry.message.clone()),
            })
        });
        let cleared = inner
            .cleared
            .iter()
            .map(|((mountpoint, topic), stamp)| RetainUpdate {
                mountpoint: mountpoint.clone(),
                topic: topic.clone(),
                stamp: stamp.clone(),
                message: None,
            });
        kept.chain(cleared).collect()
    }

    /// The retained messages under `mountpoint` whose topic matches a valid plain `filter`,
    /// skipping those expired before `now_ms`.
    pub fn matching(&self, mountpoint: &str, filter: &str, now_ms: i64) -> Vec<Message> {
        let inner = self.inner.read();
        let Some(topics) = inner.messages.get(mountpoint) else {
            return Vec::new();
        };
        topics
            .iter()
            .filter(|(topic, e)| filter_matches(filter, topic) && !e.message.is_expired(now_ms))
            .map(|(_, entry)| entry.message.clone())
            .collect()
    }

    /// Every retained message, ordered by mountpoint then topic.
    pub fn rows(&self) -> Vec<RetainedRow> {
        let inner = self.inner.read();
        let mut rows: Vec<RetainedRow> = inner
            .messages
            .iter()
            .flat_map(|(mountpoint, topics)| {
                topics.iter().map(move |(topic, entry)| RetainedRow {
                    mountpoint: mountpoint.clone(),
                    topic: topic.clone(),
                    payload: entry.message.payload.clone(),
                })
            })
            .collect();
        rows.sort_by(|a, b| (&a.mountpoint, &a.topic).cmp(&(&b.mountpoint, &b.topic)));
        rows
    }

    /// How many messages are retained.
    pub fn len(&self) -> usize {
        self.inner.read().messages.values().map(BTreeMap::len).sum()
    }

    /// Whether nothing is retained.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[path = "retain_tests.rs"]
mod tests;
