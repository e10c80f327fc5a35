//! A session's messages: the queue waiting for delivery and the QoS 1/2 messages in flight.
//!
//! The queue outlives connections: a persistent session keeps it while offline, and the next
//! connection (or the one taking over) resends what is in flight, so a takeover loses nothing.
//! Publishers push into it directly (no actor hop); its connection is woken by `notified`.

use std::collections::{HashSet, VecDeque};
use std::num::NonZeroU16;

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::message::{Message, SessionKey};
use crate::store::Store;

/// How many messages a queue keeps, and in which order it delivers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// `max_online_messages`: waiting while the client is connected.
    pub max_online: usize,
    /// `max_offline_messages`: waiting while a persistent session is offline.
    pub max_offline: usize,
    /// `queue_type = lifo`: the newest message goes first, and a full queue drops its oldest
    /// (`fifo`: oldest first, a full queue drops the new one).
    pub lifo: bool,
}

impl Default for QueueLimits {
    fn default() -> Self {
        Self {
            max_online: 1000,
            max_offline: 1000,
            lifo: false,
        }
    }
}

/// Where an outgoing QoS 1/2 message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Sent; waiting for PUBACK (QoS 1) or PUBREC (QoS 2).
    Sent,
    /// QoS 2: PUBREC received, PUBREL sent; waiting for PUBCOMP.
    Released,
}

/// An outgoing QoS 1/2 message waiting for its acknowledgement.
#[derive(Debug, Clone)]
pub struct Inflight {
    /// The packet id it was sent with.
    pub packet_id: NonZeroU16,
    /// The message.
    pub message: Message,
    /// Where it stands.
    pub phase: Phase,
}

/// What the connection sends next.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// `None` for QoS 0.
    pub packet_id: Option<NonZeroU16>,
    /// The message (its QoS already the granted one).
    pub message: Message,
}

/// One [`SessionQueue::take`]: the messages to send, and how many expired on the way.
#[derive(Debug, Default)]
pub struct Taken {
    /// To send, in order.
    pub messages: Vec<Outgoing>,
    /// Dropped because their message expiry had passed.
    pub expired: usize,
}

#[derive(Debug, Default)]
struct QueueInner {
    pending: VecDeque<Message>,
    inflight: VecDeque<Inflight>,
    next_packet_id: u16,
    /// The connection attached to the session (`None`: offline).
    holder: Option<u64>,
    dropped: u64,
    limits: QueueLimits,
    /// QoS 2 packet ids received from the client and not yet released (exactly-once inbound).
    incoming: HashSet<NonZeroU16>,
    /// Where an offline persistent session's messages are written as they arrive.
    persist: Option<Persist>,
}

/// An offline persistent session's place in the store.
#[derive(Debug)]
struct Persist {
    store: Store,
    key: SessionKey,
    next_seq: u64,
}

impl Persist {
    fn push(&mut self, message: &Message) {
        self.store
            .push_message(&self.key, self.next_seq, message.encode());
        self.next_seq += 1;
    }
}

/// One session's queue; shared by the router (push), the connection (take, ack) and listings.
#[derive(Debug)]
pub struct SessionQueue {
    inner: Mutex<QueueInner>,
    notify: Notify,
}

impl SessionQueue {
    /// An empty, offline queue.
    pub fn new(limits: QueueLimits) -> Self {
        Self {
            inner: Mutex::new(QueueInner {
                limits,
                ..QueueInner::default()
            }),
            notify: Notify::new(),
        }
    }

    /// Queues a message; answers false when the queue was full and a message was dropped (the
    /// new one, or with `lifo` the oldest).
    pub fn push(&self, message: Message) -> bool {
        let mut inner = self.inner.lock();
        let limit = match inner.holder {
            Some(_) => inner.limits.max_online,
            None => inner.limits.max_offline,
        };
        let full = inner.pending.len() >= limit;
        if full {
            inner.dropped += 1;
            if !inner.limits.lifo || inner.pending.pop_front().is_none() {
                return false;
            }
        }
        if let Some(persist) = inner.persist.as_mut() {
            persist.push(&message);
        }
        inner.pending.push_back(message);
        drop(inner);
        self.notify.notify_one();
        !full
    }

    /// Queues the messages the store kept for this session (at start, in their stored order).
    pub fn restore(&self, messages: impl IntoIterator<Item = Message>) {
        self.inner.lock().pending.extend(messages);
    }

    /// Resolves when a message was pushed since the last call (or is waiting already).
    pub async fn notified(&self) {
        self.notify.notified().await;
    }

    /// Takes the next messages for the connection `holder` to send: QoS 0 ones always, QoS 1/2
    /// ones while fewer than `window` are in flight (each gets a packet id and joins the
    /// in-flight list). Messages that expired before `now_ms` are dropped on the way. A
    /// connection that was taken over gets nothing: its successor resends what is in flight.
    pub fn take(&self, holder: u64, window: usize, now_ms: i64, max: usize) -> Taken {
        let mut inner = self.inner.lock();
        let mut taken = Taken::default();
        if inner.holder != Some(holder) {
            return taken;
        }
        while taken.messages.len() < max {
            let lifo = inner.limits.lifo;
            let next = match lifo {
                true => inner.pending.back(),
                false => inner.pending.front(),
            };
            let Some(next) = next else {
                break;
            };
            if next.qos > 0 && inner.inflight.len() >= window {
                break;
            }
            let popped = match lifo {
                true => inner.pending.pop_back(),
                false => inner.pending.pop_front(),
            };
            let Some(message) = popped else {
                break;
            };
            if message.is_expired(now_ms) {
                taken.expired += 1;
                continue;
            }
            let packet_id = (message.qos > 0).then(|| inner.assign_packet_id(&message));
            taken.messages.push(Outgoing { packet_id, message });
        }
        taken
    }

