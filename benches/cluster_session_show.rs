//! `session show` over a cluster of three nodes with 10 000 persistent (offline) sessions each:
//! `GET /api/v1/session/show?--limit=1000` (and a deep `--offset`, and a regex filter) from 64
//! keep-alive connections to the node that fans out, which runs in this process; the two other
//! nodes are `vmq-node` processes. The issue asks for ≥ 1 000 requests/s on the first query.
//!
//! `cargo bench --bench cluster_session_show` runs it (5 rounds of 1 s per query, medians);
//! `cargo test --benches` runs one short round over 3 × 200 sessions.

#[path = "support/load.rs"]
mod load;
#[path = "support/sessions.rs"]
mod sessions;
#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use vmq_node::admin::reply::Element;
use vmq_node::admin::{self, CommandLine};

use load::{load, Figures};
use sessions::open_sessions;
use support::Broker;

const CONNECTIONS: usize = 64;
const QUERIES: &[&str] = &[
    "/api/v1/session/show?--limit=1000",
    "/api/v1/session/show?--limit=1000&--offset=8500",
    "/api/v1/session/show?--client_id=~99$&--is_online&--limit=1000",
];

fn main() {
    let (per_node, round, rounds) = match support::full_run() {
        true => (10_000, Duration::from_secs(1), 5),
        false => (200, Duration::from_millis(200), 1),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Started outside the runtime: a broker waits for its first CONNACK on a runtime of its own.
    let others = [
        Broker::node_with("cb2", "nodename = cb2@127.0.0.1\n"),
        Broker::node_with("cb3", "nodename = cb3@127.0.0.1\n"),
    ];
    runtime.block_on(run(&others, per_node, round, rounds));
}

async fn run(others: &[Broker], per_node: usize, round: Duration, rounds: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        "nodename = cb1@127.0.0.1\nplatform_data_dir = {}\nlistener.http.default = 127.0.0.1:0\nlistener.tcp.default = 127.0.0.1:0\nlistener.vmq.clustering = 127.0.0.1:0\n",
        dir.path().display()
    );
    let config = vmq_node::config::Config::from_text(&text, "bench", &[]).expect("config");
    let running = vmq_node::node::start(config, &[]).await.expect("node");
    let node = running.node();
    let key = node
        .vault
        .create(vmq_actors::Scope::Mgmt, None, Default::default())
        .await
        .expect("key");
    let key = key.expose().to_owned();

    // Sessions first: persistent and offline, so each node holds them without a socket.
    let started = Instant::now();
    open_sessions(running.mqtt_addrs()[0].1, "s1-", 0, per_node).await;
    for (i, other) in others.iter().enumerate() {
        open_sessions(other.addr, &format!("s{}-", i + 2), 0, per_node).await;
    }
    for other in others {
        let port = other.cluster.expect("a cluster listener").port();
        let join = format!("discovery-node={}@127.0.0.1:{port}", other.name);
        let line = CommandLine::from_http("cluster/join", Some(&join), None);
        admin::run(&line, node, &admin::Caller::local())
            .await
            .expect("joined");
    }
    let all = 3 * per_node;
    let deadline = Instant::now() + Duration::from_secs(120);
    while rows(node, &format!("--limit={all}&--rowtimeout=5000")).await != all {
        assert!(
            Instant::now() < deadline,
            "the cluster never listed every session"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "3 nodes × {per_node} offline sessions set up and joined in {:.1} s; {CONNECTIONS} keep-alive connections, {rounds} rounds of {} s, medians",
        started.elapsed().as_secs_f64(),
        round.as_secs_f64()
    );
    assert_eq!(rows(node, "--limit=1000").await, all.min(1000));
    let http = running.http_addrs()[0].2;
    for path in QUERIES {
        // Beside the load, one more client checks that no node's rows go missing (a node that
        // misses the default 100 ms rowtimeout adds none).
        let checker = {
            let node = node.clone();
            tokio::spawn(async move {
                let (mut asked, mut short) = (0, 0);
                let deadline = Instant::now() + round * u32::try_from(rounds).unwrap_or(1);
                while Instant::now() < deadline {
                    asked += 1;
                    short += usize::from(rows(&node, "--limit=1000").await < all.min(1000));
                }
                (asked, short)
            })
        };
        let mut figures = Vec::new();
        for _ in 0..rounds {
            figures.push(load(http, path, &key, CONNECTIONS, round).await);
        }
        let (asked, short) = checker.await.expect("the checker ran");
        let median = Figures::median(&figures);
        assert_eq!(median.errors, 0, "{path} failed");
        println!("{median}  {path} (3 nodes; {short} of {asked} checks short of rows)");
    }
    assert_eq!(
        rows(node, "--limit=1000").await,
        all.min(1000),
        "no node dropped out under load"
    );
    running.stop().await;
}

/// The rows of `session show?<query>`, in process.
async fn rows(node: &vmq_node::node::Node, query: &str) -> usize {
    let line = CommandLine::from_http("session/show", Some(query), None);
    let reply = admin::run(&line, node, &admin::Caller::local())
        .await
        .expect("session show runs");
    match reply.0.first() {
        Some(Element::Table(table)) => table.to_cells().len(),
        _ => 0,
    }
}
