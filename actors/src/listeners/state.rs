//! Listener records and connection counting, kept apart from the actor so they test without a runtime.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use super::listener::{Listener, ListenerControl};
use super::{ListenerError, NewListener};

/// Identifies a registered listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

/// Whether a listener accepts connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerStatus {
    /// Accepting.
    Running,
    /// Not accepting, its connections kept (`listener stop` without `--kill_sessions`).
    Suspended,
    /// Not accepting, its connections closed (`listener stop --kill_sessions`).
    Stopped,
}

impl ListenerStatus {
    /// VerneMQ's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ListenerStatus::Running => "running",
            ListenerStatus::Suspended => "suspended",
            ListenerStatus::Stopped => "stopped",
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

/// The MQTT settings `listener show --mqtt` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttInfo {
    /// E.g. "mqtt 3.1, mqtt 3.1.1, mqtt 5".
    pub allowed_protocol_versions: String,
    /// Whether anonymous clients are accepted here whatever `allow_anonymous` says.
    pub allow_anonymous_override: bool,
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
    /// MQTT settings, for MQTT listeners.
    pub mqtt: Option<MqttInfo>,
    /// Running, suspended or stopped.
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
    /// How to stop and restart it: MQTT listeners only (HTTP ones follow the config file).
    pub(super) control: Option<ListenerControl>,
}

/// Open, total and refused connection counts, shared between a listener and the registry.
#[derive(Debug, Default)]
pub struct ConnectionCounts {
    active: AtomicU64,
    total: AtomicU64,
    refused: AtomicU64,
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

    /// Connections accepted since the listener started, refused ones included.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Counts a connection closed at once because the listener was full.
    pub fn refuse(&self) {
        self.total.fetch_add(1, Ordering::Relaxed);
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Connections closed at once because the listener was full (`max_connections`).
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
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
    /// Where MQTT listener tasks run, so that a stopping node can wait for them.
    tracker: TaskTracker,
    node_stop: watch::Receiver<bool>,
}

impl ListenersState {
    /// Picks up what was published before (after a restart of the actor).
    pub fn resume(
        published: Arc<ArcSwap<Vec<ListenerEntry>>>,
        tracker: TaskTracker,
        node_stop: watch::Receiver<bool>,
    ) -> Self {
        let entries = published.load_full().as_ref().clone();
        let next_id = entries.iter().map(|e| e.id.0 + 1).max().unwrap_or(0);
        Self {
            entries,
            next_id,
            published,
            tracker,
            node_stop,
        }
    }

    /// Starts the task of a new MQTT listener and registers it as running.
    pub fn start_listener(
        &mut self,
        new: NewListener,
    ) -> Result<(ListenerId, SocketAddr), ListenerError> {
        let failed = |e: std::io::Error| ListenerError::Bind(e.to_string());
        self.check_free(new.socket.local_addr().map_err(failed)?)?;
        let mut info = new.info;
        let (addr, control) = Listener::spawn(
            new.socket,
            new.connector,
            Arc::clone(&info.counts),
            info.max_conns,
            self.node_stop.clone(),
            &self.tracker,
        )
        .map_err(failed)?;
        info.addr = addr;
        info.status = ListenerStatus::Running;
        Ok((self.register(info, Some(control)), addr))
    }

    /// `listener stop [--kill_sessions]`.
    pub async fn stop_listener(
        &mut self,
        addr: SocketAddr,
        kill_sessions: bool,
    ) -> Result<(), ListenerError> {
        let (id, control) = self.control(addr)?;
        control.stop(kill_sessions).await?;
        let status = match self.status(id) {
            Some(ListenerStatus::Stopped) => ListenerStatus::Stopped,
            _ if kill_sessions => ListenerStatus::Stopped,
            _ => ListenerStatus::Suspended,
        };
        self.set_status(id, status);
        Ok(())
    }

    /// `listener restart`.
    pub async fn restart_listener(&mut self, addr: SocketAddr) -> Result<(), ListenerError> {
        let (id, control) = self.control(addr)?;
        control.restart().await?;
        self.set_status(id, ListenerStatus::Running);
        Ok(())
    }

    /// `listener delete`.
    pub async fn delete_listener(&mut self, addr: SocketAddr) -> Result<(), ListenerError> {
        let (id, control) = self.control(addr)?;
        control.delete().await?;
        self.deregister(id);
        Ok(())
    }

