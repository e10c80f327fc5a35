//! Tests of restarts from `meta.redb`, snapshots, membership changes and hostile requests.

use std::sync::Arc;
use std::time::Duration;

use openraft::error::RPCError;
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use openraft::{CommittedLeaderId, LogId, SnapshotMeta, Vote};

use super::network::Network;
use super::tests::{add_key, until, Cluster};
use super::{
    decode_request, MetaConfig, MetaNode, NodeId, RaftReply, RaftRequest, RaftTransport, Response,
    TransportError, TransportFuture,
};
use crate::{KeyDigest, Scope};

fn config() -> MetaConfig {
    MetaConfig {
        heartbeat: Duration::from_millis(50),
        election: (Duration::from_millis(150), Duration::from_millis(300)),
        write_timeout: Duration::from_secs(2),
        snapshot_after: 5,
        keep_logs: 0,
        confirm_timeout: Duration::from_millis(500),
    }
}

fn has_key(cluster: &Cluster, id: NodeId, n: u8) -> bool {
    cluster
        .node(id)
        .state()
        .key(&KeyDigest([n; 32]), Scope::Mgmt)
        .is_some()
}

#[tokio::test(start_paused = true)]
async fn a_restarted_node_resumes_vote_log_and_state_from_its_file() {
    let mut cluster = Cluster::start(3, 3, config()).await;
    let leader = cluster.leader().await;
    let restarted = if leader == 3 { 2 } else { 3 };
    for n in 1..=3 {
        assert_eq!(
            cluster.node(leader).write(add_key(n)).await,
            Ok(Response::Done)
        );
    }
    until("the node to restart has every key", || {
        (1..=3).all(|n| has_key(&cluster, restarted, n))
    })
    .await;
    let before = cluster.node(restarted).raft().metrics().borrow().clone();
    let state_before = cluster.node(restarted).state();
    cluster.stop_node(restarted).await;
    // Cut off while it starts: whatever it knows now comes from its file.
    cluster.net.cut_off(restarted);
    cluster.start_node(restarted).await;
    let node = cluster.node(restarted);
    assert_eq!(node.state(), state_before);
    // Cut off, it cannot learn entries or votes from peers: these come from its file.
    let metrics = node.raft().metrics();
    until("the restarted node reports its log and vote", || {
        let after = metrics.borrow();
        after.last_log_index == before.last_log_index && after.vote >= before.vote
    })
    .await;
    cluster.net.heal(restarted);
    assert_eq!(
        cluster.node(leader).write(add_key(4)).await,
        Ok(Response::Done)
    );
    until("the restarted node has the new key", || {
        has_key(&cluster, restarted, 4)
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_node_down_past_the_purged_log_catches_up_by_snapshot() {
    let mut cluster = Cluster::start(3, 3, config()).await;
    let leader = cluster.leader().await;
    let down = if leader == 3 { 2 } else { 3 };
    let down_last = cluster.node(down).raft().metrics().borrow().last_log_index;
    cluster.stop_node(down).await;
    for n in 1..=20 {
        assert_eq!(
            cluster.node(leader).write(add_key(n)).await,
            Ok(Response::Done)
        );
    }
    until("the leader purged past the down node's log", || {
        let purged = cluster.node(leader).raft().metrics().borrow().purged;
        purged.map(|id| id.index) > down_last
    })
    .await;
    cluster.start_node(down).await;
    until("the returning node has every key", || {
        (1..=20).all(|n| has_key(&cluster, down, n))
    })
    .await;
    let snapshot = cluster.node(down).raft().metrics().borrow().snapshot;
    assert!(snapshot.is_some(), "installed a snapshot");
    assert_eq!(cluster.node(down).state().members().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn members_are_added_and_removed_through_a_follower() {
    let cluster = Cluster::start(3, 2, config()).await;
    let leader = cluster.leader_of(&[1, 2]).await;
    let follower = if leader == 1 { 2 } else { 1 };
    let third = MetaNode::new("N3@127.0.0.1", "127.0.0.1:44053");
    assert_eq!(
        cluster.node(follower).add_member(3, third.clone()).await,
        Ok(())
    );
    assert_eq!(
        cluster.node(follower).state().members().get(&3),
        Some(&third)
    );
    assert_eq!(
        cluster.node(leader).write(add_key(9)).await,
        Ok(Response::Done)
    );
    until("the new member has the key", || has_key(&cluster, 3, 9)).await;
    assert_eq!(cluster.node(follower).remove_member(3).await, Ok(()));
    assert_eq!(cluster.node(follower).state().members().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn garbage_and_mismatched_requests_are_answered_without_panic() {
    let cluster = Cluster::start(3, 3, config()).await;
    let leader = cluster.leader().await;
    assert_eq!(
        cluster.node(leader).write(add_key(1)).await,
        Ok(Response::Done)
    );
    let target = cluster.node(if leader == 3 { 2 } else { 3 });
    let state = target.state();
    assert!(decode_request(b"").is_err());
    assert!(decode_request(b"\xa1\x63xyz\xff").is_err());
    assert!(decode_request(&[0x9f; 64]).is_err());

    // Entries that do not follow the log, from a stale leader of term 0.
    let stale = AppendEntriesRequest {
        vote: Vote::new_committed(0, 99),
        prev_log_id: Some(LogId::new(CommittedLeaderId::new(0, 99), 1_000)),
        entries: Vec::new(),
        leader_commit: Some(LogId::new(CommittedLeaderId::new(0, 99), 2_000)),
    };
    let reply = target.serve(RaftRequest::AppendEntries(stale)).await;
    assert!(matches!(reply, RaftReply::AppendEntries(_)));

    // A snapshot of garbage bytes from a "leader" that is not one.
    let meta = SnapshotMeta {
        last_log_id: Some(LogId::new(CommittedLeaderId::new(0, 99), 5)),
        last_membership: Default::default(),
        snapshot_id: "bogus".into(),
    };
    let bogus = InstallSnapshotRequest {
        vote: Vote::new_committed(0, 99),
        meta,
        offset: 0,
        data: b"not a snapshot".to_vec(),
        done: true,
    };
    let reply = target.serve(RaftRequest::InstallSnapshot(bogus)).await;
    assert!(matches!(reply, RaftReply::InstallSnapshot(_)));
    let vote = VoteRequest::new(Vote::new(0, 99), None);
    assert!(matches!(
        target.serve(RaftRequest::Vote(vote)).await,
        RaftReply::Vote(_)
    ));

    assert_eq!(target.state(), state, "nothing changed");
    assert_eq!(
        cluster.node(leader).write(add_key(2)).await,
        Ok(Response::Done)
    );
}

/// A transport whose peers answer every request with the wrong variant, or are unreachable.
struct WrongPeer {
    reachable: bool,
}

impl RaftTransport for WrongPeer {
    fn send(&self, target: NodeId, _node: &MetaNode, _request: RaftRequest) -> TransportFuture {
        let reachable = self.reachable;
        Box::pin(async move {
            if reachable {
                Ok(RaftReply::Applied(true))
            } else {
                Err(TransportError::Unreachable(target))
            }
        })
    }
}

#[tokio::test]
async fn wrong_replies_and_unreachable_peers_are_rpc_errors() {
    let option = RPCOption::new(Duration::from_secs(1));
    let vote = || VoteRequest::new(Vote::new(1, 1), None);
    for reachable in [true, false] {
        let mut network = Network {
            transport: Arc::new(WrongPeer { reachable }),
        };
        let mut peer = network.new_client(2, &MetaNode::default()).await;
        let answer = peer.vote(vote(), option.clone()).await;
        match answer {
            Err(RPCError::Network(_)) => assert!(reachable),
            Err(RPCError::Unreachable(_)) => assert!(!reachable),
            other => panic!("unexpected {other:?}"),
        }
        let append = AppendEntriesRequest {
            vote: Vote::new_committed(1, 1),
            prev_log_id: None,
            entries: Vec::new(),
            leader_commit: None,
        };
        assert!(peer.append_entries(append, option.clone()).await.is_err());
    }
}
