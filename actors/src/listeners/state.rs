//! Listener records and connection counting, kept apart from the actor so they test without a runtime.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

/// Identifies a registered listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

/// Whether a listener accepts connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerStatus {
    /// Accepting.
    Running,
    /// Bound but not accepting (`listener stop` without `--kill_sessions`).
    Suspended,
}

impl ListenerStatus {
    /// VerneMQ's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ListenerStatus::Running => "running",
            ListenerStatus::Suspended => "suspended",
        }
    }
}

/// The TLS settings `listener show --tls` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// Certificate chain file.
    pub certfile: String,
    /// Private key file.
    pub keyfile: String,
    /// CA bundle for client certificates, or "".
    pub cafile: String,
    /// Whether clients must present a certificate.
    pub require_certificate: bool,
    /// Accepted protocol versions, e.g. "tlsv1.2, tlsv1.3".
    pub tls_version: String,
}

/// What a listener is, as `listener show` prints it.
#[derive(Debug, Clone)]
pub struct ListenerInfo {
    /// `mqtt`, `mqtts`, `mqttws`, `mqttwss`, `http`, `https`, `vmq`, `vmqs`.
    pub kind: &'static str,
    /// The config name (`default` in `listener.http.default`).
    pub name: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// MQTT mountpoint ("" for none and for HTTP).
    pub mountpoint: String,
    /// Connection limit; `None` = infinity.
    pub max_conns: Option<u64>,
    /// TLS settings, for TLS listeners.
    pub tls: Option<TlsInfo>,
    /// Running or suspended.
    pub status: ListenerStatus,
    /// Live counts, updated by the listener itself without a message.
    pub counts: Arc<ConnectionCounts>,
}

/// A registered listener.
#[derive(Debug, Clone)]
pub struct ListenerEntry {
    /// Its id.
    pub id: ListenerId,
    /// What it is.
    pub info: ListenerInfo,
}

/// Open and total connection counts, shared between a listener and the registry.
#[derive(Debug, Default)]
pub struct ConnectionCounts {
    active: AtomicU64,
    total: AtomicU64,
}

impl ConnectionCounts {
    /// Counts a new connection; dropping the guard counts it closed.
    pub fn open(self: &Arc<Self>) -> ConnectionGuard {
        self.active.fetch_add(1, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(Arc::clone(self))
    }

    /// Connections open now.
    pub fn active(&self) -> u64 {
        self.active.load(Ordering::Relaxed)
    }

    /// Connections accepted since the listener started.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

/// One open connection; counts it closed when dropped.
#[derive(Debug)]
pub struct ConnectionGuard(Arc<ConnectionCounts>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The registry's data and the snapshot it publishes.
pub struct ListenersState {
    entries: Vec<ListenerEntry>,
    next_id: u64,
    published: Arc<ArcSwap<Vec<ListenerEntry>>>,
}

impl ListenersState {
    /// Picks up what was published before (after a restart of the actor).
    pub fn resume(published: Arc<ArcSwap<Vec<ListenerEntry>>>) -> Self {
        let entries = published.load_full().as_ref().clone();
        let next_id = entries.iter().map(|e| e.id.0 + 1).max().unwrap_or(0);
        Self {
            entries,
            next_id,
            published,
        }
    }

    /// Adds a listener and publishes.
    pub fn register(&mut self, info: ListenerInfo) -> ListenerId {
        let id = ListenerId(self.next_id);
        self.next_id += 1;
        self.entries.push(ListenerEntry { id, info });
        self.publish();
        id
    }

    /// Removes a listener and publishes.
    pub fn deregister(&mut self, id: ListenerId) {
        self.entries.retain(|e| e.id != id);
        self.publish();
    }

    fn publish(&self) {
        self.published.store(Arc::new(self.entries.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str) -> ListenerInfo {
        ListenerInfo {
            kind: "http",
            name: name.into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 8888)),
            mountpoint: String::new(),
            max_conns: None,
            tls: None,
            status: ListenerStatus::Running,
            counts: Arc::default(),
        }
    }

    #[test]
    fn register_and_deregister_publish() {
        let published = Arc::new(ArcSwap::from_pointee(Vec::new()));
        let mut state = ListenersState::resume(Arc::clone(&published));
        let a = state.register(info("a"));
        let b = state.register(info("b"));
        assert_ne!(a, b);
        state.deregister(a);
        let names: Vec<_> = published
            .load()
            .iter()
            .map(|e| e.info.name.clone())
            .collect();
        assert_eq!(names, ["b"]);
        let resumed = ListenersState::resume(Arc::clone(&published));
        assert_eq!(resumed.next_id, 2, "ids are never reused after a restart");
    }

    #[test]
    fn guards_count_open_and_total() {
        let counts = Arc::new(ConnectionCounts::default());
        let first = counts.open();
        let second = counts.open();
        drop(first);
        assert_eq!((counts.active(), counts.total()), (1, 2));
        drop(second);
        assert_eq!((counts.active(), counts.total()), (0, 2));
    }
}
