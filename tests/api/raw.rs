//! Raw HTTP/1.1 over TCP for hostile-input tests: build request bytes, send them, read the status line, wait for the close with a deadline.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hyper::StatusCode;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::{basic, TestNode, CLUSTER_SHOW};

/// How long the server gets to answer or close a raw connection on a loaded machine.
pub const ANSWER_DEADLINE: Duration = Duration::from_secs(10);

/// The header line that asks the server to close after its answer.
pub const CLOSE: &[u8] = b"Connection: close";

/// What a raw connection got back.
#[derive(Debug)]
pub struct Raw {
    /// Everything read before the close, an error or the deadline.
    pub bytes: Vec<u8>,
    /// The server closed (EOF or reset) before the deadline.
    pub closed: bool,
}

impl Raw {
    /// The status code of the first response, if a status line arrived.
    pub fn status(&self) -> Option<u16> {
        status_code(&self.bytes)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The server closed the connection, after nothing or after a 4xx answer.
    pub fn assert_closed_or_4xx(&self, what: &str) {
        assert!(self.closed, "{what}: connection left open");
        assert!(
            self.bytes.is_empty() || self.status().is_some_and(|s| (400..500).contains(&s)),
            "{what}: {}",
            self.text()
        );
    }
}

/// The code of a `HTTP/1.1 NNN` status line at the start of `bytes`.
pub fn status_code(bytes: &[u8]) -> Option<u16> {
    let text = bytes.strip_prefix(b"HTTP/1.1 ")?;
    std::str::from_utf8(text.get(..3)?).ok()?.parse().ok()
}

/// `METHOD TARGET HTTP/1.1`, `Host: <host>`, then each of `lines` (a whole header line, any
/// bytes), every line ended by CRLF, then the blank line.
pub fn request(method: &str, target: &[u8], host: SocketAddr, lines: &[&[u8]]) -> Vec<u8> {
    let mut request = format!("{method} ").into_bytes();
    request.extend_from_slice(target);
    request.extend_from_slice(format!(" HTTP/1.1\r\nHost: {host}\r\n").as_bytes());
    for line in lines {
        request.extend_from_slice(line);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    request
}

/// The `Authorization` header line with the node's key.
pub fn authorization(node: &TestNode) -> String {
    format!("Authorization: {}", basic(&node.key))
}

/// A complete raw GET with the node's key and `Connection: close`.
pub fn raw_get(node: &TestNode, target: &[u8]) -> Vec<u8> {
    let auth = authorization(node);
    request("GET", target, node.addr, &[auth.as_bytes(), CLOSE])
}

/// Reads until EOF, a read error, or `deadline` passes.
pub async fn read_until_closed(stream: &mut TcpStream, deadline: Duration) -> Raw {
    let until = tokio::time::Instant::now() + deadline;
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout_at(until, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => {
                return Raw {
                    bytes,
                    closed: true,
                }
            }
            Ok(Ok(n)) => bytes.extend_from_slice(&buf[..n]),
            Err(_) => {
                return Raw {
                    bytes,
                    closed: false,
                }
            }
        }
    }
}

/// Sends `request` over a fresh connection (write errors ignored: the server may close
/// early) and reads what comes back within `ANSWER_DEADLINE`.
pub async fn send(addr: SocketAddr, request: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let _ = stream.write_all(request).await;
    read_until_closed(&mut stream, ANSWER_DEADLINE).await
}

/// Connects, sends `prefix`, then nothing; returns how long the server took to close, which
/// must be within `deadline`.
pub async fn time_to_close(addr: SocketAddr, prefix: &[u8], deadline: Duration) -> Duration {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    if !prefix.is_empty() {
        stream.write_all(prefix).await.expect("write the prefix");
    }
    let got = read_until_closed(&mut stream, deadline).await;
    assert!(
        got.closed,
        "{:?}: still open after {deadline:?}",
        String::from_utf8_lossy(prefix)
    );
    started.elapsed()
}

/// The node still answers a normal authenticated request.
pub async fn assert_still_serving(node: &TestNode, after: &str) {
    let reply = tokio::time::timeout(ANSWER_DEADLINE, node.get("/api/v1/cluster/show"))
        .await
        .unwrap_or_else(|_| panic!("no answer within {ANSWER_DEADLINE:?} after {after}"));
    assert_eq!(reply.status, StatusCode::OK, "after {after}: {reply:?}");
    assert_eq!(reply.body, CLUSTER_SHOW, "after {after}");
}

/// A blocking `GET` with `key` in `x-api-key` and `Connection: close`, for tests without a
/// runtime: (status, body). Connecting and reading each get `deadline`.
pub fn blocking_get(addr: SocketAddr, path: &str, key: &str, deadline: Duration) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect_timeout(&addr, deadline).expect("connect");
    stream
        .set_read_timeout(Some(deadline))
        .expect("read timeout");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nx-api-key: {key}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("write request");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read response");
    let text = String::from_utf8(response).expect("UTF-8 response");
    let status = status_code(text.as_bytes()).unwrap_or_else(|| panic!("no status line: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}
