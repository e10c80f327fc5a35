//! Retained messages by mountpoint and topic: set by publishers, read by new subscriptions and
//! `retain show`, shared without a message round trip.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use parking_lot::RwLock;

use crate::router::filter_matches;
use crate::sessions::Message;
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

/// The retained messages of every mountpoint, written through to the store if there is one.
#[derive(Debug, Default)]
pub struct RetainStore {
    messages: RwLock<HashMap<String, BTreeMap<String, Message>>>,
    store: Option<Store>,
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

impl RetainStore {
    /// An empty store writing through to `store`.
    pub fn new(store: Option<Store>) -> Self {
        Self {
            messages: RwLock::default(),
            store,
        }
    }

    /// Brings back what the store kept (unreadable records are skipped with a warning).
    pub fn restore(&self, loaded: &[LoadedRetained]) {
        let mut all = self.messages.write();
        for retained in loaded {
            let Some(message) = Message::decode(&retained.record) else {
                tracing::warn!(topic = %retained.topic, "unreadable retained message skipped");
                continue;
            };
            let topics = all.entry(retained.mountpoint.clone()).or_default();
            topics.insert(retained.topic.clone(), message);
        }
    }

    /// Keeps `message` as the topic's retained message, or deletes it when the payload is empty.
    pub fn set(&self, mountpoint: &str, message: &Message) -> RetainChange {
        let mut all = self.messages.write();
        if message.payload.is_empty() {
            return match self.remove_locked(&mut all, mountpoint, &message.topic) {
                true => RetainChange::Deleted,
                false => RetainChange::Unchanged,
            };
        }
        let retained = Message {
            retain: true,
            ..message.clone()
        };
        if let Some(store) = &self.store {
            store.put_retained(mountpoint, &message.topic, retained.encode());
        }
        let topics = all.entry(mountpoint.to_owned()).or_default();
        topics.insert(message.topic.to_string(), retained);
        RetainChange::Stored
    }

    /// Deletes a topic's retained message; answers whether there was one.
    pub fn delete(&self, mountpoint: &str, topic: &str) -> bool {
        let mut all = self.messages.write();
        self.remove_locked(&mut all, mountpoint, topic)
    }

    fn remove_locked(
        &self,
        all: &mut HashMap<String, BTreeMap<String, Message>>,
        mountpoint: &str,
        topic: &str,
    ) -> bool {
        let Some(topics) = all.get_mut(mountpoint) else {
            return false;
        };
        let removed = topics.remove(topic).is_some();
        if let (true, Some(store)) = (removed, &self.store) {
            store.delete_retained(mountpoint, topic);
        }
        if topics.is_empty() {
            all.remove(mountpoint);
        }
        removed
    }

    /// The retained messages under `mountpoint` whose topic matches a valid plain `filter`,
    /// skipping those expired before `now_ms`.
    pub fn matching(&self, mountpoint: &str, filter: &str, now_ms: i64) -> Vec<Message> {
        let all = self.messages.read();
        let Some(topics) = all.get(mountpoint) else {
            return Vec::new();
        };
        topics
            .iter()
            .filter(|(topic, message)| filter_matches(filter, topic) && !message.is_expired(now_ms))
            .map(|(_, message)| message.clone())
            .collect()
    }

    /// Every retained message, ordered by mountpoint then topic.
    pub fn rows(&self) -> Vec<RetainedRow> {
        let all = self.messages.read();
        let mut rows: Vec<RetainedRow> = all
            .iter()
            .flat_map(|(mountpoint, topics)| {
                topics.iter().map(move |(topic, message)| RetainedRow {
                    mountpoint: mountpoint.clone(),
                    topic: topic.clone(),
                    payload: message.payload.clone(),
                })
            })
            .collect();
        rows.sort_by(|a, b| (&a.mountpoint, &a.topic).cmp(&(&b.mountpoint, &b.topic)));
        rows
    }

    /// How many messages are retained.
    pub fn len(&self) -> usize {
        self.messages.read().values().map(BTreeMap::len).sum()
    }

    /// Whether nothing is retained.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn message(topic: &str, payload: &'static [u8]) -> Message {
        Message {
            topic: Arc::from(topic),
            payload: Bytes::from_static(payload),
            qos: 1,
            retain: false,
            properties: None,
            expires_at_ms: None,
            publisher: None,
        }
    }

    #[test]
    fn the_last_retained_message_per_topic_is_kept_and_empty_deletes() {
        let store = RetainStore::default();
        assert_eq!(store.set("", &message("a/b", b"1")), RetainChange::Stored);
        store.set("", &message("a/b", b"2"));
        store.set("", &message("a/c", b"3"));
        store.set("mp", &message("a/b", b"4"));
        assert_eq!(store.len(), 3);
        let got = store.matching("", "a/+", 0);
        let payloads: Vec<&[u8]> = got.iter().map(|m| &m.payload[..]).collect();
        assert_eq!(payloads, [&b"2"[..], &b"3"[..]]);
        assert!(got.iter().all(|m| m.retain));
        assert_eq!(store.set("", &message("a/b", b"")), RetainChange::Deleted);
        assert_eq!(store.set("", &message("a/b", b"")), RetainChange::Unchanged);
        assert!(store.delete("mp", "a/b"));
        assert_eq!(store.rows().len(), 1);
    }

    #[test]
    fn expired_retained_messages_are_not_sent() {
        let store = RetainStore::default();
        let mut old = message("t", b"x");
        old.expires_at_ms = Some(10);
        store.set("", &old);
        assert!(store.matching("", "t", 11).is_empty());
        assert_eq!(store.matching("", "#", 9).len(), 1);
    }
}
