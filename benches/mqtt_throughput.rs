//! QoS 0 publish throughput over loopback, 1 → 1 and 100 → 1: the messages per second one
//! subscriber receives from the built `vmq-node`, in the same run from a second `vmq-node` with
//! `metrics_enabled = off` (what counting costs), and from Debian's mosquitto (skipped when not
//! installed). Raw MQTT 3.1.1 bytes, publishes written in batches, so the client is not the
//! bottleneck.
//!
//! `cargo bench --bench mqtt_throughput`: 5 alternating rounds of 2 s per broker and scenario;
//! `cargo test --benches` runs a smoke round (1 → 1, 10 → 1) that only checks messages arrive.

mod support;

use std::time::Duration;

use support::flood::{measure, Rates, Round, PAYLOAD};
use support::{full_run, median, Broker, MOSQUITTO};

struct Plan {
    warmup: Duration,
    window: Duration,
    rounds: usize,
    /// Publisher counts, one scenario each.
    publishers: [usize; 2],
}

fn main() {
    let full = full_run();
    let plan = if full {
        Plan {
            warmup: Duration::from_millis(500),
            window: Duration::from_secs(2),
            rounds: 5,
            publishers: [1, 100],
        }
    } else {
        Plan {
            warmup: Duration::from_millis(50),
            window: Duration::from_millis(100),
            rounds: 1,
            publishers: [1, 10],
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut brokers = vec![
        Broker::node(),
        Broker::node_with("metrics off", "metrics_enabled = off\n"),
    ];
    match Broker::mosquitto() {
        Some(mosquitto) => brokers.push(mosquitto),
        None => println!("{MOSQUITTO} not installed: no mosquitto column"),
    }
    println!(
        "QoS 0, {}-byte payloads, {} alternating rounds of {} ms, medians of messages/s (received by the subscriber / accepted from the publishers)",
        PAYLOAD.len(),
        plan.rounds,
        plan.window.as_millis()
    );
    for publishers in plan.publishers {
        let mut rates = vec![Vec::new(); brokers.len()];
        for round in 0..plan.rounds {
            for (broker, rates) in brokers.iter().zip(&mut rates) {
                let tag = round.to_string();
                let round = Round {
                    publish_to: broker.addr,
                    subscribe_at: broker.addr,
                    tag: &tag,
                    warmup: plan.warmup,
                    window: plan.window,
                    smoke: !full,
                };
                rates.push(runtime.block_on(measure(&round, publishers)));
                if full {
                    broker.settle();
                }
            }
        }
        report(publishers, &brokers, &rates);
    }
    // QoS 0 messages a broker accepted faster than it delivered wait somewhere: memory shows where.
    let rss: Vec<String> = brokers
        .iter()
        .map(|broker| format!("{} {} MiB", broker.name, broker.rss_kib() / 1024))
        .collect();
    println!("RSS after the runs: {}", rss.join(", "));
}

/// One line per scenario: each broker's medians, then vmq-node's ratios to the others.
fn report(publishers: usize, brokers: &[Broker], rates: &[Vec<Rates>]) {
    let medians: Vec<Rates> = rates
        .iter()
        .map(|rates| Rates {
            received: median(rates.iter().map(|r| r.received).collect()),
            sent: median(rates.iter().map(|r| r.sent).collect()),
        })
        .collect();
    let mut line = format!("{publishers:>3} → 1 ");
    for (broker, rates) in brokers.iter().zip(&medians) {
        line += &format!(
            "  {} {:>9.0} / {:>9.0}",
            broker.name, rates.received, rates.sent
        );
    }
    for (broker, rates) in brokers.iter().zip(&medians).skip(1) {
        line += &format!(
            "   vs {} {:.3}x",
            broker.name,
            medians[0].received / rates.received.max(1.0)
        );
    }
    println!("{line}");
}
