//! [`MetaMember`]: this node's raft member on the fabric: started (a fresh node is a one-member cluster of itself), joined to another node's cluster, left for good, and serving its peers.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use futures_util::future::BoxFuture;

use super::fabric::{node_id, PeersTransport, RAFT_TOPIC};
use super::log_store::{decode, encode};
use super::{
    decode_request, encode_reply, Command, MetaConfig, MetaError, MetaHandle, MetaNode, MetaState,
    Response,
};
use crate::cluster::Peers;
use crate::types::NodeName;

/// The peer topic on which a joining node asks to be added to the cluster.
pub const JOIN_TOPIC: &str = "raft_join";
/// The peer topic on which a leaving node asks to be removed from the cluster.
pub const LEAVE_TOPIC: &str = "raft_leave";
/// The peer topic on which a member of a cluster of several nodes asks a node alone to join it.
pub const INVITE_TOPIC: &str = "raft_invite";
/// How long a join keeps asking the discovery node's cluster to add this node.
const JOIN_WITHIN: Duration = Duration::from_secs(20);

/// This node's member of the metadata raft. Clones share it.
#[derive(Clone)]
pub struct MetaMember {
    inner: Arc<Inner>,
}

struct Inner {
    /// Replaced when the node resets its log to join another cluster.
    current: ArcSwap<MetaHandle>,
    peers: Peers,
    local: MetaNode,
    path: PathBuf,
    config: MetaConfig,
    joining: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for MetaMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MetaMember({})", self.inner.local.name)
    }
}

impl MetaMember {
    /// Opens `path` (`meta.redb`) and starts this node's member, reachable by its peers through
    /// `peers`; a node without a cluster yet becomes a one-member cluster of itself.
    pub async fn start(
        peers: Peers,
        local: MetaNode,
        path: PathBuf,
        config: MetaConfig,
    ) -> Result<Self, MetaError> {
        let handle = open(&peers, &local, &path, &config).await?;
        handle.initialize_if_new(alone(&local)).await?;
        let member = Self {
            inner: Arc::new(Inner {
                current: ArcSwap::from_pointee(handle),
                peers,
                local,
                path,
                config,
                joining: tokio::sync::Mutex::new(()),
            }),
        };
        register(&member.inner);
        Ok(member)
    }

    /// The raft instance in use now.
    pub fn handle(&self) -> Arc<MetaHandle> {
        self.inner.current.load_full()
    }

    /// The metadata as applied on this node (local read, works without a quorum).
    pub fn state(&self) -> Arc<MetaState> {
        self.inner.current.load().state()
    }

    /// Resolves when raft's state may have changed (something applied, a leader elected), or
    /// after a second at most.
    pub async fn changed(&self) {
        self.handle().changed(Duration::from_secs(1)).await;
    }

    /// Applies `command` cluster-wide (forwarded to the leader; see [`MetaHandle::write`]).
    pub async fn write(&self, command: Command) -> Result<Response, MetaError> {
        let handle = self.handle();
        // Boxed: openraft's futures are deep, and callers' futures (an HTTP request) nest them.
        let write: BoxFuture<'_, _> = Box::pin(async move { handle.write(command).await });
        write.await
    }

    /// Makes this node and `discovery` voters of one cluster. A node alone joins `discovery`'s
    /// cluster: its own log is dropped (it cannot be merged into another cluster's), and the keys
    /// it had are written into that cluster; if the cluster does not take it, the node goes back
    /// to a cluster of its own with its keys. A node in a cluster of several instead has
    /// `discovery` join this cluster, which only a node alone accepts.
    pub async fn join(&self, discovery: &NodeName) -> Result<(), MetaError> {
        let join: BoxFuture<'_, _> = Box::pin(self.join_boxed(discovery));
        join.await
    }

    async fn join_boxed(&self, discovery: &NodeName) -> Result<(), MetaError> {
        let _one_at_a_time = self.inner.joining.lock().await;
        let before = self.state();
        if before.members().contains_key(&node_id(discovery.as_str())) {
            return Ok(());
        }
        if before.members().len() > 1 {
            return self.invite(discovery).await;
        }
        self.reset().await?;
        let admitted = self.ask_admission(discovery).await;
        match &admitted {
            Ok(()) => self.merge_keys(&before).await?,
            Err(e) => {
                tracing::warn!(%discovery, error = %e, "not admitted to the cluster metadata; this node stays a cluster of its own");
                self.start_alone(&before).await?;
            }
        }
        admitted
    }

