//! Routing across real `vmq-node` processes: a publish on one node reaches the subscribers on the
//! others exactly once (QoS 0 and 1), subscriptions come and go, share groups balance across
//! nodes, retained messages are seen from every node, a killed node's peers keep routing while it
//! is down and route to it again once it is back, and a dead node that leaves is forgotten with
//! the publishes kept for it.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use rumqttc::{Event, Packet, QoS};

use crate::cluster_support::{all, three_joined, Member, DOWN_WITHIN};
use crate::mqtt_support::{
    events_until, publish, received, spawn_v4, subscribe_at, v4_publish, V4Client,
};
use crate::process::DEADLINE;
use crate::support::DONE;

/// Payloads starting with this are probes, sent until a route is in place, and not counted.
const PROBE: &str = "probe";

/// Three nodes `n1`…`n3` that admit anonymous clients, joined.
fn three_nodes(root: &Path) -> [Member; 3] {
    three_joined(root, "n", "allow_anonymous = on\n")
}

/// A clean-session MQTT 3.1.1 client of `member`, connected.
pub(crate) async fn connect(member: &Member, id: &str) -> V4Client {
    connect_to(member.mqtt, id).await
}

/// A clean-session MQTT 3.1.1 client of the listener at `addr`, connected.
async fn connect_to(addr: SocketAddr, id: &str) -> V4Client {
    let mut options = rumqttc::MqttOptions::new(id, addr.ip().to_string(), addr.port());
    options.set_keep_alive(Duration::from_secs(30));
    let mut client = spawn_v4(options);
    events_until(&mut client.events, "CONNACK", |e| {
        matches!(e, Ok(Event::Incoming(Packet::ConnAck(_))))
    })
    .await;
    client
}

/// The next PUBLISH payload within `wait`, if any.
async fn next_payload(client: &mut V4Client, wait: Duration) -> Option<String> {
    let until = tokio::time::Instant::now() + wait;
    loop {
        let event = tokio::time::timeout_at(until, client.events.recv()).await;
        let event = event.ok()??;
        if let Some(publish) = v4_publish(&event) {
            return Some(String::from_utf8_lossy(&publish.payload).into_owned());
        }
    }
}

/// Publishes probes to `topic` until every subscriber got one: the routes are in place.
pub(crate) async fn until_routed(
    publisher: &V4Client,
    topic: &str,
    subscribers: &mut [&mut V4Client],
) {
    let start = Instant::now();
    for subscriber in subscribers.iter_mut() {
        loop {
            assert!(
                start.elapsed() < DEADLINE,
                "no route to {topic} after {DEADLINE:?}"
            );
            publish(publisher, topic, QoS::AtMostOnce, false, PROBE).await;
            let got = next_payload(subscriber, Duration::from_millis(200)).await;
            if got.is_some_and(|p| p.starts_with(PROBE)) {
                break;
            }
        }
    }
}

