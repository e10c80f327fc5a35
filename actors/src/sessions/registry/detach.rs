//! A session's connection ends: the session is kept offline (persisted, with an expiry timer)
//! or ends; its will is published now, after its delay, or when the session ends.

use super::{holder, SessionExpiry, SessionId, SessionsState, Timer, Will};
use crate::sessions::message::{now_ms, Message, SessionKey};

impl SessionsState {
    /// A connection closed. Its session ends now (clean) or is kept offline; the timers the
    /// actor must start are returned (session expiry, will delay).
    pub fn detach(
        &mut self,
        key: &SessionKey,
        id: SessionId,
        will: Option<Will>,
        expiry: Option<SessionExpiry>,
    ) -> Vec<Timer> {
        let generation = self.generation();
        let Some(entry) = holder(&mut self.sessions, key, id) else {
            // Taken over: the newer connection owns the session; only the will remains.
            if let Some(will) = will {
                self.publish_will(&key.mountpoint, &will.message);
            }
            return Vec::new();
        };
        entry.online = None;
        entry.queue.set_holder(None);
        entry.generation = generation;
        entry.offline_since_ms = Some(now_ms());
        if let Some(expiry) = expiry {
            entry.expiry = expiry;
        }
        if let (false, Some(store)) = (entry.expiry.ends_with_connection(), &self.store) {
            entry.queue.persist_offline(store, key);
        }
        let mut timers = Vec::new();
        if let Some(will) = will {
            if will.delay.is_zero() {
                let message = will.message;
                self.publish_will(&key.mountpoint, &message);
            } else if let Some(entry) = self.sessions.get_mut(key) {
                entry.will = Some(Box::new(will.message));
                entry.will_timer = Some(generation);
                timers.push(Timer {
                    delay: will.delay,
                    key: key.clone(),
                    generation,
                });
            }
        }
        let Some(entry) = self.sessions.get(key) else {
            return timers;
        };
        match entry.expiry {
            expiry if expiry.ends_with_connection() => self.end(key),
            SessionExpiry::After(delay) => timers.push(Timer {
                delay,
                key: key.clone(),
                generation,
            }),
            SessionExpiry::Never => self.republish(key),
        }
        timers
    }

    /// A timer fired: the will is due, or the session expired (if nothing changed since).
    pub fn timer(&mut self, key: &SessionKey, generation: u64) {
        let Some(entry) = self.sessions.get_mut(key) else {
            return;
        };
        if entry.generation != generation || entry.online.is_some() {
            return;
        }
        if entry.will_timer == Some(generation) {
            entry.will_timer = None;
            if let Some(will) = entry.will.take() {
                self.publish_will(&key.mountpoint, &will);
            }
            // The session may expire at the same moment; a separate timer says so.
            return;
        }
        self.end(key);
    }

    /// Ends a session: its will (if still waiting) is published, its routes removed.
    pub(super) fn end(&mut self, key: &SessionKey) {
        if let Some(will) = self.sessions.get_mut(key).and_then(|e| e.will.take()) {
            self.publish_will(&key.mountpoint, &will);
        }
        self.remove(key, false);
    }

    fn publish_will(&self, mountpoint: &str, will: &Message) {
        let mut will = will.clone();
        will.stamp_expiry(now_ms());
        if will.retain {
            self.retained.set(mountpoint, &will);
        }
        // Counted like any publish by the connection that would have sent it: not here.
        self.routes.route(mountpoint, &will, false);
    }
}
