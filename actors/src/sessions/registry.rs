//! The session registry's data: every session by (mountpoint, client id), online or offline,
//! with its subscriptions; takeover, expiry and last wills; the index listings read.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::oneshot;

use super::message::{now_ms, Message, SessionKey, SubOptions};
use super::persist::{self, SessionRecord};
use super::queue::{QueueLimits, SessionQueue};
use super::routes::Routes;
use super::snapshot::{OnlineInfo, SessionIndex, SessionView};
use crate::retain::RetainStore;
use crate::store::{LoadedSession, Store};

/// Session ids are unique for the life of the process, not of one registry: after the registry
/// actor restarts, a closing connection from before may still detach its old id, which must
/// never name a session attached since.
static NEXT_SESSION_ID: AtomicU64 = AtomicU64::new(1);

/// Identifies one connection's hold on a session (a session outlives its connections).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(u64);

impl SessionId {
    /// The number listings print.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// How long a session outlives its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionExpiry {
    /// Kept until a clean start or `session disconnect --cleanup` (MQTT 3 persistent sessions).
    Never,
    /// Kept this long (zero: the session ends with the connection).
    After(Duration),
}

impl SessionExpiry {
    fn ends_with_connection(self) -> bool {
        self == SessionExpiry::After(Duration::ZERO)
    }
}

/// Why the registry tells a connection to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kick {
    /// A newer connection took the client id over.
    TakenOver,
    /// An operator disconnected it (`session disconnect`).
    Administrative,
}

/// A connection asking for its session.
#[derive(Debug)]
pub struct AttachRequest {
    /// Which session.
    pub key: SessionKey,
    /// Clean session / clean start: discard what was kept.
    pub clean_start: bool,
    /// How long the session outlives this connection.
    pub expiry: SessionExpiry,
    /// What listings show of the connection.
    pub info: OnlineInfo,
    /// Fired to close the connection.
    pub kick: oneshot::Sender<Kick>,
    /// The queue limits in force.
    pub limits: QueueLimits,
}

/// The session a connection got.
#[derive(Debug, Clone)]
pub struct Attached {
    /// The connection's hold on it.
    pub id: SessionId,
    /// Its queue.
    pub queue: Arc<SessionQueue>,
    /// Whether an existing session was resumed.
    pub session_present: bool,
}

/// A last will waiting for its delay.
#[derive(Debug, Clone)]
pub struct Will {
    /// The message.
    pub message: Message,
    /// MQTT 5 will delay.
    pub delay: Duration,
}

/// A timer the actor must start: after `delay`, `fire` for the session at `generation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    /// When.
    pub delay: Duration,
    /// Which session.
    pub key: SessionKey,
    /// Ignored if the session changed since (reattached, or detached again).
    pub generation: u64,
}

struct Online {
    id: SessionId,
    kick: oneshot::Sender<Kick>,
    info: OnlineInfo,
}

struct Entry {
    client_id: Arc<str>,
    queue: Arc<SessionQueue>,
    subscriptions: BTreeMap<String, SubOptions>,
    online: Option<Online>,
    expiry: SessionExpiry,
    started_at_ms: i64,
    generation: u64,
    /// The will of the last connection, until its delay or the session's end.
    will: Option<Box<Message>>,
    /// When the will is due (`None` with a will: at the session's end).
    will_timer: Option<u64>,
    /// When the session went offline.
    offline_since_ms: Option<i64>,
    /// Whether the store holds a record of it.
    stored: bool,
}

/// The session `key` if the connection `id` holds it.
fn holder<'a>(
    sessions: &'a mut HashMap<SessionKey, Entry>,
    key: &SessionKey,
    id: SessionId,
) -> Option<&'a mut Entry> {
    sessions
        .get_mut(key)
        .filter(|entry| entry.online.as_ref().is_some_and(|o| o.id == id))
}

/// Sessions, the routes they subscribed, and the published index.
pub struct SessionsState {
    sessions: HashMap<SessionKey, Entry>,
    routes: Arc<Routes>,
    retained: Arc<RetainStore>,
    index: SessionIndex,
    published: Arc<ArcSwap<SessionIndex>>,
    next_generation: u64,
    store: Option<Store>,
}

impl SessionsState {
    /// An empty registry routing through `routes` and publishing into `published` (emptied:
    /// a restarted registry starts over, and its connections reconnect).
    pub fn new(
        routes: Arc<Routes>,
        retained: Arc<RetainStore>,
        published: Arc<ArcSwap<SessionIndex>>,
        store: Option<Store>,
    ) -> Self {
        published.store(Arc::new(SessionIndex::new()));
        routes.clear();
        Self {
            sessions: HashMap::new(),
            routes,
            retained,
            index: SessionIndex::new(),
            published,
            next_generation: 1,
            store,
        }
    }

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

