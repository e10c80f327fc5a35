//! Hostile HTTP requests that parse as requests: bad credentials, bad encodings, oversized heads, bodies and argument lists, unknown methods; the node answers 4xx or closes, and keeps serving.

use bytes::Bytes;
use hyper::{Method, StatusCode};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::raw::{
    assert_still_serving, authorization, raw_get, request, send, status_code, ANSWER_DEADLINE,
    CLOSE,
};
use crate::support::{alert_text, basic, TestNode};

const SHOW: &str = "/api/v1/cluster/show";
const FORM: &str = "application/x-www-form-urlencoded";

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
            .request(Method::GET, SHOW, &[("authorization", value)], Bytes::new())
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
    let headers = [
        ("authorization", "Basic !!!"),
        ("x-api-key", node.key.as_str()),
    ];
    let reply = node
        .request(Method::GET, SHOW, &headers, Bytes::new())
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
        let got = send(
            node.addr,
            &request("GET", SHOW.as_bytes(), node.addr, &[header, CLOSE]),
        )
        .await;
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
    let body = Bytes::from_static(b"x=\xff\xfe");
    let reply = node.post_bytes(SHOW, FORM, body).await;
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
        let got = send(node.addr, &raw_get(&node, target)).await;
        got.assert_closed_or_4xx(&String::from_utf8_lossy(target));
    }
    // Non-ASCII in the method.
    let got = send(
        node.addr,
        &request("G\u{e9}T", SHOW.as_bytes(), node.addr, &[CLOSE]),
    )
    .await;
    got.assert_closed_or_4xx("a non-ASCII method");
    assert_still_serving(&node, "non-ASCII request lines").await;
    node.stop().await;
}

#[tokio::test]
async fn a_64_kib_header_is_431_or_closed() {
    let node = TestNode::start().await;
    let auth = authorization(&node);
    let mut big = b"X-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 64 * 1024));
    let one_big = request(
        "GET",
        SHOW.as_bytes(),
        node.addr,
        &[auth.as_bytes(), &big, CLOSE],
    );
    // Many headers, each small, add up the same way.
    let small: Vec<Vec<u8>> = (0..2000)
        .map(|i| format!("X-H{i}: {}", "b".repeat(40)).into_bytes())
        .chain([CLOSE.to_vec()])
        .collect();
    let small: Vec<&[u8]> = small.iter().map(Vec::as_slice).collect();
    let many_small = request("GET", SHOW.as_bytes(), node.addr, &small);
    for request in [one_big, many_small] {
        let got = send(node.addr, &request).await;
        assert!(got.closed, "connection left open: {:?}", got.status());
        assert!(
            got.bytes.is_empty() || got.status() == Some(431),
            "expected 431 or a close: {}",
            got.text()
        );
    }
    assert_still_serving(&node, "oversized headers").await;
    node.stop().await;
}

#[tokio::test]
async fn a_large_header_under_the_cap_is_served() {
    let node = TestNode::start().await;
    let (auth, pad) = (basic(&node.key), "p".repeat(16 * 1024));
    let headers = [("authorization", auth.as_str()), ("x-pad", &pad)];
    let reply = node
        .request(Method::GET, SHOW, &headers, Bytes::new())
        .await;
    assert_eq!(reply.status, StatusCode::OK, "a 16 KiB header is allowed");
    node.stop().await;
}

/// Sends `head` then `total` body bytes (stopping when the server closes) and returns the
/// response head read within `ANSWER_DEADLINE`.
async fn stream_body(node: &TestNode, head: Vec<u8>, total: usize) -> Vec<u8> {
    let stream = TcpStream::connect(node.addr).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        if write.write_all(&head).await.is_err() {
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
    drop(read);
    let _ = writer.await;
    bytes
}

#[tokio::test]
async fn a_ten_megabyte_post_body_is_413() {
    let node = TestNode::start().await;
    let total: usize = 10 * 1024 * 1024;
    let auth = authorization(&node);
    let length = format!("Content-Length: {total}");
    let lines = [
        auth.as_bytes(),
        b"Content-Type: application/x-www-form-urlencoded",
        length.as_bytes(),
    ];
    let head = request("POST", SHOW.as_bytes(), node.addr, &lines);
    let got = stream_body(&node, head, total).await;
    assert_eq!(
        status_code(&got),
        Some(413),
        "{}",
        String::from_utf8_lossy(&got)
    );
    assert_still_serving(&node, "a 10 MB body").await;
    node.stop().await;
}

#[tokio::test]
async fn a_body_just_over_64_kib_is_413_with_an_alert() {
    let node = TestNode::start().await;
    let over = Bytes::from(vec![b'a'; 64 * 1024 + 1]);
    let reply = node.post_bytes(SHOW, FORM, over).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{reply:?}");
    assert!(alert_text(&reply.body).contains("too large"), "{reply:?}");

    // Exactly at the cap the body is read (and then judged as arguments: one bare word → 400).
    let at = Bytes::from(vec![b'a'; 64 * 1024]);
    let reply = node.post_bytes(SHOW, FORM, at).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");

    // Chunked, without a content-length, over the cap.
    let auth = authorization(&node);
    let lines = [auth.as_bytes(), b"Transfer-Encoding: chunked", CLOSE];
    let mut request = request("POST", SHOW.as_bytes(), node.addr, &lines);
    for _ in 0..3 {
        request.extend_from_slice(format!("{:x}\r\n", 32 * 1024).as_bytes());
        request.extend(std::iter::repeat_n(b'a', 32 * 1024));
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let got = send(node.addr, &request).await;
    assert_eq!(got.status(), Some(413), "{}", got.text());
    assert_still_serving(&node, "bodies over the cap").await;
    node.stop().await;
}

#[tokio::test]
async fn thousands_of_params_are_400_too_many_arguments() {
    let node = TestNode::start().await;
    let items: Vec<String> = (0..5000).map(|i| format!("k{i}=v")).collect();
    let query = items.join("&");
    let flags: Vec<String> = (0..5000).map(|i| format!("--f{i}")).collect();
    let replies = [
        node.get(&format!("{SHOW}?{query}")).await,
        // The same as a POST form body.
        node.post_bytes(SHOW, FORM, Bytes::from(query)).await,
        // Thousands of flags too.
        node.get(&format!("/api/v1/listener/show?{}", flags.join("&")))
            .await,
    ];
    for reply in replies {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.status);
        assert!(
            alert_text(&reply.body).contains("too many arguments"),
            "{}",
            reply.body
        );
    }
    assert_still_serving(&node, "thousands of params").await;
    node.stop().await;
}

#[tokio::test]
async fn unknown_methods_are_405_or_400() {
    let node = TestNode::start().await;
    let auth = authorization(&node);
    for (method, path) in [
        ("BREW", "/api/v1/cluster/show"),
        ("DELETE", "/api/v1/cluster/show"),
        ("PUT", "/api/v1/api-key/create"),
        ("PATCH", "/api/v1"),
        ("BREW", "/health"),
        ("POST", "/health"),
    ] {
        let lines = [auth.as_bytes(), b"Content-Length: 0", CLOSE];
        let got = send(
            node.addr,
            &request(method, path.as_bytes(), node.addr, &lines),
        )
        .await;
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
    let put = request("PUT", b"/api/v1/api-key/create", node.addr, &[CLOSE]);
    let got = send(node.addr, &put).await;
    assert!(
        matches!(got.status(), Some(400 | 401 | 405)),
        "{}",
        got.text()
    );
    assert_eq!(node.get("/api/v1/api-key/show").await.body, keys_before);
    assert_still_serving(&node, "unknown methods").await;
    node.stop().await;
}