    /// Leaves the cluster for good: another member removes this node from the voters (as
    /// [`Self::remove`] does for a dead node), then this node starts over as a cluster of its
    /// own, with the keys it had. A node alone already has nothing to leave.
    pub async fn leave(&self) -> Result<(), MetaError> {
        let leave: BoxFuture<'_, _> = Box::pin(self.leave_boxed());
        leave.await
    }

    async fn leave_boxed(&self) -> Result<(), MetaError> {
        let _one_at_a_time = self.inner.joining.lock().await;
        let before = self.state();
        let local = node_id(&self.inner.local.name);
        let others: Vec<&MetaNode> = (before.members().iter())
            .filter(|(id, _)| **id != local)
            .map(|(_, node)| node)
            .collect();
        if others.is_empty() {
            return Ok(());
        }
        let mut error = MetaError::NoQuorum;
        for other in others {
            match self.ask_removal(other).await {
                Ok(()) => return self.start_alone(&before).await,
                Err(e) => {
                    tracing::warn!(node = %other.name, error = %e, "not removed from the cluster metadata; asking another member");
                    error = e;
                }
            }
        }
        Err(error)
    }

    /// Removes `node` from the raft members (nothing to do when it is not one).
    pub async fn remove(&self, node: &NodeName) -> Result<(), MetaError> {
        let id = node_id(node.as_str());
        if !self.state().members().contains_key(&id) {
            return Ok(());
        }
        let handle = self.handle();
        let remove: BoxFuture<'_, _> = Box::pin(async move { handle.remove_member(id).await });
        remove.await
    }

    /// Stops raft and waits until `meta.redb` is released.
    pub async fn shutdown(&self) {
        self.handle().shutdown().await;
        released(&self.inner.path).await;
    }

    /// Starts over with an empty log and state in a new `meta.redb`.
    async fn reset(&self) -> Result<(), MetaError> {
        let inner = &self.inner;
        self.shutdown().await;
        std::fs::remove_file(&inner.path).map_err(|e| {
            MetaError::Storage(format!("cannot remove {}: {e}", inner.path.display()))
        })?;
        let fresh = open(&inner.peers, &inner.local, &inner.path, &inner.config).await?;
        inner.current.store(Arc::new(fresh));
        Ok(())
    }

    /// Starts over as a cluster of this node alone, with the keys of `before`.
    async fn start_alone(&self, before: &MetaState) -> Result<(), MetaError> {
        self.reset().await?;
        self.handle().initialize(alone(&self.inner.local)).await?;
        self.merge_keys(before).await
    }

    /// Asks member `other` to remove this node from the voters.
    async fn ask_removal(&self, other: &MetaNode) -> Result<(), MetaError> {
        let name =
            NodeName::parse(&other.name).map_err(|e| MetaError::Membership(e.to_string()))?;
        let timeout = self.inner.config.write_timeout * 3;
        self.ask(&name, LEAVE_TOPIC, Vec::new(), timeout).await
    }

