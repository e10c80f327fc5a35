//! Tests of the peer service: two nodes on a real fabric in this process call, cast and
//! broadcast; unknown topics, unknown nodes and frames without a sender are refused.

use std::time::{Duration, Instant};

use super::*;
use crate::cluster::{ClusterHandle, ClusterSettings};
use crate::supervisor::SupervisorHandle;

const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// Process groups are global to the process: fabric tests that ran at once would see each
/// other's nodes, so they take turns.
static ONE_FABRIC_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn start(name: &str, dir: &std::path::Path) -> (ClusterHandle, SupervisorHandle) {
    let (supervisor, _join) = SupervisorHandle::start().await.expect("supervisor");
    let settings = ClusterSettings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        cookie: "peer-tests".to_owned(),
        members_file: dir.join(format!("{name}.json")),
        tls: None,
    };
    let node = NodeName::parse(&format!("{name}@127.0.0.1")).expect("name");
    let cluster = ClusterHandle::start(node, settings, &supervisor)
        .await
        .expect("start");
    cluster.set_local_running(true).await.expect("running");
    (cluster, supervisor)
}

/// Two joined nodes, each seeing the other's peer service, and never itself.
async fn pair(a: &str, b: &str) -> (ClusterHandle, ClusterHandle, Vec<SupervisorHandle>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (first, s1) = start(a, dir.path()).await;
    let (second, s2) = start(b, dir.path()).await;
    let address = format!("127.0.0.1:{}", second.listen_addr().port());
    first
        .join(second.local().clone(), address)
        .await
        .expect("answer")
        .expect("joined");
    let deadline = Instant::now() + Duration::from_secs(10);
    // A pair from an earlier test may still be closing its sessions: only "contains" holds.
    while !(first.peers().connected().contains(second.local())
        && second.peers().connected().contains(first.local()))
    {
        assert!(Instant::now() < deadline, "peer services never met");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!first.peers().connected().contains(first.local()));
    (first, second, vec![s1, s2])
}

fn echo(peers: &Peers) {
    let name = peers.local().to_string();
    peers.on_call(
        "echo",
        Arc::new(move |from, body| {
            let name = name.clone();
            Box::pin(async move {
                let mut answer = format!("{name} heard {from}: ").into_bytes();
                answer.extend(body);
                Ok(answer)
            })
        }),
    );
    peers.on_call(
        "refuse",
        Arc::new(|_, _| Box::pin(async { Err("not today".to_owned()) })),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_call_each_other_and_unknown_topics_are_refused() {
    let _turn = ONE_FABRIC_AT_A_TIME.lock().await;
    let (a, b, supervisors) = pair("PeerA", "PeerB").await;
    echo(b.peers());
    let reply = a
        .peers()
        .call(b.local(), "echo", b"hi".to_vec(), ANSWER_WITHIN)
        .await
        .expect("answer");
    assert_eq!(reply, b"PeerB@127.0.0.1 heard PeerA@127.0.0.1: hi");
    let refused = a
        .peers()
        .call(b.local(), "refuse", Vec::new(), ANSWER_WITHIN)
        .await;
    assert!(matches!(refused, Err(PeerError::Refused { ref reason, .. }) if reason == "not today"));
    let unknown = a
        .peers()
        .call(b.local(), "nothing", Vec::new(), ANSWER_WITHIN)
        .await;
    assert!(
        matches!(unknown, Err(PeerError::Refused { ref reason, .. }) if reason.contains("no handler"))
    );
    let stranger = NodeName::parse("Nobody@127.0.0.1").expect("name");
    let missing = a
        .peers()
        .call(&stranger, "echo", Vec::new(), ANSWER_WITHIN)
        .await;
    assert_eq!(
        missing,
        Err(PeerError::NotConnected("Nobody@127.0.0.1".into()))
    );
    supervisors.iter().for_each(SupervisorHandle::shutdown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn casts_arrive_in_order_and_broadcast_reaches_every_peer() {
    let _turn = ONE_FABRIC_AT_A_TIME.lock().await;
    let (a, b, supervisors) = pair("CastA", "CastB").await;
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
    b.peers().on_cast(
        "note",
        Arc::new(move |from, body| {
            let _ = sender.send((from.to_string(), body));
        }),
    );
    for n in 0..100u8 {
        a.peers().cast(b.local(), "note", vec![n]).expect("sent");
    }
    assert!(a.peers().broadcast("note", b"all").contains(b.local()));
    for n in 0..100u8 {
        let (from, body) = tokio::time::timeout(ANSWER_WITHIN, received.recv())
            .await
            .expect("in time")
            .expect("open");
        assert_eq!((from.as_str(), body), ("CastA@127.0.0.1", vec![n]));
    }
    let last = tokio::time::timeout(ANSWER_WITHIN, received.recv()).await;
    assert_eq!(last.expect("in time").expect("open").1, b"all");
    supervisors.iter().for_each(SupervisorHandle::shutdown);
}

#[tokio::test]
async fn the_local_node_answers_directly_and_bad_frames_are_refused() {
    let local = NodeName::parse("Solo@127.0.0.1").expect("name");
    let peers = Peers::new(local.clone());
    echo(&peers);
    let reply = peers
        .call(&local, "echo", b"x".to_vec(), ANSWER_WITHIN)
        .await
        .expect("answer");
    assert_eq!(reply, b"Solo@127.0.0.1 heard Solo@127.0.0.1: x");
    use ractor::Message as _;
    let no_sender = SerializedMessage::Cast {
        variant: "echo".into(),
        args: Vec::new(),
        metadata: None,
    };
    assert!(PeerMessage::deserialize(no_sender).is_err());
    let bad_sender = SerializedMessage::Cast {
        variant: "echo".into(),
        args: Vec::new(),
        metadata: Some(b"\xff no name".to_vec()),
    };
    assert!(PeerMessage::deserialize(bad_sender).is_err());
    assert_eq!(decode_reply(Vec::new()), Err("malformed reply".into()));
    assert_eq!(
        decode_reply(encode_reply(Ok(b"ok".to_vec()))),
        Ok(b"ok".to_vec())
    );
    assert_eq!(
        decode_reply(encode_reply(Err("no".into()))),
        Err("no".into())
    );
}
