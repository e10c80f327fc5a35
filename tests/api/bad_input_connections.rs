//! Hostile connections below the request level: framing garbage, h2 prefaces and noise, silent, partial and trickling clients; the node closes them and keeps serving.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::raw::{assert_still_serving, send, time_to_close};
use crate::support::TestNode;

/// How long a slow client may stay connected with `http_header_read_timeout = 300`.
const SLOW_CLIENT_DEADLINE: Duration = Duration::from_secs(5);
const SHORT_TIMEOUT: &str = "http_header_read_timeout = 300";
/// The h2 connection preface.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Deterministic noise (xorshift), so a failure can be replayed.
fn noise(len: usize, mut state: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

#[tokio::test]
async fn h2_preface_then_garbage_is_closed() {
    let node = TestNode::start().await;
    for seed in [1_u64, 2, 3] {
        let mut request = H2_PREFACE.to_vec();
        request.extend(noise(4096, seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        let got = send(node.addr, &request).await;
        assert!(
            got.closed,
            "seed {seed}: h2 garbage left the connection open"
        );
    }
    assert_still_serving(&node, "h2 garbage").await;
    node.stop().await;
}

#[tokio::test]
async fn http1_framing_garbage_is_closed_or_400() {
    let node = TestNode::start().await;
    let mut cases: Vec<Vec<u8>> = vec![
        (0u8..64).collect(),
        b"GET\r\n\r\n".to_vec(),
        b"GET / HTTP/9.9\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n".to_vec(),
        b"POST /api/v1/cluster/show HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef"
            .to_vec(),
        b"POST /api/v1/cluster/show HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(),
    ];
    cases.extend((10..14).map(|seed| noise(2048, seed)));
    for request in cases {
        let got = send(node.addr, &request).await;
        got.assert_closed_or_4xx(&format!("{:?}", String::from_utf8_lossy(&request)));
    }
    assert_still_serving(&node, "framing garbage").await;
    node.stop().await;
}

/// On a node with `SHORT_TIMEOUT`, each prefix goes on its own connection, then nothing: the
/// server must close it within `SLOW_CLIENT_DEADLINE` and, where a minimum is given, not before.
async fn assert_slow_clients_closed(prefixes: &[(&[u8], Option<Duration>)], after: &str) {
    let node = TestNode::start_with(SHORT_TIMEOUT).await;
    for (prefix, min) in prefixes {
        let took = time_to_close(node.addr, prefix, SLOW_CLIENT_DEADLINE).await;
        if let Some(min) = min {
            assert!(took >= *min, "closed too early: {took:?}");
        }
    }
    assert_still_serving(&node, after).await;
    node.stop().await;
}

#[tokio::test]
async fn a_silent_connection_is_closed() {
    let not_before = Some(Duration::from_millis(250));
    assert_slow_clients_closed(&[(b"", not_before)], "a silent connection").await;
}

#[tokio::test]
async fn a_partial_request_line_is_closed() {
    let not_before = Some(Duration::from_millis(250));
    let prefixes: [(&[u8], _); 2] = [
        (b"GET /api/v1/clus", not_before),
        (b"GET /api/v1/cluster/show HTTP/1.1\r\nHost: x\r\n", None),
    ];
    assert_slow_clients_closed(&prefixes, "partial request lines").await;
}

#[tokio::test]
async fn a_partial_h2_preface_is_closed() {
    let prefixes: [(&[u8], _); 2] = [(b"P", None), (b"PRI * HTTP/2.0\r\n", None)];
    assert_slow_clients_closed(&prefixes, "partial h2 prefaces").await;
}

#[tokio::test]
async fn an_h2_preface_without_a_request_is_closed() {
    assert_slow_clients_closed(&[(H2_PREFACE, None)], "an h2 preface alone").await;
}

#[tokio::test]
async fn trickled_headers_are_cut_off() {
    let node = TestNode::start_with(SHORT_TIMEOUT).await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(node.addr).await.expect("connect");
    stream
        .write_all(b"GET /api/v1/cluster/show HTTP/1.1\r\n")
        .await
        .expect("write");
    // One header byte every 50 ms: each byte is "progress", but the head never completes.
    let mut closed = false;
    while started.elapsed() < SLOW_CLIENT_DEADLINE {
        if stream.write_all(b"x").await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 512];
        let read = tokio::time::timeout(Duration::from_millis(50), stream.read(&mut buf)).await;
        if let Ok(Ok(0) | Err(_)) = read {
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "a trickling client stayed connected for {SLOW_CLIENT_DEADLINE:?}"
    );
    assert_still_serving(&node, "trickled headers").await;
    node.stop().await;
}

#[tokio::test]
async fn many_slow_connections_do_not_block_a_request() {
    // The default timeout (10 s): the slow connections stay open while the request is made.
    let node = TestNode::start().await;
    let mut slow = Vec::new();
    for i in 0..200 {
        let mut stream = TcpStream::connect(node.addr).await.expect("connect");
        let prefix: &[u8] = match i % 3 {
            0 => b"GET /api/v1/clus",
            1 => b"G",
            _ => b"",
        };
        if !prefix.is_empty() {
            stream.write_all(prefix).await.expect("write");
        }
        slow.push(stream);
    }
    let started = Instant::now();
    assert_still_serving(&node, "200 slow connections").await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered only after {:?}",
        started.elapsed()
    );
    drop(slow);
    node.stop().await;
}
