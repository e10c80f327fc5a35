//! API keys on the replicated metadata, across real `vmq-node` processes: a key created on one
//! node works on every node, a deleted one nowhere once `delete` answered, a follower's write is
//! forwarded, a restarted node catches up, and a cluster without a quorum refuses writes (503)
//! while it keeps authenticating.

use std::time::{Duration, Instant};

use crate::cluster_support::{all, three_joined, Member};
use crate::process::{DEADLINE, KEY};
use crate::raw::blocking_get;
use crate::support::DONE;

const SHOW: &str = "/api/v1/cluster/show";

/// `api-key create` on `member`; returns the key.
pub(crate) fn create(member: &Member) -> String {
    let (status, body) = member.get("/api/v1/api-key/create");
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    json["text"].as_str().expect("a key").to_owned()
}

/// Whether `key` opens `/api/v1` on `member`.
pub(crate) fn works(member: &Member, key: &str) -> bool {
    let (status, body) = blocking_get(member.http, SHOW, key, DEADLINE);
    assert!(status == 200 || status == 401, "{status} {body}");
    status == 200
}

/// Polls until `key` works on `member`; returns how long it took.
pub(crate) fn until_works(member: &Member, key: &str, within: Duration) -> Duration {
    let start = Instant::now();
    while !works(member, key) {
        assert!(
            start.elapsed() < within,
            "the key does not work on {} after {within:?}",
            member.name
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    start.elapsed()
}

#[test]
fn keys_created_or_deleted_on_one_node_are_honoured_on_every_node() {
    let root = tempfile::tempdir().expect("data root");
    let n1 = Member::start(root.path(), "k1", "");
    let n2 = Member::start(root.path(), "k2", "");
    // A key n2 had before it joined is merged into the cluster.
    let before_join = create(&n2);
    assert_eq!(n2.join(&n1), (200, DONE.to_owned()));
    let n3 = Member::start(root.path(), "k3", "");
    assert_eq!(n3.join(&n2), (200, DONE.to_owned()));
    for member in [&n1, &n2, &n3] {
        assert!(works(member, KEY), "the shared test key on {}", member.name);
        assert!(
            works(member, &before_join),
            "n2's old key on {}",
            member.name
        );
    }

    // Created on the leader, and on a follower (forwarded): usable everywhere once answered.
    for creator in [&n1, &n3] {
        let key = create(creator);
        for member in [&n1, &n2, &n3] {
            assert!(
                works(member, &key),
                "created on {}, refused on {}",
                creator.name,
                member.name
            );
        }
        let (status, body) = n2.get(&format!("/api/v1/api-key/delete?key={key}"));
        assert_eq!((status, body.as_str()), (200, DONE));
        for member in [&n1, &n2, &n3] {
            assert!(
                !works(member, &key),
                "deleted on k2, accepted on {}",
                member.name
            );
        }
    }
    let (status, _) = n1.get(&format!("/api/v1/api-key/delete?key={before_join}"));
    assert_eq!(status, 200);
    let (status, body) = n3.get(&format!("/api/v1/api-key/delete?key={before_join}"));
    assert_eq!(status, 404, "{body}");
}

#[test]
fn a_killed_node_catches_up_on_keys_created_while_it_was_down() {
    let root = tempfile::tempdir().expect("data root");
    let [n1, n2, n3] = three_joined(root.path(), "r", "");
    drop(n3); // SIGKILL
    let key = create(&n1);
    assert!(works(&n2, &key));
    let n3 = Member::start(root.path(), "r3", "");
    until_works(&n3, &key, DEADLINE);
    let everyone = all(&[&n1, &n2, &n3], true);
    n3.wait_show(&everyone, DEADLINE);
    // It is a voter again: a write from it is answered.
    let from_n3 = create(&n3);
    assert!(works(&n1, &from_n3));
}

#[test]
fn without_a_quorum_writes_answer_503_and_old_keys_still_work() {
    let root = tempfile::tempdir().expect("data root");
    let n1 = Member::start(root.path(), "q1", "");
    let n2 = Member::start(root.path(), "q2", "");
    assert_eq!(n2.join(&n1), (200, DONE.to_owned()));
    let key = create(&n2);
    assert!(works(&n1, &key));
    drop(n2); // SIGKILL: one of two voters left
    let (status, body) = n1.get("/api/v1/api-key/create");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("no quorum"), "{body}");
    let (status, body) = n1.get(&format!("/api/v1/api-key/delete?key={key}"));
    assert_eq!(status, 503, "{body}");
    assert!(
        works(&n1, KEY) && works(&n1, &key),
        "local keys keep working"
    );
    let (status, body) = n1.get("/api/v1/api-key/show");
    assert_eq!(status, 200, "{body}");
    n1.serves_mqtt();
}

#[test]
fn set_all_applies_a_value_on_every_node_and_a_restarted_one_takes_it_too() {
    let root = tempfile::tempdir().expect("data root");
    let [n1, n2, n3] = three_joined(root.path(), "c", "");
    let shown = |member: &Member| {
        let (status, body) = member.get("/api/v1/show/min_apikey_length");
        assert_eq!(status, 200, "{body}");
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        json["table"][0]["min_apikey_length"]
            .as_str()
            .expect("a value")
            .to_owned()
    };
    let (status, body) = n2.get("/api/v1/set?min_apikey_length=nope&--all");
    assert_eq!(status, 400, "{body}");
    let (status, body) = n2.get("/api/v1/set?min_apikey_length=40&--all");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Node Down/Unreachable"), "{body}");
    assert_eq!(shown(&n2), "40");
    let start = Instant::now();
    for member in [&n1, &n3] {
        while shown(member) != "40" {
            assert!(start.elapsed() < DEADLINE, "not set on {}", member.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    drop(n3); // SIGKILL: it restarts with vernemq.conf's value, then takes the cluster's
    let n3 = Member::start(root.path(), "c3", "");
    while shown(&n3) != "40" {
        assert!(
            start.elapsed() < DEADLINE * 2,
            "not set on the restarted node"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn joins_run_on_one_member_make_one_metadata_cluster_and_two_clusters_are_not_merged() {
    let root = tempfile::tempdir().expect("data root");
    let [a, b, c] = ["a", "b", "c"].map(|name| Member::start(root.path(), name, ""));
    // a joins b's cluster; then a, in a cluster of two, has c (alone) join it.
    assert_eq!(a.join(&b), (200, DONE.to_owned()));
    assert_eq!(a.join(&c), (200, DONE.to_owned()));
    let everyone = all(&[&a, &b, &c], true);
    for member in [&a, &b, &c] {
        member.wait_show(&everyone, DEADLINE);
    }
    let from_c = create(&c);
    until_works(&a, &from_c, DEADLINE);
    until_works(&b, &from_c, DEADLINE);
    let from_b = create(&b);
    until_works(&c, &from_b, DEADLINE);

    // Two clusters of several nodes: refused, and each keeps its own metadata.
    let [d, e] = ["d", "e"].map(|name| Member::start(root.path(), name, ""));
    assert_eq!(e.join(&d), (200, DONE.to_owned()));
    let (status, body) = a.join(&d);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("cannot be merged"), "{body}");
    let from_a = create(&a);
    until_works(&c, &from_a, DEADLINE);
    assert!(!works(&d, &from_a), "d is in another metadata cluster");
}