    fn status(&self, id: ListenerId) -> Option<ListenerStatus> {
        let entry = self.entries.iter().find(|e| e.id == id);
        entry.map(|e| e.info.status)
    }

    /// Adds a listener and publishes.
    pub fn register(&mut self, info: ListenerInfo, control: Option<ListenerControl>) -> ListenerId {
        let id = ListenerId(self.next_id);
        self.next_id += 1;
        self.entries.push(ListenerEntry { id, info, control });
        self.publish();
        id
    }

    /// Removes a listener and publishes.
    pub fn deregister(&mut self, id: ListenerId) {
        self.entries.retain(|e| e.id != id);
        self.publish();
    }

    /// Refuses a second listener on an address (a port-0 address is always new).
    pub fn check_free(&self, addr: SocketAddr) -> Result<(), ListenerError> {
        if addr.port() != 0 && self.entries.iter().any(|e| e.info.addr == addr) {
            return Err(ListenerError::Exists { addr });
        }
        Ok(())
    }

    /// The MQTT listener on `addr`, with the handle that controls it.
    pub fn control(
        &self,
        addr: SocketAddr,
    ) -> Result<(ListenerId, ListenerControl), ListenerError> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.info.addr == addr)
            .ok_or(ListenerError::NotFound { addr })?;
        let control = entry
            .control
            .clone()
            .ok_or(ListenerError::NotMqtt { addr })?;
        Ok((entry.id, control))
    }

    /// Records a listener's new status and publishes.
    pub fn set_status(&mut self, id: ListenerId, status: ListenerStatus) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.id == id) {
            entry.info.status = status;
            self.publish();
        }
    }

    fn publish(&self) {
        self.published.store(Arc::new(self.entries.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resume(published: &Arc<ArcSwap<Vec<ListenerEntry>>>) -> ListenersState {
        let (_, node_stop) = watch::channel(false);
        ListenersState::resume(Arc::clone(published), TaskTracker::new(), node_stop)
    }

    fn info(name: &str) -> ListenerInfo {
        ListenerInfo {
            kind: "http",
            name: name.into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 8888)),
            mountpoint: String::new(),
            max_conns: None,
            tls: None,
            mqtt: None,
            status: ListenerStatus::Running,
            counts: Arc::default(),
        }
    }

    #[test]
    fn register_and_deregister_publish() {
        let published = Arc::new(ArcSwap::from_pointee(Vec::new()));
        let mut state = resume(&published);
        let a = state.register(info("a"), None);
        let b = state.register(info("b"), None);
        assert_ne!(a, b);
        state.deregister(a);
        let names: Vec<_> = published
            .load()
            .iter()
            .map(|e| e.info.name.clone())
            .collect();
        assert_eq!(names, ["b"]);
        let resumed = resume(&published);
        assert_eq!(resumed.next_id, 2, "ids are never reused after a restart");
    }

    #[test]
    fn addresses_are_unique_and_only_mqtt_listeners_are_controlled() {
        let published = Arc::new(ArcSwap::from_pointee(Vec::new()));
        let mut state = resume(&published);
        let id = state.register(info("http"), None);
        let addr = SocketAddr::from(([127, 0, 0, 1], 8888));
        assert!(matches!(
            state.check_free(addr),
            Err(ListenerError::Exists { .. })
        ));
        assert!(state
            .check_free(SocketAddr::from(([127, 0, 0, 1], 0)))
            .is_ok());
        assert!(state
            .check_free(SocketAddr::from(([127, 0, 0, 2], 8888)))
            .is_ok());
        assert!(matches!(
            state.control(addr),
            Err(ListenerError::NotMqtt { .. })
        ));
        let elsewhere = SocketAddr::from(([127, 0, 0, 1], 1));
        assert!(matches!(
            state.control(elsewhere),
            Err(ListenerError::NotFound { .. })
        ));
        state.set_status(id, ListenerStatus::Suspended);
        assert_eq!(state.entries[0].info.status.as_str(), "suspended");
    }

    #[test]
    fn refusals_count_in_total_not_active() {
        let counts = Arc::new(ConnectionCounts::default());
        let _open = counts.open();
        counts.refuse();
        assert_eq!(
            (counts.active(), counts.total(), counts.refused()),
            (1, 2, 1)
        );
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
