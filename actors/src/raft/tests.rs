//! Multi-node tests of the metadata raft over the in-process transport, in paused (virtual) time.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{Command, LocalNet, MetaConfig, MetaError, MetaHandle, MetaNode, NodeId, Response};
use crate::{KeyDigest, Scope};

const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

fn config() -> MetaConfig {
    MetaConfig {
        heartbeat: Duration::from_millis(50),
        election: (Duration::from_millis(150), Duration::from_millis(300)),
        write_timeout: WRITE_TIMEOUT,
        snapshot_after: 1000,
        keep_logs: 1000,
        confirm_timeout: Duration::from_millis(500),
    }
}

fn member(id: NodeId) -> MetaNode {
    MetaNode::new(
        &format!("N{id}@127.0.0.1"),
        &format!("127.0.0.1:{}", 44050 + id),
    )
}

pub(super) fn add_key(n: u8) -> Command {
    Command::AddKey {
        digest: KeyDigest([n; 32]),
        scope: Scope::Mgmt,
        expires: None,
        masked: format!("{n}…"),
    }
}

fn delete_key(n: u8) -> Command {
    Command::DeleteKey {
        digest: KeyDigest([n; 32]),
        scope: Scope::Mgmt,
    }
}

fn has_key(handle: &MetaHandle, n: u8) -> bool {
    handle
        .state()
        .key(&KeyDigest([n; 32]), Scope::Mgmt)
        .is_some()
}

/// Waits (in virtual time) until `condition` holds; fails after 30 virtual seconds.
pub(super) async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An in-process cluster whose nodes keep their `meta.redb` files in one temporary directory.
pub(super) struct Cluster {
    dir: tempfile::TempDir,
    pub(super) net: Arc<LocalNet>,
    config: MetaConfig,
    nodes: BTreeMap<NodeId, MetaHandle>,
}

impl Cluster {
    /// Starts nodes `1..=size` with `config`; `voters` of them form the initial cluster.
    pub(super) async fn start(size: NodeId, voters: NodeId, config: MetaConfig) -> Self {
        let mut cluster = Self {
            dir: tempfile::tempdir().expect("temp dir"),
            net: LocalNet::new(),
            config,
            nodes: BTreeMap::new(),
        };
        for id in 1..=size {
            cluster.start_node(id).await;
        }
        let members = (1..=voters).map(|id| (id, member(id))).collect();
        cluster
            .node(1)
            .initialize(members)
            .await
            .expect("initialize");
        let voters: Vec<NodeId> = (1..=voters).collect();
        cluster.leader_of(&voters).await;
        cluster
    }

    fn path(&self, id: NodeId) -> PathBuf {
        self.dir.path().join(format!("meta-{id}.redb"))
    }

    pub(super) async fn start_node(&mut self, id: NodeId) {
        let path = self.path(id);
        let transport = self.net.transport(id);
        let handle = MetaHandle::start(id, &path, self.config.clone(), transport)
            .await
            .expect("node starts");
        self.net.register(handle.clone());
        self.nodes.insert(id, handle);
    }

    /// Stops node `id` and waits until its file is free again.
    pub(super) async fn stop_node(&mut self, id: NodeId) {
        self.net.unregister(id);
        if let Some(handle) = self.nodes.remove(&id) {
            handle.shutdown().await;
        }
        let path = self.path(id);
        until("the stopped node released its file", || {
            redb::Database::open(&path).is_ok()
        })
        .await;
    }

    pub(super) fn node(&self, id: NodeId) -> &MetaHandle {
        self.nodes.get(&id).expect("node exists")
    }

    /// The leader every running node agrees on.
    pub(super) async fn leader(&self) -> NodeId {
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        self.leader_of(&ids).await
    }

    /// The leader nodes `ids` agree on.
    pub(super) async fn leader_of(&self, ids: &[NodeId]) -> NodeId {
        let mut leader = None;
        until("one leader is elected", || {
            let seen: Vec<_> = ids.iter().map(|id| self.node(*id).leader()).collect();
            leader = seen.first().copied().flatten();
            leader.is_some() && seen.iter().all(|l| *l == leader)
        })
        .await;
        leader.expect("a leader")
    }

    fn follower(&self, leader: NodeId) -> NodeId {
        *self
            .nodes
            .keys()
            .find(|id| **id != leader)
            .expect("a follower")
    }
}

