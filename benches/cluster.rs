//! Three `vmq-node` processes joined into one cluster on loopback, against the same run's single
//! node (the cluster's first node, before the others join):
//! - publish latency, one QoS 0 message in flight: n1 → a subscriber on n2, and n1 → n1;
//! - QoS 0 throughput, one publisher flooding: n1 → n2, and n1 → n1 (`support::flood`);
//! - an API key created on n1 → usable on n2 and n3 (the create request included).
//!
//! `session show` over three nodes has its own bench (`cluster_session_show`).
//! `cargo bench --bench cluster`; `cargo test --benches` runs a smoke version (few messages and
//! keys) that only checks everything arrives.

#[path = "support/load.rs"]
mod load;
mod support;

use std::time::{Duration, Instant};

use support::flood::{self, Rates, Round, DEADLINE};
use support::wire::{self, Event, Wire};
use support::{full_run, median, Broker, KEY};

/// Sizes of one run.
struct Plan {
    /// Messages timed one by one.
    pings: usize,
    flood_window: Duration,
    flood_rounds: usize,
    keys: usize,
}

fn main() {
    let plan = if full_run() {
        Plan {
            pings: 2_000,
            flood_window: Duration::from_secs(2),
            flood_rounds: 5,
            keys: 100,
        }
    } else {
        Plan {
            pings: 20,
            flood_window: Duration::from_millis(100),
            flood_rounds: 1,
            keys: 3,
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // Started outside the runtime: a broker's start blocks until it accepts a CONNECT.
    let nodes: Vec<Broker> = ["n1", "n2", "n3"]
        .into_iter()
        .map(|name| Broker::node_with(name, &format!("nodename = {name}@127.0.0.1\n")))
        .collect();
    runtime.block_on(run(&plan, &nodes));
}

async fn run(plan: &Plan, nodes: &[Broker]) {
    let single = latency(&nodes[0], &nodes[0], plan.pings).await;
    let single_rates = throughput(&nodes[0], &nodes[0], plan, "single").await;
    for node in &nodes[1..] {
        join(node, &nodes[0]).await;
    }
    wait_all_running(nodes).await;
    let cross = latency(&nodes[0], &nodes[1], plan.pings).await;
    let cross_rates = throughput(&nodes[0], &nodes[1], plan, "cross").await;
    println!(
        "publish latency, QoS 0, one in flight ({} messages): n1 → n1 p50 {} µs p99 {} µs; n1 → n2 p50 {} µs p99 {} µs ({:.2}x, {:.2}x the single node)",
        plan.pings,
        single.0,
        single.1,
        cross.0,
        cross.1,
        cross.0 as f64 / single.0.max(1) as f64,
        cross.1 as f64 / single.1.max(1) as f64,
    );
    println!(
        "QoS 0 throughput, 1 publisher, medians of {} rounds: n1 → n1 {:.0} msg/s; n1 → n2 {:.0} msg/s ({:.2}x)",
        plan.flood_rounds,
        single_rates.received,
        cross_rates.received,
        cross_rates.received / single_rates.received.max(1.0)
    );
    let (p50, p99) = key_propagation(nodes, plan.keys).await;
    println!(
        "API key created on n1 → usable on n2 and n3 ({} keys): p50 {} µs, p99 {} µs",
        plan.keys, p50, p99
    );
}

/// `GET path` on `node`'s HTTP API with the bench key: the status and body.
async fn get(node: &Broker, path: &str) -> (u16, String) {
    let http = node.http.expect("a vmq-node");
    load::get(http, path, KEY).await
}

/// `cluster join` of `node` to `seed`.
async fn join(node: &Broker, seed: &Broker) {
    let port = seed.cluster.expect("a cluster listener").port();
    let (status, body) = get(
        node,
        &format!(
            "/api/v1/cluster/join?discovery-node={}@127.0.0.1:{port}",
            seed.name
        ),
    )
    .await;
    assert_eq!(status, 200, "join: {body}");
}

/// Polls `cluster show` on every node until each lists three running members.
async fn wait_all_running(nodes: &[Broker]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for node in nodes {
        loop {
            let (_, body) = get(node, "/api/v1/cluster/show").await;
            if body.matches("\"Running\":true").count() == nodes.len() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster never formed: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// p50 and p99, in µs, of `pings` messages from a publisher on `from` to a subscriber on `to`,
/// each sent once the previous one arrived.
async fn latency(from: &Broker, to: &Broker, pings: usize) -> (u64, u64) {
    let topic = format!("bench/latency/{}", to.name);
    let mut subscriber = Wire::connect(to.addr).await.expect("subscriber connects");
    subscriber
        .handshake(4, &format!("lat-sub-{}-{}", from.name, to.name), DEADLINE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    subscriber
        .send(&wire::subscribe(4, 1, &[&topic]))
        .await
        .expect("SUBSCRIBE");
    let mut publisher = Wire::connect(from.addr).await.expect("publisher connects");
    publisher
        .handshake(4, &format!("lat-pub-{}-{}", from.name, to.name), DEADLINE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The subscription may take a moment to reach the publisher's node: probe until one arrives.
    let deadline = Instant::now() + DEADLINE;
    loop {
        publisher
            .send(&wire::publish(4, &topic, b"probe"))
            .await
            .expect("PUBLISH");
        if received(&mut subscriber, b"probe", Duration::from_millis(100)).await {
            break;
        }
        assert!(Instant::now() < deadline, "no message reached {}", to.name);
    }
    let mut samples = Vec::with_capacity(pings);
    for n in 0..pings {
        let payload = format!("ping {n}");
        let sent = Instant::now();
        publisher
            .send(&wire::publish(4, &topic, payload.as_bytes()))
            .await
            .expect("PUBLISH");
        assert!(
            received(&mut subscriber, payload.as_bytes(), DEADLINE).await,
            "{payload} never arrived"
        );
        samples.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
    }
    percentiles(samples)
}

/// Whether a PUBLISH ending in `payload` arrives within `wait` (others are skipped).
async fn received(subscriber: &mut Wire, payload: &[u8], wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match subscriber.next(left).await {
            Event::Packet(p) if p.kind() == 3 && p.body.ends_with(payload) => return true,
            Event::Packet(_) => {}
            _ => return false,
        }
    }
    false
}

/// The median rates of `plan.flood_rounds` one-publisher floods from `from` to `to`.
async fn throughput(from: &Broker, to: &Broker, plan: &Plan, tag: &str) -> Rates {
    let mut rounds = Vec::new();
    for n in 0..plan.flood_rounds {
        let tag = format!("{tag}-{n}");
        let round = Round {
            publish_to: from.addr,
            subscribe_at: to.addr,
            tag: &tag,
            warmup: Duration::from_millis(500),
            window: plan.flood_window,
            smoke: plan.flood_rounds == 1,
        };
        rounds.push(flood::measure(&round, 1).await);
        from.settle();
        to.settle();
    }
    Rates {
        received: median(rounds.iter().map(|r| r.received).collect()),
        sent: median(rounds.iter().map(|r| r.sent).collect()),
    }
}

/// p50 and p99, in µs, of "create a key on n1, then poll n2 and n3 until it authenticates".
async fn key_propagation(nodes: &[Broker], keys: usize) -> (u64, u64) {
    let mut samples = Vec::with_capacity(keys);
    for _ in 0..keys {
        let started = Instant::now();
        let (status, body) = get(&nodes[0], "/api/v1/api-key/create").await;
        assert_eq!(status, 200, "api-key create: {body}");
        let reply: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        let key = reply["text"].as_str().expect("the key").to_owned();
        for node in &nodes[1..] {
            let http = node.http.expect("a vmq-node");
            let deadline = Instant::now() + DEADLINE;
            while load::get(http, "/api/v1/cluster/show", &key).await.0 != 200 {
                assert!(
                    Instant::now() < deadline,
                    "the key never reached {}",
                    node.name
                );
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        }
        samples.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
    }
    percentiles(samples)
}

/// p50 and p99 of `samples`.
fn percentiles(mut samples: Vec<u64>) -> (u64, u64) {
    samples.sort_unstable();
    let at = |p: usize| samples.get(samples.len() * p / 100).copied().unwrap_or(0);
    (at(50), at(99))
}
