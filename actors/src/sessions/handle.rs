//! The handle to the session registry: starting it, the shared routing and retain tables, and
//! the calls connections and admin commands make on it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use super::registry::{AttachRequest, Attached, Will};
use super::{
    connection, ConnectionSettings, QueueLimits, Routes, SessionExpiry, SessionId, SessionIndex,
    SessionKey, SessionsActor, SessionsMessage, SessionsShared, SubOptions, NAME,
};
use crate::call::{call, CallError, DEFAULT_CALL_TIMEOUT};
use crate::cluster::Peers;
use crate::metrics::Metrics;
use crate::retain::RetainStore;
use crate::slot::ActorSlot;
use crate::store::Store;
use crate::supervisor::{spawn_supervised, SupervisorHandle};
use crate::trace::TraceHub;

/// The handle to the session registry and the shared routing and retain tables.
#[derive(Clone)]
pub struct SessionsHandle {
    pub(super) slot: ActorSlot<SessionsMessage>,
    pub(super) shared: SessionsShared,
}

impl std::fmt::Debug for SessionsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionsHandle")
    }
}

impl SessionsHandle {
    /// Starts the registry under `supervisor`, with the persistent sessions and retained
    /// messages of `store` (none without one).
    pub async fn start(
        supervisor: &SupervisorHandle,
        store: Option<Store>,
        limits: QueueLimits,
        metrics: Arc<Metrics>,
    ) -> Result<Self, String> {
        let retained = RetainStore::new(store.clone());
        if let Some(store) = &store {
            let loaded = store.load().map_err(|e| e.to_string())?;
            retained.restore(&loaded.retained);
        }
        let shared = SessionsShared {
            routes: Arc::new(Routes::default()),
            retained: Arc::new(retained),
            published: Arc::new(ArcSwap::from_pointee(SessionIndex::new())),
            metrics,
            store,
            limits,
            traces: Arc::default(),
            peers: Arc::default(),
        };
        let arguments = shared.clone();
        let slot =
            spawn_supervised(supervisor, NAME, move || (SessionsActor, arguments.clone())).await?;
        Ok(Self { slot, shared })
    }

    /// Every session as of now, ordered by (mountpoint, client id).
    pub fn sessions(&self) -> Arc<SessionIndex> {
        self.shared.published.load_full()
    }

    /// Where [`SessionsHandle::sessions`] reads from, for a holder (a peer handler) that must
    /// not keep the rest of the registry (its store) alive.
    pub fn published_index(&self) -> Arc<ArcSwap<SessionIndex>> {
        Arc::clone(&self.shared.published)
    }

    /// The routing table.
    pub fn routes(&self) -> &Routes {
        &self.shared.routes
    }

    /// Links the routing table and the retained messages to the cluster of `peers`: peers hear
    /// of this node's subscriptions and retained messages, publishes reach their subscribers
    /// (up to `buffer` bytes are kept per unreachable peer).
    pub(super) fn link_routes(&self, peers: &Peers, buffer: usize) {
        let shared = &self.shared;
        let metrics = Arc::clone(&shared.metrics);
        crate::router::link::start(&shared.routes, &shared.retained, metrics, peers, buffer);
    }

    /// The retained messages.
    pub fn retained(&self) -> &RetainStore {
        &self.shared.retained
    }

    /// The data plane's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    /// The running `trace client` traces.
    pub fn traces(&self) -> &Arc<TraceHub> {
        &self.shared.traces
    }

    /// Runs the MQTT protocol on one accepted connection until it closes or `stop` turns true.
    /// (Not an `async fn`: the future is the connection's own, with no wrapper holding a second
    /// copy of its arguments; an idle session's memory is mostly this future.)
    pub fn serve<S>(
        &self,
        stream: S,
        peer: SocketAddr,
        settings: ConnectionSettings,
        stop: watch::Receiver<bool>,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        connection::run(self.clone(), stream, peer, settings, stop)
    }

    /// Makes what the sessions hold durable and closes the store (node shutdown, after the
    /// connections closed).
    pub async fn close(&self) {
        let _ = call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            SessionsMessage::Flush { reply }
        })
        .await;
        if let Some(store) = &self.shared.store {
            if let Err(error) = store.close().await {
                tracing::error!(%error, "the session store did not close cleanly");
            }
        }
    }

    /// `session unsubscribe`: removes one subscription of a session. Answers whether it existed.
    pub async fn unsubscribe_client(
        &self,
        key: SessionKey,
        filter: String,
    ) -> Result<bool, CallError> {
        let existed = call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            SessionsMessage::Unsubscribe {
                key,
                id: None,
                filters: vec![filter],
                reply,
            }
        })
        .await?;
        Ok(existed.is_some_and(|e| e.first() == Some(&true)))
    }

    pub(crate) async fn attach(&self, request: AttachRequest) -> Result<Attached, CallError> {
        call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            SessionsMessage::Attach {
                request: Box::new(request),
                reply,
            }
        })
        .await
    }

    pub(crate) fn detach(
        &self,
        key: &SessionKey,
        id: SessionId,
        will: Option<Will>,
        expiry: Option<SessionExpiry>,
    ) {
        let _ = self.slot.get().cast(SessionsMessage::Detach {
            key: key.clone(),
            id,
            will,
            expiry,
        });
    }

    pub(crate) async fn subscribe(
        &self,
        key: &SessionKey,
        id: SessionId,
        filters: Vec<(String, SubOptions)>,
    ) -> Option<Vec<bool>> {
        call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            SessionsMessage::Subscribe {
                key: key.clone(),
                id,
                filters,
                reply,
            }
        })
        .await
        .ok()
        .flatten()
    }

    pub(crate) async fn unsubscribe(
        &self,
        key: &SessionKey,
        id: SessionId,
        filters: Vec<String>,
    ) -> Option<Vec<bool>> {
        call(&self.slot.get(), NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            SessionsMessage::Unsubscribe {
                key: key.clone(),
                id: Some(id),
                filters,
                reply,
            }
        })
        .await
        .ok()
        .flatten()
    }
}
