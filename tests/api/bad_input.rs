//! Hostile and malformed HTTP input: bad credentials, bad encodings, oversized heads and bodies, garbage framing and slow clients; the node answers 4xx or closes, and keeps serving.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::{Method, StatusCode};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::{basic, TestNode};

/// How long the server gets to answer or close a raw connection on a loaded machine.
const ANSWER_DEADLINE: Duration = Duration::from_secs(10);
/// How long a slow client may stay connected with `http_header_read_timeout = 300`.
const SLOW_CLIENT_DEADLINE: Duration = Duration::from_secs(5);
const SHORT_TIMEOUT: &str = "http_header_read_timeout = 300";

/// What a raw connection got back.
#[derive(Debug)]
struct Raw {
    /// Everything read before the close, an error or the deadline.
    bytes: Vec<u8>,
    /// The server closed (EOF or reset) before the deadline.
    closed: bool,
}

impl Raw {
    /// The status code of the first response, if a status line arrived.
    fn status(&self) -> Option<u16> {
        let text = self.bytes.strip_prefix(b"HTTP/1.1 ")?;
        std::str::from_utf8(text.get(..3)?).ok()?.parse().ok()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Reads until EOF, a read error, or `deadline` passes.
async fn read_until_closed(stream: &mut TcpStream, deadline: Duration) -> Raw {
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
/// early) and reads what comes back.
async fn raw(addr: SocketAddr, request: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let _ = stream.write_all(request).await;
    read_until_closed(&mut stream, ANSWER_DEADLINE).await
}

/// A complete raw GET with the node's key and `Connection: close`.
fn raw_get(node: &TestNode, target: &[u8]) -> Vec<u8> {
    let mut request = b"GET ".to_vec();
    request.extend_from_slice(target);
    request.extend_from_slice(
        format!(
            " HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
            node.addr,
            basic(&node.key)
        )
        .as_bytes(),
    );
    request
}

/// The node still answers a normal authenticated request.
async fn assert_still_serving(node: &TestNode, after: &str) {
    let reply = tokio::time::timeout(ANSWER_DEADLINE, node.get("/api/v1/cluster/show"))
        .await
        .unwrap_or_else(|_| panic!("no answer within {ANSWER_DEADLINE:?} after {after}"));
    assert_eq!(reply.status, StatusCode::OK, "after {after}: {reply:?}");
    assert_eq!(
        reply.body, r#"{"table":[{"Node":"VerneMQ@127.0.0.1","Running":true}],"type":"table"}"#,
        "after {after}"
    );
}

/// The alert texts of a JSON error body, joined.
fn alert_text(body: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    assert_eq!(json["type"], "alert", "{body}");
    json["alert"]
        .as_array()
        .expect("alert array")
        .iter()
        .map(|e| e["text"].as_str().expect("text").to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

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
async fn malformed_basic_credentials_are_401() {
    let node = TestNode::start().await;
    for value in [
        "Basic !!!",
        "Basic",
        "Basic ",
        "Basic not-base64-at-all",
        "Basic ====",
        "Basic Og==",
        "Bearer abc",
        "basic",
    ] {
        let reply = node
            .request(
                Method::GET,
                "/api/v1/cluster/show",
                &[("authorization", value)],
                Bytes::new(),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{value:?}: {reply:?}"
        );
        assert!(!alert_text(&reply.body).is_empty(), "{value:?}");
        assert!(reply.headers.contains_key("www-authenticate"), "{value:?}");
    }
    // A valid key behind a malformed Authorization header does not get through via x-api-key.
    let reply = node
        .request(
            Method::GET,
            "/api/v1/cluster/show",
            &[("authorization", "Basic !!!"), ("x-api-key", &node.key)],
            Bytes::new(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert_still_serving(&node, "malformed Basic headers").await;
    node.stop().await;
}

#[tokio::test]
async fn non_ascii_credential_bytes_are_401() {
    let node = TestNode::start().await;
    for header in [
        &b"Authorization: Basic \xff\xfe\x80"[..],
        b"Authorization: \xc3\xa9\xc3\xa9 abc",
        b"X-Api-Key: \xff\xff\xff\xff",
    ] {
        let mut request = format!(
            "GET /api/v1/cluster/show HTTP/1.1\r\nHost: {}\r\n",
            node.addr
        )
        .into_bytes();
        request.extend_from_slice(header);
        request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
        let got = raw(node.addr, &request).await;
        assert_eq!(
            got.status(),
            Some(401),
            "{}: {}",
            String::from_utf8_lossy(header),
            got.text()
        );
    }
    assert_still_serving(&node, "non-ASCII credentials").await;
    node.stop().await;
}

#[tokio::test]
async fn bad_percent_encoding_is_400_with_a_message() {
    let node = TestNode::start().await;
    for (path, needle) in [
        ("/api/v1/cluster/show?x=%ff", "UTF-8"),
        ("/api/v1/cluster/show?x=%zz", "two hex digits"),
        ("/api/v1/cluster/show?x=%4", "two hex digits"),
        ("/api/v1/cluster/show?%ff=1", "UTF-8"),
        ("/api/v1/cluster/show?--%c3%28", "UTF-8"),
        ("/api/v1/cluster/show/%ff", "UTF-8"),
        ("/api/v1/cluster/show/%zz", "two hex digits"),
        ("/api/v1/%ff", ""),
        ("/api/v1/%zz/show", ""),
    ] {
        let reply = node.get(path).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}: {reply:?}");
        let text = alert_text(&reply.body);
        assert!(text.contains(needle), "{path}: {needle:?} in {text:?}");
    }
    // A POST body that is not UTF-8.
    let reply = node
        .request(
            Method::POST,
            "/api/v1/cluster/show",
            &[
                ("authorization", &basic(&node.key)),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            Bytes::from_static(b"x=\xff\xfe"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    assert!(alert_text(&reply.body).contains("UTF-8"), "{reply:?}");
    assert_still_serving(&node, "bad percent-encoding").await;
    node.stop().await;
}

#[tokio::test]
async fn raw_non_ascii_in_the_request_line_is_rejected() {
    let node = TestNode::start().await;
    for target in [
        &b"/api/v1/clu\xffster/show"[..],
        b"/api/v1/cluster/show?x=\xc3\xa9",
        b"/api/v1/\x80\x81",
        b"/api/v1/cluster/show\x00",
        b"/api/v1/cluster show",
    ] {
        let got = raw(node.addr, &raw_get(&node, target)).await;
        assert!(
            got.closed,
            "{}: connection left open",
            String::from_utf8_lossy(target)
        );
        assert!(
            got.bytes.is_empty() || got.status().is_some_and(|s| (400..500).contains(&s)),
            "{}: {}",
            String::from_utf8_lossy(target),
            got.text()
        );
    }
    // Non-ASCII in the method.
    let request = format!(
        "G\u{e9}T /api/v1/cluster/show HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        node.addr
    );
    let got = raw(node.addr, request.as_bytes()).await;
    assert!(got.closed, "{got:?}");
    assert!(
        got.bytes.is_empty() || got.status().is_some_and(|s| (400..500).contains(&s)),
        "{}",
        got.text()
    );
    assert_still_serving(&node, "non-ASCII request lines").await;
    node.stop().await;
}

#[tokio::test]
async fn a_64_kib_header_is_431_or_closed() {
    let node = TestNode::start().await;
    let mut request = format!(
        "GET /api/v1/cluster/show HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nX-Big: ",
        node.addr,
        basic(&node.key)
    )
    .into_bytes();
    request.extend(std::iter::repeat_n(b'a', 64 * 1024));
    request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    let got = raw(node.addr, &request).await;
    assert!(got.closed, "connection left open: {:?}", got.status());
    assert!(
        got.bytes.is_empty() || got.status() == Some(431),
        "expected 431 or a close: {}",
        got.text()
    );

    // Many headers, each small, add up the same way.
    let mut request = format!(
        "GET /api/v1/cluster/show HTTP/1.1\r\nHost: {}\r\n",
        node.addr
    )
    .into_bytes();
    for i in 0..2000 {
        request.extend_from_slice(format!("X-H{i}: {}\r\n", "b".repeat(40)).as_bytes());
    }
    request.extend_from_slice(b"Connection: close\r\n\r\n");
    let got = raw(node.addr, &request).await;
    assert!(got.closed, "connection left open: {:?}", got.status());
    assert!(
        got.bytes.is_empty() || got.status() == Some(431),
        "expected 431 or a close: {}",
        got.text()
    );
    assert_still_serving(&node, "oversized headers").await;
    node.stop().await;
}

#[tokio::test]
async fn a_large_header_under_the_cap_is_served() {
    let node = TestNode::start().await;
    let pad = "p".repeat(16 * 1024);
    let reply = node
        .request(
            Method::GET,
            "/api/v1/cluster/show",
            &[("authorization", &basic(&node.key)), ("x-pad", &pad)],
            Bytes::new(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "a 16 KiB header is allowed");
    node.stop().await;
}

#[tokio::test]
async fn a_ten_megabyte_post_body_is_413() {
    let node = TestNode::start().await;
    let total: usize = 10 * 1024 * 1024;
    let head = format!(
        "POST /api/v1/cluster/show HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {total}\r\n\r\n",
        node.addr,
        basic(&node.key)
    );
    let stream = TcpStream::connect(node.addr).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        if write.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = 0;
        while sent < total {
            // The server may answer early and close: stop sending then.
            if write.write_all(&chunk).await.is_err() {
                return;
            }
            sent += chunk.len();
        }
    });
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    let until = tokio::time::Instant::now() + ANSWER_DEADLINE;
    while !bytes.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout_at(until, read.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) | Err(_) => break,
            Ok(Ok(n)) => bytes.extend_from_slice(&buf[..n]),
        }
    }
    writer.abort();
    let got = Raw {
        bytes,
        closed: true,
    };
    assert_eq!(got.status(), Some(413), "{}", got.text());
    drop(read);
    let _ = writer.await;
    assert_still_serving(&node, "a 10 MB body").await;
    node.stop().await;
}

#[tokio::test]
async fn a_body_just_over_64_kib_is_413_with_an_alert() {
    let node = TestNode::start().await;
    let headers = [
        ("authorization", basic(&node.key)),
        (
            "content-type",
            "application/x-www-form-urlencoded".to_owned(),
        ),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let over = Bytes::from(vec![b'a'; 64 * 1024 + 1]);
    let reply = node
        .request(Method::POST, "/api/v1/cluster/show", &headers, over)
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{reply:?}");
    assert!(alert_text(&reply.body).contains("too large"), "{reply:?}");

    // Exactly at the cap the body is read (and then judged as arguments: one bare word → 400).
    let at = Bytes::from(vec![b'a'; 64 * 1024]);
    let reply = node
        .request(Method::POST, "/api/v1/cluster/show", &headers, at)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");

    // Chunked, without a content-length, over the cap.
    let mut request = format!(
        "POST /api/v1/cluster/show HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        node.addr,
        basic(&node.key)
    )
    .into_bytes();
    for _ in 0..3 {
        request.extend_from_slice(format!("{:x}\r\n", 32 * 1024).as_bytes());
        request.extend(std::iter::repeat_n(b'a', 32 * 1024));
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let got = raw(node.addr, &request).await;
    assert_eq!(got.status(), Some(413), "{}", got.text());
    assert_still_serving(&node, "bodies over the cap").await;
    node.stop().await;
}

#[tokio::test]
async fn thousands_of_params_are_400_too_many_arguments() {
    let node = TestNode::start().await;
    let items: Vec<String> = (0..5000).map(|i| format!("k{i}=v")).collect();
    let query = items.join("&");
    let reply = node.get(&format!("/api/v1/cluster/show?{query}")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.status);
    assert!(
        alert_text(&reply.body).contains("too many arguments"),
        "{}",
        reply.body
    );

    // The same as a POST form body.
    let reply = node
        .request(
            Method::POST,
            "/api/v1/cluster/show",
            &[
                ("authorization", &basic(&node.key)),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            Bytes::from(query),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.status);
    assert!(
        alert_text(&reply.body).contains("too many arguments"),
        "{}",
        reply.body
    );

    // Thousands of flags too.
    let flags: Vec<String> = (0..5000).map(|i| format!("--f{i}")).collect();
    let reply = node
        .get(&format!("/api/v1/listener/show?{}", flags.join("&")))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.status);
    assert!(
        alert_text(&reply.body).contains("too many arguments"),
        "{}",
        reply.body
    );
    assert_still_serving(&node, "thousands of params").await;
    node.stop().await;
}

#[tokio::test]
async fn unknown_methods_are_405_or_400() {
    let node = TestNode::start().await;
    for (method, path) in [
        ("BREW", "/api/v1/cluster/show"),
        ("DELETE", "/api/v1/cluster/show"),
        ("PUT", "/api/v1/api-key/create"),
        ("PATCH", "/api/v1"),
        ("BREW", "/health"),
        ("POST", "/health"),
    ] {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n",
            node.addr,
            basic(&node.key)
        );
        let got = raw(node.addr, request.as_bytes()).await;
        let status = got.status();
        assert!(
            matches!(status, Some(405 | 400)),
            "{method} {path}: {}",
            got.text()
        );
        if status == Some(405) {
            let text = got.text().to_ascii_lowercase();
            assert!(text.contains("\r\nallow: "), "{method} {path}: {text}");
        }
    }
    // A method the key-less client gets wrong must not reveal more than a 405/401.
    let keys_before = node.get("/api/v1/api-key/show").await.body;
    let got = raw(
        node.addr,
        format!(
            "PUT /api/v1/api-key/create HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            node.addr
        )
        .as_bytes(),
    )
    .await;
    assert!(
        matches!(got.status(), Some(400 | 401 | 405)),
        "{}",
        got.text()
    );
    assert_eq!(node.get("/api/v1/api-key/show").await.body, keys_before);
    assert_still_serving(&node, "unknown methods").await;
    node.stop().await;
}

#[tokio::test]
async fn h2_preface_then_garbage_is_closed() {
    let node = TestNode::start().await;
    for seed in [1_u64, 2, 3] {
        let mut request = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        request.extend(noise(4096, seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        let got = raw(node.addr, &request).await;
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
        let got = raw(node.addr, &request).await;
        assert!(
            got.closed,
            "{:?}: connection left open",
            String::from_utf8_lossy(&request)
        );
        assert!(
            got.bytes.is_empty() || got.status().is_some_and(|s| (400..500).contains(&s)),
            "{:?}: {}",
            String::from_utf8_lossy(&request),
            got.text()
        );
    }
    assert_still_serving(&node, "framing garbage").await;
    node.stop().await;
}

/// Connects, sends `prefix`, then nothing; returns how long the server took to close.
async fn time_to_close(addr: SocketAddr, prefix: &[u8]) -> Duration {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    if !prefix.is_empty() {
        stream.write_all(prefix).await.expect("write the prefix");
    }
    let got = read_until_closed(&mut stream, SLOW_CLIENT_DEADLINE).await;
    assert!(
        got.closed,
        "{:?}: still open after {SLOW_CLIENT_DEADLINE:?}",
        String::from_utf8_lossy(prefix)
    );
    started.elapsed()
}

#[tokio::test]
async fn a_silent_connection_is_closed() {
    let node = TestNode::start_with(SHORT_TIMEOUT).await;
    let took = time_to_close(node.addr, b"").await;
    assert!(
        took >= Duration::from_millis(250),
        "closed too early: {took:?}"
    );
    assert_still_serving(&node, "a silent connection").await;
    node.stop().await;
}

#[tokio::test]
async fn a_partial_request_line_is_closed() {
    let node = TestNode::start_with(SHORT_TIMEOUT).await;
    let took = time_to_close(node.addr, b"GET /api/v1/clus").await;
    assert!(
        took >= Duration::from_millis(250),
        "closed too early: {took:?}"
    );
    time_to_close(
        node.addr,
        b"GET /api/v1/cluster/show HTTP/1.1\r\nHost: x\r\n",
    )
    .await;
    assert_still_serving(&node, "partial request lines").await;
    node.stop().await;
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
async fn a_partial_h2_preface_is_closed() {
    let node = TestNode::start_with(SHORT_TIMEOUT).await;
    time_to_close(node.addr, b"P").await;
    time_to_close(node.addr, b"PRI * HTTP/2.0\r\n").await;
    assert_still_serving(&node, "partial h2 prefaces").await;
    node.stop().await;
}

#[tokio::test]
async fn an_h2_preface_without_a_request_is_closed() {
    let node = TestNode::start_with(SHORT_TIMEOUT).await;
    time_to_close(node.addr, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
    assert_still_serving(&node, "an h2 preface alone").await;
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
