//! Tests of the membership actor and its handle: start, corrupt member file, frames from peers.

use super::*;
use crate::supervisor::SupervisorHandle;

fn settings(dir: &std::path::Path) -> ClusterSettings {
    ClusterSettings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        cookie: "vmq".to_owned(),
        members_file: dir.join("cluster_members.json"),
        tls: None,
    }
}

#[tokio::test]
async fn the_local_node_is_listed_and_becomes_running() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (supervisor, _join) = SupervisorHandle::start().await.expect("supervisor");
    let node = NodeName::parse("VerneMQ@127.0.0.1").expect("name");
    let cluster = ClusterHandle::start(node.clone(), settings(dir.path()), &supervisor)
        .await
        .expect("start");
    assert_ne!(cluster.listen_addr().port(), 0);
    assert!(!cluster.local_running());
    cluster.set_local_running(true).await.expect("answer");
    assert_eq!(
        *cluster.members(),
        vec![Member {
            node,
            running: true
        }]
    );
    assert!(cluster.local_running());
    supervisor.shutdown();
}

#[tokio::test]
async fn a_corrupt_member_file_stops_the_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("cluster_members.json"), "not json").expect("write");
    let (supervisor, _join) = SupervisorHandle::start().await.expect("supervisor");
    let node = NodeName::parse("VerneMQ@127.0.0.1").expect("name");
    let error = ClusterHandle::start(node, settings(dir.path()), &supervisor)
        .await
        .expect_err("corrupt file");
    assert!(matches!(error, ClusterStartError::Members(ref m) if m.contains("corrupt")));
    supervisor.shutdown();
}

#[tokio::test]
async fn frames_a_peer_could_send_never_stop_the_membership_actor() {
    use ractor::message::SerializedMessage;
    let dir = tempfile::tempdir().expect("temp dir");
    let (supervisor, _join) = SupervisorHandle::start().await.expect("supervisor");
    let node = NodeName::parse("VerneMQ@127.0.0.1").expect("name");
    let cluster = ClusterHandle::start(node, settings(dir.path()), &supervisor)
        .await
        .expect("start");
    let actor = cluster.slot.get();
    let frames = [
        ("heartbeat", b"\xff\xfe not json".to_vec()),
        (
            "heartbeat",
            br#"{"from":"x y","address":"","members":[]}"#.to_vec(),
        ),
        ("join", Vec::new()),
        ("stop_listeners", b"\xff".to_vec()),
        ("departed", b"no name".to_vec()),
    ];
    for (variant, args) in frames {
        let frame = SerializedMessage::Cast {
            variant: variant.to_owned(),
            args,
            metadata: None,
        };
        actor.get_cell().send_serialized(frame).expect("delivered");
    }
    cluster
        .set_local_running(true)
        .await
        .expect("still answers");
    assert!(cluster.local_running());
    assert_eq!(cluster.members().len(), 1);
    supervisor.shutdown();
}
