//! Tests of [`MetaMember`] alone: frames from peers, who may add whom, restart, leave.

use super::*;
use crate::cluster::PeerError;
use crate::raft::{encode_request, RaftReply, RaftRequest};

const WAIT: Duration = Duration::from_secs(10);

async fn solo(dir: &Path) -> (NodeName, Peers, MetaMember) {
    let name = NodeName::parse("solo@127.0.0.1").expect("name");
    let peers = Peers::new(name.clone());
    let local = MetaNode::new(name.as_str(), "127.0.0.1:44053");
    let path = dir.join("meta.redb");
    let member = MetaMember::start(peers.clone(), local, path, MetaConfig::default())
        .await
        .expect("starts");
    (name, peers, member)
}

#[tokio::test]
async fn malformed_frames_from_a_peer_are_refused_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (name, peers, member) = solo(dir.path()).await;
    let garbage = b"\xff\x00garbage".to_vec();
    match peers.call(&name, RAFT_TOPIC, garbage.clone(), WAIT).await {
        Err(PeerError::Refused { reason, .. }) => {
            assert!(reason.contains("malformed raft request"), "{reason}");
        }
        other => panic!("garbage answered {other:?}"),
    }
    let answer = peers.call(&name, JOIN_TOPIC, garbage, WAIT).await;
    let decoded: Result<(), MetaError> = decode(&answer.expect("an answer")).expect("CBOR");
    assert!(
        matches!(&decoded, Err(MetaError::Membership(m)) if m.contains("malformed")),
        "{decoded:?}"
    );
    // A well-formed request still works afterwards.
    let request = encode_request(&RaftRequest::AwaitApplied(0)).expect("encodable");
    let reply = peers.call(&name, RAFT_TOPIC, request, WAIT).await;
    let reply = decode_reply_bytes(&reply.expect("an answer"));
    assert!(matches!(reply, RaftReply::Applied(true)), "{reply:?}");
    member.shutdown().await;
}

fn decode_reply_bytes(bytes: &[u8]) -> RaftReply {
    super::super::decode_reply(bytes).expect("a reply")
}

#[tokio::test]
async fn a_node_can_only_add_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (name, peers, member) = solo(dir.path()).await;
    let other = MetaNode::new("intruder@127.0.0.1", "127.0.0.1:1");
    let body = encode(&other).expect("encodable");
    let answer = peers.call(&name, JOIN_TOPIC, body, WAIT).await;
    let decoded: Result<(), MetaError> = decode(&answer.expect("an answer")).expect("CBOR");
    assert!(
        matches!(&decoded, Err(MetaError::Membership(m)) if m.contains("only add itself")),
        "{decoded:?}"
    );
    assert_eq!(member.state().members().len(), 1);
    member.shutdown().await;
}

#[tokio::test]
async fn a_fresh_node_is_a_cluster_of_itself_and_resumes_it_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (name, _peers, member) = solo(dir.path()).await;
    let members = member.state().members().clone();
    assert_eq!(
        members.keys().copied().collect::<Vec<_>>(),
        [node_id(name.as_str())]
    );
    let set = Command::SetConfig {
        key: "max_inflight_messages".into(),
        value: "7".into(),
    };
    assert_eq!(member.write(set).await, Ok(Response::Done));
    member.shutdown().await;
    let (_, _peers, member) = solo(dir.path()).await;
    assert_eq!(member.state().config("max_inflight_messages"), Some("7"));
    assert_eq!(member.state().members(), &members);
    member
        .remove(&NodeName::parse("absent@h").expect("name"))
        .await
        .expect("no-op");
    member.shutdown().await;
}

#[tokio::test]
async fn a_node_alone_has_nothing_to_leave_and_keeps_its_cluster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (name, _peers, member) = solo(dir.path()).await;
    let set = Command::SetConfig {
        key: "max_inflight_messages".into(),
        value: "9".into(),
    };
    assert_eq!(member.write(set.clone()).await, Ok(Response::Done));
    assert_eq!(member.leave().await, Ok(()));
    assert_eq!(
        member.state().members().keys().copied().collect::<Vec<_>>(),
        [node_id(name.as_str())]
    );
    assert_eq!(member.state().config("max_inflight_messages"), Some("9"));
    assert_eq!(member.write(set).await, Ok(Response::Done));
    member.shutdown().await;
}
