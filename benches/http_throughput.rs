//! Concurrent keep-alive load over loopback: the node's authenticated `GET /api/v1/cluster/show`
//! against a bare hyper server answering the same bytes, in one run; prints both and the ratios.
//!
//! `cargo bench --bench http_throughput` runs the comparison (5 s per round, 64 connections);
//! `cargo test --benches` runs a short smoke round; `-- --serve NODE_ADDR BARE_ADDR` keeps both
//! servers up for wrk (see the README) for a minute; `-- --only node|bare` loads one of them.

#[path = "support/load.rs"]
mod load;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use load::{load, start_node, Figures};

const BODY: &[u8] = br#"{"table":[{"Node":"VerneMQ@127.0.0.1","Running":true}],"type":"table"}"#;
const CONNECTIONS: usize = 64;
/// How long `--serve` keeps the servers up for wrk.
const SERVE_FOR: Duration = Duration::from_secs(60);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Some(at) = args.iter().position(|a| a == "--serve") {
        let node_addr = args
            .get(at + 1)
            .map_or("127.0.0.1:18888", String::as_str)
            .to_owned();
        let bare_addr = args
            .get(at + 2)
            .map_or("127.0.0.1:18889", String::as_str)
            .to_owned();
        runtime.block_on(serve_for_wrk(&node_addr, &bare_addr));
        return;
    }
    let full = args.iter().any(|a| a == "--bench");
    // `--only node|bare` loads one server, for profiling it alone (perf stat/record).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|at| args.get(at + 1))
        .cloned();
    let (round, rounds) = if full {
        (Duration::from_secs(1), 15)
    } else {
        (Duration::from_millis(200), 1)
    };
    runtime.block_on(compare(round, rounds, only.as_deref()));
}

/// Alternates short rounds against the two servers and reports medians: the machines this runs
/// on are shared, and background load drifts more than the difference being measured.
async fn compare(round: Duration, rounds: usize, only: Option<&str>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (node, key) = start_node(&dir, "127.0.0.1:0").await;
    let node_addr = node.http_addrs()[0].2;
    let bare_addr = start_bare("127.0.0.1:0").await;
    let path = "/api/v1/cluster/show";
    let (mut bare, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        // The same requests (auth header included) to both servers: the bare one ignores it.
        if only != Some("node") {
            bare.push(load(bare_addr, path, &key, CONNECTIONS, round).await);
        }
        if only != Some("bare") {
            ours.push(load(node_addr, path, &key, CONNECTIONS, round).await);
        }
    }
    println!(
        "{CONNECTIONS} keep-alive connections, {rounds} alternating rounds of {} s, medians",
        round.as_secs_f64()
    );
    let (bare, ours) = (Figures::median(&bare), Figures::median(&ours));
    println!("bare hyper : {bare}");
    println!("vmq-node   : {ours}");
    println!(
        "ratio      : {:.2}x requests/s, p99 {:.2}x",
        ours.rps / bare.rps.max(1.0),
        ours.p99_us as f64 / bare.p99_us.max(1) as f64
    );
    node.stop().await;
}

/// The baseline: hyper's HTTP/1 server answering the same body, nothing else.
async fn start_bare(addr: &str) -> SocketAddr {
    let listener = TcpListener::bind(addr).await.expect("bind");
    let local = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(|_request: Request<hyper::body::Incoming>| async {
                    let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
                    response
                        .headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    Ok::<_, Infallible>(response)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    local
}

async fn serve_for_wrk(node_addr: &str, bare_addr: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (node, key) = start_node(&dir, node_addr).await;
    let bare = start_bare(bare_addr).await;
    println!("node on {node_addr}, bare hyper on {bare}");
    println!("KEY={key}");
    // Load tests stop by themselves: the servers go away after SERVE_FOR (or on Ctrl-C).
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = tokio::time::sleep(SERVE_FOR) => {}
    }
    node.stop().await;
}
