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
        bench(&runtime, broker, &sizes);
    }
}

/// Idle sessions, then bursts; the broker settles (its CPU goes quiet) after each phase, so that
/// closing one phase's connections does not slow the next one down.
fn bench(runtime: &tokio::runtime::Runtime, broker: &Broker, sizes: &Sizes) {
    let before = broker.rss_kib();
    let started = Instant::now();
    let (idle, refused) = runtime.block_on(open_idle(broker.addr, sizes.idle));
    let took = started.elapsed();
    let after = broker.rss_kib();
    let per_session = (after.saturating_sub(before)) as f64 / idle.len().max(1) as f64;
    println!(
        "{:<10} {} idle sessions in {:.1} s ({refused} refused); RSS {before} → {after} KiB: {per_session:.1} KiB/session",
        broker.name,
        idle.len(),
        took.as_secs_f64()
    );
    drop(idle);
    broker.settle();
    let (mut totals, mut p50s, mut refused) = (Vec::new(), Vec::new(), 0);
    for round in 0..sizes.rounds {
        let burst = runtime.block_on(burst(broker.addr, round, sizes.burst));
        totals.push(burst.total);
        p50s.push(burst.p50);
        refused += burst.refused;
        broker.settle();
    }
    println!(
        "{:<10} bursts of {}: last CONNACK after {:.0} ms, client p50 {:.0} ms ({refused} refused in {} rounds)",
        broker.name,
        sizes.burst,
        median(totals).as_secs_f64() * 1e3,
        median(p50s).as_secs_f64() * 1e3,
        sizes.rounds
    );
    assert!(
        full_run() || refused == 0,
        "{} refused connections",
        broker.name
    );
}

/// `count` idle sessions (keep-alive 0: no pings), opened `OPEN_BATCH` at a time; and how many
/// were refused or left without a CONNACK.
async fn open_idle(addr: SocketAddr, count: usize) -> (Vec<Wire>, usize) {
    let mut open = Vec::with_capacity(count);
    let mut refused = 0;
    for batch in (0..count).collect::<Vec<_>>().chunks(OPEN_BATCH) {
        let tasks: Vec<_> = batch
            .iter()
            .map(|i| tokio::spawn(connect(addr, format!("idle-{i}"), 0)))
            .collect();
        for task in tasks {
            match task.await.expect("connect task") {
                Ok(wire) => open.push(wire),
                Err(_) => refused += 1,
            }
        }
    }
    (open, refused)
}

/// One burst: the time from the first connect to the last CONNACK, the median client's own
/// connect-to-CONNACK time, and how many clients got no CONNACK.
struct Burst {
    total: Duration,
    p50: Duration,
    refused: usize,
}

async fn burst(addr: SocketAddr, round: usize, count: usize) -> Burst {
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
        if let Ok(wire) = wire {
            wires.push(wire);
            latencies.push(took);
        }
    }
    let total = started.elapsed();
    latencies.sort_unstable();
    Burst {
        total,
        p50: latencies
            .get(latencies.len() / 2)
            .copied()
            .unwrap_or_default(),
        refused: count - wires.len(),
    }
}

async fn connect(addr: SocketAddr, client_id: String, keep_alive: u16) -> Result<Wire, String> {
    let mut wire = Wire::connect(addr).await.map_err(|e| e.to_string())?;
    wire.handshake_with(4, &client_id, keep_alive, CONNACK_DEADLINE)
        .await?;
    Ok(wire)
}
