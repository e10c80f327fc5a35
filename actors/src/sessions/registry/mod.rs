//! The session registry's data: every session by (mountpoint, client id), online or offline,
//! with its subscriptions; takeover, expiry and last wills; the index listings read.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::oneshot;

use super::message::{Message, SessionKey, SubOptions};
use super::persist::{self, SessionRecord};
use super::queue::{QueueLimits, SessionQueue};
use super::routes::Routes;
use super::snapshot::{OnlineInfo, SessionIndex, SessionView};
use crate::metrics::{Counter, Metrics};
use crate::retain::RetainStore;
use crate::store::Store;

mod detach;
mod handover;
mod restore;

pub use handover::Handover;

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
    /// What the session held on the node the client was connected to before (see
    /// [`SessionsState::handover`]); used when there is no session here and no clean start.
    pub inherited: Option<Handover>,
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

/// Subscribes `entry` to `filter`, in the routes and in its own list; `true` when the filter is
/// new for it.
fn subscribe(
    routes: &Routes,
    mountpoint: &str,
    entry: &mut Entry,
    filter: String,
    options: SubOptions,
) -> bool {
    routes.add(mountpoint, &filter, &entry.client_id, &entry.queue, options);
    entry.subscriptions.insert(filter, options).is_none()
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
    metrics: Arc<Metrics>,
}

impl SessionsState {
    /// An empty registry routing through `routes` and publishing into `published` (emptied:
    /// a restarted registry starts over, and its connections reconnect).
    pub fn new(
        routes: Arc<Routes>,
        retained: Arc<RetainStore>,
        published: Arc<ArcSwap<SessionIndex>>,
        store: Option<Store>,
        metrics: Arc<Metrics>,
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
            metrics,
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
        let present_here = self.sessions.contains_key(&key);
        if !present_here {
            self.metrics.count_one(Counter::QueueSetup);
        }
        let inherited = request
            .inherited
            .filter(|_| !present_here && !request.clean_start);
        let session_present = present_here || inherited.is_some();
        let entry = self.sessions.entry(key.clone()).or_insert_with(|| Entry {
            client_id: Arc::from(key.client_id.as_str()),
            queue: Arc::new(SessionQueue::new(request.limits)),
            subscriptions: BTreeMap::new(),
            online: None,
            expiry: request.expiry,
            // A new session starts with its first connection (never after it, in listings).
            started_at_ms: request.info.connected_at_ms.min(now_ms),
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
        if let Some(handed) = inherited {
            self.inherit(&key, handed);
        }
        self.republish(&key);
        Attached {
            id,
            queue,
            session_present,
        }
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
            fresh.push(subscribe(
                &self.routes,
                &key.mountpoint,
                entry,
                filter,
                options,
            ));
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
        self.metrics.count_one(Counter::QueueTeardown);
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
mod tests;