    /// What is in flight, for resending after a reconnect or a retry interval.
    pub fn inflight(&self) -> Vec<Inflight> {
        self.inner.lock().inflight.iter().cloned().collect()
    }

    /// The packet ids in flight.
    pub fn inflight_ids(&self) -> Vec<NonZeroU16> {
        self.inner
            .lock()
            .inflight
            .iter()
            .map(|m| m.packet_id)
            .collect()
    }

    /// PUBACK (QoS 1) or PUBCOMP (QoS 2): the message is done. Answers whether it was in flight.
    pub fn acknowledge(&self, packet_id: NonZeroU16) -> bool {
        let mut inner = self.inner.lock();
        let before = inner.inflight.len();
        inner.inflight.retain(|m| m.packet_id != packet_id);
        let done = inner.inflight.len() != before;
        drop(inner);
        if done {
            // The window has room again.
            self.notify.notify_one();
        }
        done
    }

    /// PUBREC: the client has a QoS 2 message; PUBREL follows. Answers whether it was in flight.
    pub fn received(&self, packet_id: NonZeroU16) -> bool {
        let mut inner = self.inner.lock();
        match inner.inflight.iter_mut().find(|m| m.packet_id == packet_id) {
            Some(inflight) => {
                inflight.phase = Phase::Released;
                true
            }
            None => false,
        }
    }

    /// Records an inbound QoS 2 packet id; answers false if it was already received (a resend,
    /// which must not be routed twice).
    pub fn receive_exactly_once(&self, packet_id: NonZeroU16) -> bool {
        self.inner.lock().incoming.insert(packet_id)
    }

    /// PUBREL from the client: the inbound QoS 2 id is free again. Answers whether it was known.
    pub fn release(&self, packet_id: NonZeroU16) -> bool {
        self.inner.lock().incoming.remove(&packet_id)
    }

    /// Inbound QoS 2 messages not yet released.
    pub fn incoming_unreleased(&self) -> usize {
        self.inner.lock().incoming.len()
    }

    /// Attaches a connection (`Some`: online, the online limit applies) or none (offline).
    /// Online, new messages are kept in memory only (what was stored stays until the session
    /// next goes offline or ends).
    pub fn set_holder(&self, holder: Option<u64>) {
        let mut inner = self.inner.lock();
        inner.holder = holder;
        if holder.is_some() {
            inner.persist = None;
        }
    }

    /// Takes an offline persistent session's messages to `store` under `key`: what is held now
    /// (in flight first) replaces what was stored, and later messages follow as they arrive.
    pub fn persist_offline(&self, store: &Store, key: &SessionKey) {
        let mut inner = self.inner.lock();
        store.clear_messages(key);
        let mut persist = Persist {
            store: store.clone(),
            key: key.clone(),
            next_seq: 1,
        };
        inner.held().iter().for_each(|m| persist.push(m));
        inner.persist = Some(persist);
    }

    /// Continues writing an offline session restored from the store after `last_seq`.
    pub fn resume_persisting(&self, store: &Store, key: &SessionKey, last_seq: u64) {
        self.inner.lock().persist = Some(Persist {
            store: store.clone(),
            key: key.clone(),
            next_seq: last_seq + 1,
        });
    }

    /// Changes the limits (the settings in force when the client last connected).
    pub fn set_limits(&self, limits: QueueLimits) {
        self.inner.lock().limits = limits;
    }

    /// Empties everything (a clean start or `session disconnect --cleanup`).
    pub fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.pending.clear();
        inner.inflight.clear();
        inner.incoming.clear();
    }

    /// The messages an offline session keeps: in flight first (they were sent earlier), then
    /// the waiting ones; for the store.
    pub fn messages(&self) -> Vec<Message> {
        self.inner.lock().held()
    }

    /// Counters for listings.
    pub fn stats(&self) -> QueueStats {
        let inner = self.inner.lock();
        QueueStats {
            waiting: inner.pending.len(),
            inflight: inner.inflight.len(),
            dropped: inner.dropped,
            online: inner.holder.is_some(),
        }
    }
}

impl QueueInner {
    /// In flight first (they were sent earlier), then the waiting ones.
    fn held(&self) -> Vec<Message> {
        self.inflight
            .iter()
            .map(|m| m.message.clone())
            .chain(self.pending.iter().cloned())
            .collect()
    }

    fn assign_packet_id(&mut self, message: &Message) -> NonZeroU16 {
        let packet_id = loop {
            self.next_packet_id = self.next_packet_id.wrapping_add(1);
            let Some(id) = NonZeroU16::new(self.next_packet_id) else {
                continue;
            };
            // At most 65 535 ids: the window is far smaller, so a free one always exists.
            if !self.inflight.iter().any(|m| m.packet_id == id) {
                break id;
            }
        };
        self.inflight.push_back(Inflight {
            packet_id,
            message: message.clone(),
            phase: Phase::Sent,
        });
        packet_id
    }
}

/// A queue's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStats {
    /// Messages waiting for delivery.
    pub waiting: usize,
    /// QoS 1/2 messages sent and not yet acknowledged.
    pub inflight: usize,
    /// Messages dropped because the queue was full.
    pub dropped: u64,
    /// Whether a connection is attached.
    pub online: bool,
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