    /// Calls `node` on `topic` and decodes its answer (a `Result<(), MetaError>`).
    async fn ask(
        &self,
        node: &NodeName,
        topic: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<(), MetaError> {
        let asked = self.inner.peers.call(node, topic, body, timeout).await;
        match asked.map(|reply| decode::<Result<(), MetaError>>(&reply)) {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => Err(MetaError::Membership(format!("malformed answer: {e}"))),
            Err(e) => Err(MetaError::Membership(e.to_string())),
        }
    }

    /// Asks `discovery` until its cluster has added this node as a voter, or [`JOIN_WITHIN`].
    async fn ask_admission(&self, discovery: &NodeName) -> Result<(), MetaError> {
        let body = encode(&self.inner.local).map_err(MetaError::Storage)?;
        let timeout = self.inner.config.write_timeout * 3;
        let deadline = Instant::now() + JOIN_WITHIN;
        loop {
            let asked = self.ask(discovery, JOIN_TOPIC, body.clone(), timeout).await;
            let Err(error) = asked else {
                return Ok(());
            };
            if Instant::now() >= deadline {
                return Err(error);
            }
            tracing::debug!(%discovery, %error, "join not answered yet; asking again");
            tokio::time::sleep(self.inner.config.heartbeat).await;
        }
    }

    /// Asks `node` to join this node's cluster (see [`Self::join`]).
    async fn invite(&self, node: &NodeName) -> Result<(), MetaError> {
        let timeout = JOIN_WITHIN + self.inner.config.write_timeout * 6;
        self.ask(node, INVITE_TOPIC, Vec::new(), timeout).await
    }

    /// Member `from` of a cluster of several asks this node to join it: done when this node is
    /// alone (or already in that cluster); two clusters of several nodes cannot be merged.
    async fn accept_invitation(&self, from: &NodeName) -> Result<(), MetaError> {
        let members = self.state().members().len();
        let known = self.state().members().contains_key(&node_id(from.as_str()));
        if members > 1 && !known {
            return Err(MetaError::Membership(format!(
                "{} is in a cluster of {members} nodes: two clusters of several nodes cannot be \
                 merged; make it leave its cluster first (cluster leave), then join it again",
                self.inner.local.name
            )));
        }
        self.join(from).await
    }

    /// Writes the keys of `before` that the cluster lacks.
    async fn merge_keys(&self, before: &MetaState) -> Result<(), MetaError> {
        let now = self.state();
        for key in before.keys() {
            if now.key(&key.digest, key.scope).is_some() {
                continue;
            }
            let add = Command::AddKey {
                digest: key.digest,
                scope: key.scope,
                expires: key.expires,
                masked: key.masked.clone(),
            };
            self.write(add).await?;
        }
        Ok(())
    }

    /// A peer asks to be added: only a node may add itself.
    async fn admit(&self, from: &NodeName, body: &[u8]) -> Result<(), MetaError> {
        let node: MetaNode = decode(body)
            .map_err(|e| MetaError::Membership(format!("malformed join request: {e}")))?;
        if node.name != from.as_str() {
            return Err(MetaError::Membership(format!(
                "{from} asked to add {}: a node can only add itself",
                node.name
            )));
        }
        self.handle().add_member(node_id(&node.name), node).await
    }
}

fn alone(local: &MetaNode) -> BTreeMap<u64, MetaNode> {
    BTreeMap::from([(node_id(&local.name), local.clone())])
}

async fn open(
    peers: &Peers,
    local: &MetaNode,
    path: &Path,
    config: &MetaConfig,
) -> Result<MetaHandle, MetaError> {
    let timeout = config.write_timeout + Duration::from_secs(1);
    let transport = Arc::new(PeersTransport::new(peers.clone(), timeout));
    MetaHandle::start(node_id(&local.name), path, config.clone(), transport).await
}

/// Answers raft and join requests from peers with whatever member is current (a weak link: the
/// peer handlers must not keep a stopped node's raft alive).
fn register(inner: &Arc<Inner>) {
    let weak = Arc::downgrade(inner);
    inner.peers.on_call(
        RAFT_TOPIC,
        Arc::new(move |_from, body| {
            let member = upgrade(&weak);
            Box::pin(async move {
                let handle = member?.handle();
                let request = decode_request(&body).map_err(|e| e.to_string())?;
                let reply = handle.serve(request).await;
                encode_reply(&reply).map_err(|e| e.to_string())
            })
        }),
    );
    answer_membership(inner, JOIN_TOPIC, |member, from, body| async move {
        member.admit(&from, &body).await
    });
    answer_membership(inner, INVITE_TOPIC, |member, from, _body| async move {
        member.accept_invitation(&from).await
    });
    // A node can only ask for its own removal.
    answer_membership(inner, LEAVE_TOPIC, |member, from, _body| async move {
        member.remove(&from).await
    });
}

/// Answers `topic` requests with `answer(member, from, body)`, encoded.
fn answer_membership<F, Fut>(inner: &Arc<Inner>, topic: &str, answer: F)
where
    F: Fn(MetaMember, NodeName, Vec<u8>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), MetaError>> + Send + 'static,
{
    let weak = Arc::downgrade(inner);
    let answer = Arc::new(answer);
    inner.peers.on_call(
        topic,
        Arc::new(move |from, body| {
            let (member, answer) = (upgrade(&weak), Arc::clone(&answer));
            Box::pin(async move { encode(&answer(member?, from, body).await) })
        }),
    );
}

fn upgrade(weak: &Weak<Inner>) -> Result<MetaMember, String> {
    weak.upgrade()
        .map(|inner| MetaMember { inner })
        .ok_or_else(|| "cluster metadata has stopped".to_owned())
}

/// Waits (up to 10 s) until no open database holds `path` any more.
async fn released(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while path.exists() && redb::Database::open(path).is_err() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[cfg(test)]
#[path = "member_tests.rs"]
mod tests;
