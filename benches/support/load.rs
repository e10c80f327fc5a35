//! The load generator the loopback benches share: keep-alive HTTP/1 clients sending one GET
//! back to back, and the figures of a round (requests/s, latency percentiles, errors).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Requests/s and latency percentiles of one round.
#[derive(Debug, Default, Clone, Copy)]
pub struct Figures {
    pub rps: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub errors: u64,
}

impl Figures {
    /// Each figure's median over the rounds (errors summed).
    pub fn median(rounds: &[Figures]) -> Figures {
        fn middle<T: Copy + PartialOrd + Default>(mut values: Vec<T>) -> T {
            values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            values.get(values.len() / 2).copied().unwrap_or_default()
        }
        Figures {
            rps: middle(rounds.iter().map(|f| f.rps).collect()),
            p50_us: middle(rounds.iter().map(|f| f.p50_us).collect()),
            p99_us: middle(rounds.iter().map(|f| f.p99_us).collect()),
            errors: rounds.iter().map(|f| f.errors).sum(),
        }
    }
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>9.0} req/s  p50 {:>5} µs  p99 {:>5} µs  errors {}",
            self.rps, self.p50_us, self.p99_us, self.errors
        )
    }
}

/// `connections` clients, each sending `GET path` with `key` back to back on one connection
/// for `round`; a request counts when it answers 200.
pub async fn load(
    addr: SocketAddr,
    path: &str,
    key: &str,
    connections: usize,
    round: Duration,
) -> Figures {
    let deadline = Instant::now() + round;
    let started = Instant::now();
    let clients: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(client(addr, path.to_owned(), basic_auth(key), deadline)))
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for client in clients {
        let (mut samples, failed) = client.await.expect("client task");
        latencies.append(&mut samples);
        errors += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: usize| {
        latencies
            .get(latencies.len() * p / 100)
            .copied()
            .unwrap_or(0)
    };
    Figures {
        rps: latencies.len() as f64 / elapsed,
        p50_us: percentile(50),
        p99_us: percentile(99),
        errors,
    }
}

async fn client(
    addr: SocketAddr,
    path: String,
    authorization: String,
    deadline: Instant,
) -> (Vec<u64>, u64) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let mut latencies = Vec::with_capacity(4096);
    let mut errors = 0;
    while Instant::now() < deadline {
        let request = Request::get(path.as_str())
            .header("host", "bench")
            .header("authorization", authorization.as_str())
            .body(Full::new(Bytes::new()))
            .expect("request");
        let sent = Instant::now();
        match sender.send_request(request).await {
            Ok(response) if response.status() == 200 => {
                let _ = response.into_body().collect().await;
                latencies.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            _ => errors += 1,
        }
    }
    (latencies, errors)
}

/// One `GET path` with `key` on a fresh connection: the status and the body.
pub async fn get(addr: SocketAddr, path: &str, key: &str) -> (u16, String) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let request = Request::get(path)
        .header("host", "bench")
        .header("authorization", basic_auth(key))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = sender.send_request(request).await.expect("a response");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.expect("a body");
    (
        status,
        String::from_utf8_lossy(&body.to_bytes()).into_owned(),
    )
}

/// `Basic base64(key:)`: the key as the Basic user name, as `curl -u KEY:` sends it.
pub fn basic_auth(key: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

/// A node in this process with its HTTP API on `addr` (MQTT on a free port) and a fresh `mgmt`
/// key.
pub async fn start_node(
    dir: &tempfile::TempDir,
    addr: &str,
) -> (vmq_node::node::RunningNode, String) {
    let text = format!(
        "platform_data_dir = {}\nlistener.http.default = {addr}\nlistener.tcp.default = 127.0.0.1:0\nlistener.vmq.clustering = 127.0.0.1:0\n",
        dir.path().display()
    );
    let config = vmq_node::config::Config::from_text(&text, "bench", &[]).expect("config");
    let node = vmq_node::node::start(config, &[]).await.expect("node");
    let key = node
        .node()
        .vault
        .create(vmq_actors::Scope::Mgmt, None, Default::default())
        .await
        .expect("key");
    (node, key.expose().to_owned())
}
