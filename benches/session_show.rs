//! `session show` over many sessions: `GET /api/v1/session/show?--limit=1000` (and a deep
//! `--offset`, and a regex filter) with 10 000 sessions — 8 000 connected, 2 000 persistent and
//! offline — from 64 keep-alive connections over loopback, in the node's own process. Then the
//! latency of `GET /metrics` (one connection, requests back to back) with as many sessions.
//!
//! `cargo bench --bench session_show` runs it with 1 000 and then 10 000 sessions (5 rounds of
//! 1 s per query, medians);
//! `cargo test --benches` runs one short round over 200 sessions.

#[path = "support/load.rs"]
mod load;
#[path = "support/sessions.rs"]
mod sessions;

use std::time::{Duration, Instant};

use vmq_node::admin::{self, CommandLine};

use load::{load, start_node, Figures};
use sessions::open_sessions;

const CONNECTIONS: usize = 64;
const QUERIES: &[&str] = &[
    "/api/v1/session/show?--limit=1000",
    "/api/v1/session/show?--limit=1000&--offset=8500",
    "/api/v1/session/show?--client_id=~99$&--is_online&--limit=1000",
];

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    // 1 000 then 10 000 sessions: a page of 1 000 must not cost more with more sessions.
    let (sizes, round, rounds): (&[(usize, usize)], _, _) = match full {
        true => (&[(800, 200), (8_000, 2_000)], Duration::from_secs(1), 5),
        false => (&[(150, 50)], Duration::from_millis(200), 1),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for &(online, offline) in sizes {
        runtime.block_on(run(online, offline, round, rounds));
    }
}

async fn run(online: usize, offline: usize, round: Duration, rounds: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (node, key) = start_node(&dir, "127.0.0.1:0").await;
    let mqtt = node.mqtt_addrs()[0].1;
    let started = Instant::now();
    let connected = open_sessions(mqtt, "bench-", online, offline).await;
    let sessions = &node.node().sessions;
    let deadline = Instant::now() + Duration::from_secs(60);
    while sessions
        .sessions()
        .values()
        .filter(|v| v.online.is_some())
        .count()
        != online
        || sessions.sessions().len() != online + offline
    {
        assert!(Instant::now() < deadline, "the sessions never settled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "{} sessions ({online} online) set up in {:.1} s; {CONNECTIONS} keep-alive connections, {rounds} rounds of {} s, medians",
        online + offline,
        started.elapsed().as_secs_f64(),
        round.as_secs_f64()
    );
    for path in QUERIES {
        in_process(node.node(), path).await;
    }
    let http = node.http_addrs()[0].2;
    for path in QUERIES {
        let mut figures = Vec::new();
        for _ in 0..rounds {
            figures.push(load(http, path, &key, CONNECTIONS, round).await);
        }
        let median = Figures::median(&figures);
        assert_eq!(median.errors, 0, "{path} failed");
        println!("{median}  {path}");
    }
    let mut figures = Vec::new();
    for _ in 0..rounds {
        figures.push(load(http, "/metrics", &key, 1, round).await);
    }
    let median = Figures::median(&figures);
    assert_eq!(median.errors, 0, "/metrics failed");
    println!("{median}  /metrics (one connection: the latency of a scrape)");
    drop(connected);
    node.stop().await;
}

/// The command alone (no HTTP): the time to build the reply and to render it as JSON.
async fn in_process(node: &vmq_node::node::Node, path: &str) {
    let (words, query) = path
        .trim_start_matches("/api/v1/")
        .split_once('?')
        .unwrap_or((path, ""));
    let line = CommandLine::from_http(words, Some(query), None);
    let (mut build, mut render, mut bytes) = (Duration::ZERO, Duration::ZERO, 0);
    let runs = 200;
    for _ in 0..runs {
        let started = Instant::now();
        let reply = admin::run(&line, node, &admin::Caller::local())
            .await
            .expect("the command runs");
        let built = Instant::now();
        bytes = admin::render::to_json(&reply).len();
        render += built.elapsed();
        build += built - started;
    }
    println!(
        "in process: build {:>5} µs, render {:>5} µs, {bytes} bytes  {path}",
        build.as_micros() / runs,
        render.as_micros() / runs
    );
}