#[tokio::test(start_paused = true)]
async fn three_nodes_elect_a_leader_and_replicate_keys() {
    let cluster = Cluster::start(3, 3, config()).await;
    let leader = cluster.node(cluster.leader().await);
    assert_eq!(leader.write(add_key(1)).await, Ok(Response::Done));
    assert_eq!(
        leader.write(add_key(1)).await,
        Ok(Response::KeyExists { scope: Scope::Mgmt })
    );
    until("every node has the key", || {
        (1..=3).all(|id| has_key(cluster.node(id), 1))
    })
    .await;
    assert_eq!(leader.write(delete_key(1)).await, Ok(Response::Done));
    for id in 1..=3 {
        assert!(
            !has_key(cluster.node(id), 1),
            "node {id} refuses once delete answered"
        );
    }
    assert_eq!(
        leader.write(delete_key(1)).await,
        Ok(Response::KeyNotFound { scope: Scope::Mgmt })
    );
    assert_eq!(leader.state().members().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_write_on_a_follower_is_forwarded_and_applied_everywhere_before_it_answers() {
    let cluster = Cluster::start(3, 3, config()).await;
    let follower = cluster.node(cluster.follower(cluster.leader().await));
    let set = Command::SetConfig {
        key: "max_inflight_messages".into(),
        value: "42".into(),
    };
    assert_eq!(follower.write(set).await, Ok(Response::Done));
    assert_eq!(follower.state().config("max_inflight_messages"), Some("42"));
    assert_eq!(follower.write(add_key(2)).await, Ok(Response::Done));
    assert!(has_key(follower, 2));
    for id in 1..=3 {
        assert!(
            has_key(cluster.node(id), 2),
            "node {id} accepts once add answered"
        );
    }
    assert_eq!(follower.write(delete_key(2)).await, Ok(Response::Done));
    for id in 1..=3 {
        assert!(
            !has_key(cluster.node(id), 2),
            "node {id} refuses once delete answered"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn without_quorum_writes_fail_in_time_and_reads_keep_working() {
    let cluster = Cluster::start(3, 3, config()).await;
    let leader_id = cluster.leader().await;
    let leader = cluster.node(leader_id);
    assert_eq!(leader.write(add_key(3)).await, Ok(Response::Done));
    until("every node has the key", || {
        (1..=3).all(|id| has_key(cluster.node(id), 3))
    })
    .await;
    let others: Vec<NodeId> = (1..=3).filter(|id| *id != leader_id).collect();
    for id in &others {
        cluster.net.cut_off(*id);
    }
    for id in [leader_id, others[0]] {
        let started = Instant::now();
        let answer = cluster.node(id).write(add_key(4)).await;
        assert_eq!(answer, Err(MetaError::NoQuorum), "write on node {id}");
        assert!(started.elapsed() <= WRITE_TIMEOUT + Duration::from_millis(100));
        assert!(has_key(cluster.node(id), 3), "local reads still answer");
    }
    assert!(MetaError::NoQuorum.to_string().contains("no quorum"));
    for id in &others {
        cluster.net.heal(*id);
    }
    let leader = cluster.node(cluster.leader().await);
    // The timed-out write may or may not have been committed by the old leader.
    let again = leader.write(add_key(4)).await;
    assert!(
        matches!(again, Ok(Response::Done | Response::KeyExists { .. })),
        "{again:?}"
    );
    until("every node has the second key", || {
        (1..=3).all(|id| has_key(cluster.node(id), 4))
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_node_cut_off_catches_up_when_healed() {
    let cluster = Cluster::start(3, 3, config()).await;
    let leader_id = cluster.leader().await;
    let lagging = cluster.follower(leader_id);
    cluster.net.cut_off(lagging);
    for n in 10..20 {
        assert_eq!(
            cluster.node(leader_id).write(add_key(n)).await,
            Ok(Response::Done)
        );
    }
    assert!(!has_key(cluster.node(lagging), 10));
    cluster.net.heal(lagging);
    until("the healed node has every key", || {
        (10..20).all(|n| has_key(cluster.node(lagging), n))
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn not_initialized_is_not_ready() {
    let dir = tempfile::tempdir().expect("temp dir");
    let net = LocalNet::new();
    let alone = MetaHandle::start(1, &dir.path().join("meta.redb"), config(), net.transport(1))
        .await
        .expect("starts");
    assert_eq!(alone.write(add_key(1)).await, Err(MetaError::NotReady));
    assert!(alone.state().members().is_empty());
    alone.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn after_the_leader_stops_the_others_elect_one_and_keep_writing() {
    let mut cluster = Cluster::start(3, 3, config()).await;
    let old = cluster.leader().await;
    assert_eq!(
        cluster.node(old).write(add_key(5)).await,
        Ok(Response::Done)
    );
    cluster.stop_node(old).await;
    let others: Vec<NodeId> = (1..=3).filter(|id| *id != old).collect();
    until("the others elect a new leader", || {
        others
            .iter()
            .all(|id| matches!(cluster.node(*id).leader(), Some(l) if l != old))
    })
    .await;
    let new = cluster.leader().await;
    let follower = cluster.node(cluster.follower(new));
    assert_eq!(follower.write(delete_key(5)).await, Ok(Response::Done));
    assert_eq!(follower.write(add_key(6)).await, Ok(Response::Done));
    assert!(!has_key(cluster.node(new), 5) && has_key(cluster.node(new), 6));
}
