//! `cluster leave node=… --kill_sessions` of a running node, across three real `vmq-node`
//! processes: its persistent sessions move to the remaining nodes, it leaves the cluster (both
//! others drop it at once and keep a metadata quorum) and stops with exit code 0; a second leave
//! meanwhile is refused; asked on the leaving node itself, over `vmq-admin`, it works the same;
//! restarted on its data dir, the node is a cluster of its own.

use std::path::Path;
use std::time::Instant;

use rumqttc::{Event, Packet, QoS};

use crate::cluster_keys::{create, until_works};
use crate::cluster_sessions::{closed, cluster, connect, get, publish, row, show_until};
use crate::cluster_support::{all, Member};
use crate::mqtt_support::{disconnect, events_until, wait_for, V4Client};
use crate::process::{admin_in, DEADLINE};

/// Runs blocking `work` (process waits, blocking HTTP) off the runtime's threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.expect("ran")
}

/// Polls `check` until it holds; panics with `what` after `DEADLINE`.
fn poll(what: &str, check: impl Fn() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < DEADLINE, "{what} after {DEADLINE:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The nodes listed in the member file of the node whose data is in `data`.
fn stored_members(data: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(data.join("cluster_members.json")).expect("member file");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    json["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["node"].as_str().expect("node").to_owned())
        .collect()
}

/// A persistent session of `id` on `member` subscribed to `topic`, then disconnected.
async fn persistent(member: &Member, id: &str, topic: &str) {
    let (mut client, _) = connect(member, id, false).await;
    client
        .client
        .subscribe(topic, QoS::AtLeastOnce)
        .await
        .expect("subscribe queued");
    wait_for(&mut client.events, "SUBACK", |e| {
        matches!(e, Ok(Event::Incoming(Packet::SubAck(_))))
    })
    .await;
    disconnect(client).await;
}

/// The left node's process stops by itself, with exit code 0; its member file lists it alone.
async fn stops_alone(mut left: Member) -> Member {
    blocking(move || {
        let status = left.process.wait_exit();
        assert_eq!(status.code(), Some(0), "{} exited: {status}", left.name);
        assert_eq!(stored_members(&left.process.data_dir), [left.node()]);
        left
    })
    .await
}

/// The two others heard the farewell, show only each other, no longer store the left node, and
/// keep a metadata quorum: a key created on the second opens the first.
async fn the_rest_carry_on(first: Member, second: Member, left: String) -> (Member, Member) {
    blocking(move || {
        let (mut first, mut second) = (first, second);
        let rest = all(&[&first, &second], true);
        for member in [&mut first, &mut second] {
            let line = member.process.wait_for_line("cluster member left");
            assert!(line.contains(&left), "{line}");
            member.wait_show(&rest, DEADLINE);
            let data = member.process.data_dir.clone();
            poll("the member file still lists the left node", || {
                !stored_members(&data).contains(&left)
            });
        }
        let key = create(&second);
        until_works(&first, &key, DEADLINE);
        (first, second)
    })
    .await
}

/// The queued message with `payload` arrives.
async fn receives(client: &mut V4Client, payload: &'static str) {
    events_until(
        &mut client.events,
        "the queued message",
        |e| matches!(e, Ok(Event::Incoming(Packet::Publish(p))) if p.payload.as_ref() == payload.as_bytes()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_leaving_with_kill_sessions_moves_its_sessions_leaves_and_stops() {
    let root = tempfile::tempdir().expect("data root");
    let [n1, n2, n3] = cluster(root.path(), "sl").await;
    persistent(&n3, "q1", "q/t").await;
    let (mut publisher, _) = connect(&n3, "q3", true).await;
    publish(&mut publisher, "q/t", "queued").await;
    let (mut q2, _) = connect(&n3, "q2", false).await;
    let on_n3 = [row("q1", &n3), row("q2", &n3), row("q3", &n3)];
    show_until(&n1, "--client_id&--node", &on_n3).await;

    // Asked from n1 and, at the same time, from n2: one leave runs, the other is refused.
    let leave = format!("/api/v1/cluster/leave?node={}&--kill_sessions", n3.node());
    let (from_n1, from_n2) = tokio::join!(get(&n1, &leave), get(&n2, &leave));
    let (done, refused): (Vec<_>, Vec<_>) = [from_n1, from_n2]
        .into_iter()
        .partition(|(status, _)| *status == 200);
    assert_eq!((done.len(), refused.len()), (1, 1), "{done:?} {refused:?}");
    // Mostly `migration already started` (503); 404 if n3 had left the asking node's list.
    assert!(matches!(refused[0].0, 503 | 404), "{refused:?}");
    let body = &done[0].1;
    assert!(
        body.contains("Migrated 2/2 queues and 1/1 messages") && body.contains("Done"),
        "{body}"
    );
    closed(&mut q2, "q2 closed").await;
    closed(&mut publisher, "q3 closed").await;

    let n3 = stops_alone(n3).await;
    let (n1, n2) = the_rest_carry_on(n1, n2, n3.node()).await;
    // In turn to the remaining nodes, offline; the clean session is gone.
    let moved = [
        format!("client_id=q1,is_online=false,node={}", n1.node()),
        format!("client_id=q2,is_online=false,node={}", n2.node()),
    ];
    show_until(&n2, "--client_id&--node&--is_online", &moved).await;
    // The queue moved with its message: q1 gets it, here through a takeover from n1.
    let (mut q1, present) = connect(&n2, "q1", false).await;
    assert!(present);
    receives(&mut q1, "queued").await;
    // No longer a member: leaving it again is the answer for an unknown node.
    let (status, body) = get(&n1, &leave).await;
    assert_eq!(status, 404, "{body}");

    // Restarted on its data dir, it is a cluster of its own, with a metadata quorum of its own.
    let data = root.path().to_path_buf();
    let n3 = blocking(move || Member::start(&data, "sl3", "")).await;
    let (n3, n1) = blocking(move || {
        assert_eq!(n3.show(), [(n3.node(), true)]);
        create(&n3);
        assert_eq!(n1.show(), all(&[&n1, &n2], true));
        (n3, n1)
    })
    .await;
    drop((n1, n3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_asked_to_leave_itself_with_kill_sessions_leaves_and_stops() {
    let root = tempfile::tempdir().expect("data root");
    // n1 leaves: the others joined its metadata cluster, so it is likely the raft leader.
    let [n1, n2, n3] = cluster(root.path(), "sm").await;
    persistent(&n1, "keeper", "keep/t").await;
    show_until(&n3, "--client_id&--node", &[row("keeper", &n1)]).await;

    let cwd = tempfile::tempdir().expect("cwd");
    let node = format!("node={}", n1.node());
    let args = ["cluster", "leave", node.as_str(), "--kill_sessions"];
    let out = admin_in(cwd.path(), &n1.process.data_dir, &args).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout, "Migrated 1/1 queues and 0/0 messages\nDone\n",
        "{out:?}"
    );

    let n1 = stops_alone(n1).await;
    let (n2, n3) = the_rest_carry_on(n2, n3, n1.node()).await;
    show_until(&n3, "--client_id&--node", &[row("keeper", &n2)]).await;
    drop((n1, n2, n3));
}
