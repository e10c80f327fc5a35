//! MQTT sessions at scale against the built `vmq-node` (and mosquitto when installed): resident
//! memory per idle 3.1.1 session, and how long a burst of concurrent clients takes to connect.
//!
//! `cargo bench --bench mqtt_sessions`: 10 000 idle sessions, then 5 bursts of 1 000 clients;
//! `cargo test --benches` runs a small smoke version (50 sessions, bursts of 20).

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::wire::Wire;
use support::{full_run, median, Broker};

/// How long one client may take to connect and get its CONNACK.
const CONNACK_DEADLINE: Duration = Duration::from_secs(30);
/// Idle sessions are opened this many at a time (below the 128-connection listen backlog).
const OPEN_BATCH: usize = 100;

struct Sizes {
    idle: usize,
    burst: usize,
    rounds: usize,
}

fn main() {
    let sizes = if full_run() {
        Sizes {
            idle: 10_000,
            burst: 1_000,
            rounds: 5,
        }
    } else {
        Sizes {
            idle: 50,
            burst: 20,
            rounds: 1,
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let brokers: Vec<Broker> = std::iter::once(Broker::node())
        .chain(Broker::mosquitto())
        .collect();
    println!(
        "{} idle MQTT 3.1.1 sessions; bursts of {} concurrent CONNECTs, median of {} rounds",
        sizes.idle, sizes.burst, sizes.rounds
    );
    for broker in &brokers {
        runtime.block_on(bench(broker, &sizes));
    }
}

async fn bench(broker: &Broker, sizes: &Sizes) {
    let before = broker.rss_kib();
    let idle = open_idle(broker.addr, sizes.idle).await;
    let after = broker.rss_kib();
    let per_session = (after.saturating_sub(before)) as f64 / sizes.idle as f64;
    drop(idle);
    let mut totals = Vec::new();
    let mut p50s = Vec::new();
    for round in 0..sizes.rounds {
        let (total, mut latencies) = burst(broker.addr, round, sizes.burst).await;
        latencies.sort_unstable();
        totals.push(total);
        p50s.push(latencies[latencies.len() / 2]);
    }
    println!(
        "{:<10} RSS {before} KiB → {after} KiB: {per_session:.1} KiB/session; burst: last CONNACK after {:.0} ms (client p50 {:.0} ms)",
        broker.name,
        median(totals).as_secs_f64() * 1e3,
        median(p50s).as_secs_f64() * 1e3,
    );
}

/// `count` connected, idle sessions (keep-alive 0: no pings), opened `OPEN_BATCH` at a time.
async fn open_idle(addr: SocketAddr, count: usize) -> Vec<Wire> {
    let mut open = Vec::with_capacity(count);
    for batch in (0..count).collect::<Vec<_>>().chunks(OPEN_BATCH) {
        let tasks: Vec<_> = batch
            .iter()
            .map(|i| tokio::spawn(connect(addr, format!("idle-{i}"), 0)))
            .collect();
        for task in tasks {
            open.push(task.await.expect("connect task"));
        }
    }
    open
}

/// `count` clients connecting at once: the time from the first connect to the last CONNACK,
/// and each client's own connect-to-CONNACK time.
async fn burst(addr: SocketAddr, round: usize, count: usize) -> (Duration, Vec<Duration>) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            tokio::spawn(async move {
                let begun = Instant::now();
                let wire = connect(addr, format!("burst-{round}-{i}"), 60).await;
                (wire, begun.elapsed())
            })
        })
        .collect();
    let mut wires = Vec::with_capacity(count);
    let mut latencies = Vec::with_capacity(count);
    for task in tasks {
        let (wire, took) = task.await.expect("burst task");
        wires.push(wire);
        latencies.push(took);
    }
    (started.elapsed(), latencies)
}

async fn connect(addr: SocketAddr, client_id: String, keep_alive: u16) -> Wire {
    let mut wire = Wire::connect(addr).await.expect("TCP connect");
    wire.handshake_with(4, &client_id, keep_alive, CONNACK_DEADLINE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    wire
}
