//! A registry's start from the store: persistent sessions come back offline, with their
//! subscriptions, messages and remaining expiry.

use std::sync::Arc;
use std::time::Duration;

use super::{Entry, SessionsState, Timer};
use crate::metrics::Counter;
use crate::sessions::message::SessionKey;
use crate::sessions::persist::{self, SessionRecord};
use crate::sessions::queue::{QueueLimits, SessionQueue};
use crate::store::LoadedSession;

impl SessionsState {
    /// Brings back the persistent sessions of the store (offline, with their subscriptions and
    /// messages); answers the expiry timers to start. Expired ones are deleted.
    pub fn restore(
        &mut self,
        loaded: &[LoadedSession],
        limits: QueueLimits,
        now_ms: i64,
    ) -> Vec<Timer> {
        let mut timers = Vec::new();
        for session in loaded {
            let key = &session.key;
            let Some((record, messages, last_seq)) = persist::decode(session) else {
                tracing::warn!(client_id = %key.client_id, "unreadable stored session dropped");
                self.forget(key);
                continue;
            };
            let remaining = record.remaining(now_ms);
            if remaining == Some(Duration::ZERO) {
                self.forget(key);
                continue;
            }
            let generation = self.generation();
            self.metrics.count_one(Counter::QueueInitializedFromStorage);
            let entry = self.offline_entry(key, &record, limits, generation);
            let (client_id, queue) = (Arc::clone(&entry.client_id), Arc::clone(&entry.queue));
            queue.restore(messages);
            if let Some(store) = &self.store {
                queue.resume_persisting(store, key, last_seq);
            }
            for (filter, options) in &record.subscriptions {
                self.routes
                    .add(&key.mountpoint, filter, &client_id, &queue, *options);
            }
            if let Some(delay) = remaining {
                timers.push(Timer {
                    delay,
                    key: key.clone(),
                    generation,
                });
            }
            self.republish(key);
        }
        timers
    }

    pub(super) fn offline_entry(
        &mut self,
        key: &SessionKey,
        record: &SessionRecord,
        limits: QueueLimits,
        generation: u64,
    ) -> &mut Entry {
        self.sessions.entry(key.clone()).or_insert_with(|| Entry {
            client_id: Arc::from(key.client_id.as_str()),
            queue: Arc::new(SessionQueue::new(limits)),
            subscriptions: record.subscriptions.iter().cloned().collect(),
            online: None,
            expiry: record.expiry(),
            started_at_ms: record.started_at_ms,
            generation,
            will: None,
            will_timer: None,
            offline_since_ms: record.offline_since_ms,
            stored: true,
        })
    }

    pub(super) fn forget(&self, key: &SessionKey) {
        if let Some(store) = &self.store {
            store.delete_session(key);
        }
    }
}