    fn offline_entry(
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

    fn forget(&self, key: &SessionKey) {
        if let Some(store) = &self.store {
            store.delete_session(key);
        }
    }

    /// Gives a connection its session: a new one, or the kept one (resumed unless
    /// `clean_start`). An online holder is kicked (takeover).
    pub fn attach(&mut self, request: AttachRequest, now_ms: i64) -> Attached {
        let id = SessionId(NEXT_SESSION_ID.fetch_add(1, Ordering::Relaxed));
        let generation = self.generation();
        let key = request.key;
        if let Some(old) = self.sessions.get_mut(&key).and_then(|e| e.online.take()) {
            let _ = old.kick.send(Kick::TakenOver);
        }
        if request.clean_start {
            self.remove(&key, true);
        }
        let session_present = self.sessions.contains_key(&key);
        let entry = self.sessions.entry(key.clone()).or_insert_with(|| Entry {
            client_id: Arc::from(key.client_id.as_str()),
            queue: Arc::new(SessionQueue::new(request.limits)),
            subscriptions: BTreeMap::new(),
            online: None,
            expiry: request.expiry,
            started_at_ms: now_ms,
            generation,
            will: None,
            will_timer: None,
            offline_since_ms: None,
            stored: false,
        });
        // A reconnect within the will delay cancels the will (MQTT 5 §3.1.3.2.2).
        entry.will = None;
        entry.will_timer = None;
        entry.offline_since_ms = None;
        entry.generation = generation;
        entry.expiry = request.expiry;
        entry.queue.set_limits(request.limits);
        entry.queue.set_holder(Some(id.0));
        entry.online = Some(Online {
            id,
            kick: request.kick,
            info: OnlineInfo {
                connection: id.0,
                ..request.info
            },
        });
        let queue = Arc::clone(&entry.queue);
        self.republish(&key);
        Attached {
            id,
            queue,
            session_present,
        }
    }

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
    fn end(&mut self, key: &SessionKey) {
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
        self.routes.route(mountpoint, &will);
    }

    /// Subscribes the holder `id` of `key`; answers per filter whether it is new (`None` if the
    /// connection no longer holds the session).
    pub fn subscribe(
        &mut self,
        key: &SessionKey,
        id: SessionId,
        filters: Vec<(String, SubOptions)>,
    ) -> Option<Vec<bool>> {
        let entry = holder(&mut self.sessions, key, id)?;
        let mut fresh = Vec::with_capacity(filters.len());
        for (filter, options) in filters {
            self.routes.add(
                &key.mountpoint,
                &filter,
                &entry.client_id,
                &entry.queue,
                options,
            );
            fresh.push(entry.subscriptions.insert(filter, options).is_none());
        }
        self.republish(key);
        Some(fresh)
    }

    /// Removes subscriptions of `key` (any connection's, or an operator's with `id` `None`);
    /// answers per filter whether it existed.
    pub fn unsubscribe(
        &mut self,
        key: &SessionKey,
        id: Option<SessionId>,
        filters: &[String],
    ) -> Option<Vec<bool>> {
        let entry = match id {
            Some(id) => holder(&mut self.sessions, key, id)?,
            None => self.sessions.get_mut(key)?,
        };
        let existed = filters
            .iter()
            .map(|filter| {
                let had = entry.subscriptions.remove(filter).is_some();
                self.routes
                    .remove(&key.mountpoint, filter, &entry.client_id);
                had
            })
            .collect();
        self.republish(key);
        Some(existed)
    }

    /// `session disconnect`: closes the connection (if online); with `cleanup` the session is
    /// deleted too. Answers whether the session existed.
    pub fn disconnect(&mut self, key: &SessionKey, cleanup: bool) -> bool {
        let Some(entry) = self.sessions.get_mut(key) else {
            return false;
        };
        if let Some(online) = entry.online.take() {
            let _ = online.kick.send(Kick::Administrative);
            entry.queue.set_holder(None);
        }
        if cleanup {
            self.remove(key, true);
        } else if entry.expiry.ends_with_connection() {
            self.end(key);
        } else {
            self.republish(key);
        }
        true
    }

    /// Sessions (online and offline).
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether there are no sessions.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    /// Drops a session and its routes; `discard_messages` also empties a shared queue.
    fn remove(&mut self, key: &SessionKey, discard_messages: bool) {
        let Some(entry) = self.sessions.remove(key) else {
            return;
        };
        for filter in entry.subscriptions.keys() {
            self.routes
                .remove(&key.mountpoint, filter, &entry.client_id);
        }
        if discard_messages {
            entry.queue.clear();
        }
        if let Some(online) = entry.online {
            let _ = online.kick.send(Kick::Administrative);
        }
        if entry.stored {
            self.forget(key);
        }
        self.index.remove(key);
        self.published.store(Arc::new(self.index.clone()));
    }

    fn republish(&mut self, key: &SessionKey) {
        let Some(entry) = self.sessions.get_mut(key) else {
            return;
        };
        let subscriptions: Vec<(String, SubOptions)> = entry
            .subscriptions
            .iter()
            .map(|(f, o)| (f.clone(), *o))
            .collect();
        if let (false, Some(store)) = (entry.expiry.ends_with_connection(), &self.store) {
            let record = SessionRecord {
                subscriptions: subscriptions.clone(),
                expiry_secs: persist::expiry_secs(entry.expiry),
                started_at_ms: entry.started_at_ms,
                offline_since_ms: entry.offline_since_ms,
            };
            store.put_session(key, record.encode());
            entry.stored = true;
        }
        let view = SessionView {
            key: key.clone(),
            online: entry.online.as_ref().map(|o| o.info.clone()),
            clean_session: entry.expiry.ends_with_connection(),
            started_at_ms: entry.started_at_ms,
            subscriptions,
            queue: Arc::clone(&entry.queue),
        };
        self.index.insert(key.clone(), Arc::new(view));
        self.published.store(Arc::new(self.index.clone()));
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