/// The payloads `client` gets (probes left out) up to and including `marker`.
pub(crate) async fn payloads_until(client: &mut V4Client, marker: &str) -> Vec<String> {
    let mut payloads = Vec::new();
    loop {
        let payload = next_payload(client, DEADLINE).await;
        let payload = payload.unwrap_or_else(|| panic!("no {marker}; got {payloads:?}"));
        if payload.starts_with(PROBE) {
            continue;
        }
        let done = payload == marker;
        payloads.push(payload);
        if done {
            return payloads;
        }
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publish_reaches_the_subscribers_on_every_node_exactly_once() {
    let root = tempfile::tempdir().expect("data root");
    let [n1, n2, n3] = three_nodes(root.path());
    let publisher = connect(&n1, "pub").await;
    let mut on2 = connect(&n2, "sub2").await;
    let mut on3 = connect(&n3, "sub3").await;
    subscribe_at(&mut on2, "r/#", QoS::AtLeastOnce).await;
    // Two filters of one client that both match: still one copy.
    subscribe_at(&mut on3, "r/+", QoS::AtLeastOnce).await;
    subscribe_at(&mut on3, "r/#", QoS::AtLeastOnce).await;
    until_routed(&publisher, "r/x", &mut [&mut on2, &mut on3]).await;

    publish(&publisher, "r/a", QoS::AtMostOnce, false, "zero").await;
    publish(&publisher, "r/a", QoS::AtLeastOnce, false, "one").await;
    publish(&publisher, "r/a", QoS::AtLeastOnce, false, "end").await;
    for subscriber in [&mut on2, &mut on3] {
        let got = payloads_until(subscriber, "end").await;
        assert_eq!(got, strings(&["zero", "one", "end"]));
    }
    publish(&publisher, "r/b", QoS::AtLeastOnce, false, "qos1").await;
    assert_eq!(received(&mut on2, "qos1").await, (QoS::AtLeastOnce, false));
    assert_eq!(received(&mut on3, "qos1").await, (QoS::AtLeastOnce, false));

    // A subscription made now (after the join) is routed to; one removed is no longer.
    let mut late = connect(&n3, "late").await;
    subscribe_at(&mut late, "late/+", QoS::AtMostOnce).await;
    until_routed(&publisher, "late/x", &mut [&mut late]).await;
    subscribe_at(&mut on2, "mark", QoS::AtLeastOnce).await;
    until_routed(&publisher, "mark", &mut [&mut on2]).await;
    on2.client
        .unsubscribe("r/#")
        .await
        .expect("unsubscribe queued");
    events_until(&mut on2.events, "UNSUBACK", |e| {
        matches!(e, Ok(Event::Incoming(Packet::UnsubAck(_))))
    })
    .await;
    publish(&publisher, "r/a", QoS::AtLeastOnce, false, "after").await;
    publish(&publisher, "late/a", QoS::AtLeastOnce, false, "late-end").await;
    publish(&publisher, "mark", QoS::AtLeastOnce, false, "mark-end").await;
    assert_eq!(payloads_until(&mut late, "late-end").await, ["late-end"]);
    assert_eq!(payloads_until(&mut on3, "after").await, ["after"]);
    // What n1 sends n2 arrives in order: "after" would have come before the mark.
    assert_eq!(payloads_until(&mut on2, "mark-end").await, ["mark-end"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_share_group_with_members_on_two_nodes_shares_the_messages() {
    let root = tempfile::tempdir().expect("data root");
    let [n1, n2, n3] = three_nodes(root.path());
    let publisher = connect(&n1, "pub").await;
    let mut on2 = connect(&n2, "m2").await;
    let mut on3 = connect(&n3, "m3").await;
    for member in [&mut on2, &mut on3] {
        subscribe_at(member, "$share/g/s/#", QoS::AtLeastOnce).await;
        subscribe_at(member, "s-end", QoS::AtLeastOnce).await;
    }
    until_routed(&publisher, "s-end", &mut [&mut on2, &mut on3]).await;
    // The group's route may lag the plain one: probe it until both members got one.
    until_routed(&publisher, "s/probe", &mut [&mut on2, &mut on3]).await;

    let sent: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
    for payload in &sent {
        publish(&publisher, "s/x", QoS::AtLeastOnce, false, payload).await;
    }
    // Forwards to one node keep their order: duplicates would come before the marker.
    publish(&publisher, "s-end", QoS::AtLeastOnce, false, "end").await;
    let mut got2 = payloads_until(&mut on2, "end").await;
    let mut got3 = payloads_until(&mut on3, "end").await;
    got2.pop();
    got3.pop();
    assert!(!got2.is_empty() && !got3.is_empty(), "{got2:?} {got3:?}");
    let mut all: Vec<String> = got2.into_iter().chain(got3).collect();
    all.sort();
    let mut want = sent.clone();
    want.sort();
    assert_eq!(all, want, "each message to exactly one member");

    // Published where a member is, the group is served there: local members first.
    let from2 = connect(&n2, "pub2").await;
    until_routed(&from2, "s-end", &mut [&mut on3]).await;
    for i in 0..4 {
        publish(&from2, "s/x", QoS::AtLeastOnce, false, &format!("l{i}")).await;
    }
    publish(&from2, "s-end", QoS::AtLeastOnce, false, "end2").await;
    let local = payloads_until(&mut on2, "end2").await;
    assert_eq!(local, strings(&["l0", "l1", "l2", "l3", "end2"]));
    assert_eq!(payloads_until(&mut on3, "end2").await, ["end2"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn mountpoints_stay_separate_across_nodes() {
    let root = tempfile::tempdir().expect("data root");
    let extra = "allow_anonymous = on\nlistener.tcp.tenant = 127.0.0.1:0\n\
                 listener.tcp.tenant.mountpoint = tenant/\n";
    let mut n1 = Member::start(root.path(), "t1", extra);
    let mut n2 = Member::start(root.path(), "t2", extra);
    assert_eq!(n2.join(&n1), (200, DONE.to_owned()));
    let everyone = all(&[&n1, &n2], true);
    n1.wait_show(&everyone, DEADLINE);
    n2.wait_show(&everyone, DEADLINE);
    let listener = |member: &mut Member, name: &str| {
        member
            .process
            .logged_addr(&format!("listener={name} kind="))
    };
    let (plain1, tenant1) = (listener(&mut n1, "default"), listener(&mut n1, "tenant"));
    let (plain2, tenant2) = (listener(&mut n2, "default"), listener(&mut n2, "tenant"));
    let plain_pub = connect_to(plain1, "plain-pub").await;
    let tenant_pub = connect_to(tenant1, "tenant-pub").await;
    let mut plain_sub = connect_to(plain2, "plain-sub").await;
    let mut tenant_sub = connect_to(tenant2, "tenant-sub").await;
    subscribe_at(&mut plain_sub, "m/#", QoS::AtLeastOnce).await;
    subscribe_at(&mut tenant_sub, "m/#", QoS::AtLeastOnce).await;
    until_routed(&plain_pub, "m/x", &mut [&mut plain_sub]).await;
    until_routed(&tenant_pub, "m/x", &mut [&mut tenant_sub]).await;

    publish(&plain_pub, "m/a", QoS::AtLeastOnce, false, "plain").await;
    publish(&tenant_pub, "m/a", QoS::AtLeastOnce, false, "tenant").await;
    publish(&plain_pub, "m/end", QoS::AtLeastOnce, false, "end").await;
    publish(&tenant_pub, "m/end", QoS::AtLeastOnce, false, "end").await;
    assert_eq!(
        payloads_until(&mut plain_sub, "end").await,
        ["plain", "end"]
    );
    assert_eq!(
        payloads_until(&mut tenant_sub, "end").await,
        ["tenant", "end"]
    );
}

/// Polls `retain show` on `member` until `topic` is listed with `payload` (or not, for `None`).
pub(crate) fn wait_retained(member: &Member, topic: &str, payload: Option<&str>) {
    let start = Instant::now();
    loop {
        let (status, body) = member.get("/api/v1/retain/show");
        assert_eq!(status, 200, "{body}");
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        let rows = json["table"].as_array().cloned().unwrap_or_default();
        let shown = rows
            .iter()
            .find(|row| row["topic"] == topic)
            .and_then(|row| row["payload"].as_str().map(str::to_owned));
        if shown.as_deref() == payload {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{}: {topic} is {shown:?}, not {payload:?}",
            member.name
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A new subscriber of `topic` on `member` gets `payload` as a retained message.
pub(crate) async fn gets_retained(member: &Member, id: &str, topic: &str, payload: &str) {
    let mut client = connect(member, id).await;
    subscribe_at(&mut client, topic, QoS::AtLeastOnce).await;
    assert_eq!(
        received(&mut client, payload).await,
        (QoS::AtLeastOnce, true)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retained_messages_are_seen_and_cleared_from_every_node() {
    let root = tempfile::tempdir().expect("data root");
    let [n1, _n2, n3] = three_nodes(root.path());
    let publisher = connect(&n1, "pub").await;
    publish(&publisher, "ret/a", QoS::AtLeastOnce, true, "kept").await;
    wait_retained(&n3, "ret/a", Some("kept"));
    gets_retained(&n3, "new3", "ret/a", "kept").await;

    publish(&publisher, "ret/a", QoS::AtLeastOnce, true, "").await;
    wait_retained(&n3, "ret/a", None);
    let mut fresh = connect(&n3, "fresh3").await;
    subscribe_at(&mut fresh, "ret/#", QoS::AtLeastOnce).await;
    until_routed(&publisher, "ret/probe", &mut [&mut fresh]).await;
    publish(&publisher, "ret/live", QoS::AtLeastOnce, false, "live").await;
    assert_eq!(
        payloads_until(&mut fresh, "live").await,
        ["live"],
        "cleared"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_node_is_routed_around_and_catches_up_after_a_restart() {
    let root = tempfile::tempdir().expect("data root");
    let [n1, n2, n3] = three_nodes(root.path());
    let publisher = connect(&n1, "pub").await;
    let mut on2 = connect(&n2, "sub2").await;
    subscribe_at(&mut on2, "k/#", QoS::AtLeastOnce).await;
    let mut on3 = connect(&n3, "sub3").await;
    subscribe_at(&mut on3, "k/#", QoS::AtLeastOnce).await;
    until_routed(&publisher, "k/x", &mut [&mut on2, &mut on3]).await;

    drop(on3);
    drop(n3); // SIGKILL
    publish(&publisher, "k/a", QoS::AtLeastOnce, false, "while-down").await;
    assert_eq!(payloads_until(&mut on2, "while-down").await, ["while-down"]);
    let from2 = connect(&n2, "pub2").await;
    let mut on1 = connect(&n1, "sub1").await;
    subscribe_at(&mut on1, "k/#", QoS::AtLeastOnce).await;
    until_routed(&from2, "k/y", &mut [&mut on1]).await;
    publish(&publisher, "k/r", QoS::AtLeastOnce, true, "set-while-down").await;
    wait_retained(&n2, "k/r", Some("set-while-down"));

    // Same data dir, new ports: it rejoins by itself and pulls what it missed.
    let n3 = Member::start(root.path(), "n3", "allow_anonymous = on\n");
    let everyone = all(&[&n1, &n2, &n3], true);
    for member in [&n1, &n2, &n3] {
        member.wait_show(&everyone, DEADLINE);
    }
    wait_retained(&n3, "k/r", Some("set-while-down"));
    gets_retained(&n3, "new3", "k/r", "set-while-down").await;
    let mut on3 = connect(&n3, "sub3b").await;
    subscribe_at(&mut on3, "k/#", QoS::AtLeastOnce).await;
    until_routed(&publisher, "k/x", &mut [&mut on3]).await;
    let from3 = connect(&n3, "pub3").await;
    until_routed(&from3, "k/z", &mut [&mut on2]).await;
    publish(&publisher, "k/b", QoS::AtLeastOnce, false, "back").await;
    assert_eq!(payloads_until(&mut on3, "back").await, ["back"]);
}

/// Polls `member`'s counter `name` until `done` holds for it.
fn counter_until(member: &Member, name: &str, done: impl Fn(f64) -> bool) -> f64 {
    let start = Instant::now();
    loop {
        let value = member.counter(name);
        if done(value) {
            return value;
        }
        assert!(start.elapsed() < DEADLINE, "{name} stayed at {value}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_node_that_leaves_is_forgotten_with_the_publishes_kept_for_it() {
    let root = tempfile::tempdir().expect("data root");
    let [n1, n2, n3] = three_nodes(root.path());
    let publisher = connect(&n1, "pub").await;
    let mut on1 = connect(&n1, "sub1").await;
    subscribe_at(&mut on1, "g/#", QoS::AtLeastOnce).await;
    let mut on3 = connect(&n3, "sub3").await;
    subscribe_at(&mut on3, "g/#", QoS::AtLeastOnce).await;
    until_routed(&publisher, "g/x", &mut [&mut on3]).await;

    let gone = n3.node();
    drop(on3);
    drop(n3); // SIGKILL
    let mut down = all(&[&n1, &n2], true);
    down.push((gone.clone(), false));
    n1.wait_show(&down, DOWN_WITHIN);
    // Publishes for the dead member's subscriber are kept for it.
    let matched = n1.counter("router_matches_remote");
    for i in 0..3 {
        let payload = format!("kept-{i}");
        publish(&publisher, "g/a", QoS::AtLeastOnce, false, &payload).await;
        assert_eq!(payloads_until(&mut on1, &payload).await, [payload]);
    }
    counter_until(&n1, "router_matches_remote", |v| v == matched + 3.0);
    assert_eq!(n1.counter("cluster_bytes_dropped"), 0.0);

    let (status, body) = n1.get(&format!("/api/v1/cluster/leave?node={gone}"));
    assert_eq!((status, body.as_str()), (200, DONE));
    n1.wait_show(&all(&[&n1, &n2], true), DEADLINE);
    counter_until(&n1, "cluster_bytes_dropped", |v| v > 0.0);
    publish(&publisher, "g/b", QoS::AtLeastOnce, false, "after").await;
    assert_eq!(payloads_until(&mut on1, "after").await, ["after"]);
    assert_eq!(
        n1.counter("router_matches_remote"),
        matched + 3.0,
        "nothing goes to a node that left"
    );
}
