//! The session index that listings read: one immutable view per session, in a persistent ordered
//! map (cheap to clone, so the registry republishes it on every change without copying).

use std::net::SocketAddr;
use std::sync::Arc;

use imbl::OrdMap;

use super::message::{Message, SessionKey, SubOptions};
use super::queue::{QueueStats, SessionQueue};

/// Sessions ordered by (mountpoint, client id): the stable order `--offset` pages over.
pub type SessionIndex = OrdMap<SessionKey, Arc<SessionView>>;

/// What listings show of a connected client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// 3 (MQTT 3.1), 4 (3.1.1) or 5.
    pub protocol: u8,
    /// The username, if the client sent one.
    pub user: Option<String>,
    /// When this connection was accepted, POSIX milliseconds.
    pub connected_at_ms: i64,
    /// Identifies the connection (listings print it as the session "pid").
    pub connection: u64,
}

/// One session, online or offline, as listings see it.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// Mountpoint and client id.
    pub key: SessionKey,
    /// The connection, when online.
    pub online: Option<OnlineInfo>,
    /// Whether the session ends with its connection.
    pub clean_session: bool,
    /// When the session (its queue) was created, POSIX milliseconds.
    pub started_at_ms: i64,
    /// Its subscriptions, by filter.
    pub subscriptions: Vec<(String, SubOptions)>,
    pub(crate) queue: Arc<SessionQueue>,
}

impl SessionView {
    /// The queue's live counters.
    pub fn queue_stats(&self) -> QueueStats {
        self.queue.stats()
    }

    /// The messages waiting in the queue (in flight first).
    pub fn queued_messages(&self) -> Vec<Message> {
        self.queue.messages()
    }
}
