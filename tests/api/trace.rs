//! `trace client` end to end: a chunked HTTP response and the CLI (socket and binary) showing a
//! real client's packets as they happen, the end of a trace (client gone, `trace stop_all`,
//! caller gone), one trace per client, rate limiting and bad input.

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use rumqttc::QoS;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::mqtt_support::{connect_v4, V4Client};
use crate::process::{admin_command, DEADLINE};
use crate::support::{alert_text, assert_alert, assert_ok, basic, eventually, TestNode, DONE};

const BUSY: &str = "Cannot start trace as another trace is already running.";

/// A `GET /api/v1/trace/client?…` whose body is read as it comes.
struct HttpTrace {
    status: StatusCode,
    headers: hyper::HeaderMap,
    body: Incoming,
    /// Everything read so far.
    text: String,
    connection: JoinHandle<()>,
}

impl HttpTrace {
    /// Sends the request on a new connection and waits for the response head.
    async fn open(node: &TestNode, query: &str) -> Self {
        let stream = TcpStream::connect(node.addr).await.expect("connect");
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        let connection = tokio::spawn(async move {
            let _ = connection.await;
        });
        let request = Request::get(format!("/api/v1/trace/client?{query}"))
            .header("host", node.addr.to_string())
            .header("authorization", basic(&node.key))
            .body(Full::new(Bytes::new()))
            .expect("request");
        let response = tokio::time::timeout(DEADLINE, sender.send_request(request))
            .await
            .expect("a response head within the deadline")
            .expect("response");
        let (head, body) = response.into_parts();
        Self {
            status: head.status,
            headers: head.headers,
            body,
            text: String::new(),
            connection,
        }
    }

    /// Reads until the text so far contains `needle`.
    async fn wait_for(&mut self, needle: &str) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !self.text.contains(needle) {
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.text.push_str(&String::from_utf8_lossy(&data));
                    }
                }
                Ok(other) => panic!("body ended ({other:?}) before {needle:?}: {}", self.text),
                Err(_) => panic!("no {needle:?} within {DEADLINE:?}: {}", self.text),
            }
        }
    }

    /// Reads to the end of the body; answers everything read.
    async fn read_to_end(&mut self) -> &str {
        let rest = tokio::time::timeout(DEADLINE, (&mut self.body).collect())
            .await
            .unwrap_or_else(|_| panic!("the trace did not end: {}", self.text))
            .expect("a clean end")
            .to_bytes();
        self.text.push_str(&String::from_utf8_lossy(&rest));
        &self.text
    }

    /// Closes the connection, as a caller that hangs up.
    fn hang_up(self) {
        self.connection.abort();
    }
}

async fn traces_end(node: &TestNode) -> bool {
    let traces = node.running().node().sessions.traces().clone();
    eventually(DEADLINE, || {
        let traces = traces.clone();
        async move { traces.is_empty() }
    })
    .await
}

async fn disconnect(client: V4Client) {
    client.client.disconnect().await.expect("disconnect queued");
    let mut events = client;
    while let Ok(Some(_)) = tokio::time::timeout(DEADLINE, events.events.recv()).await {}
}

#[tokio::test]
async fn http_streams_a_clients_packets_as_chunks_until_it_disconnects() {
    let node = TestNode::start().await;
    let mut trace = HttpTrace::open(&node, "client-id=c1&--trunc-payload=5").await;
    assert_eq!(trace.status, StatusCode::OK);
    assert_eq!(trace.headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(trace.headers["transfer-encoding"], "chunked");
    trace
        .wait_for("Starting trace for client \"c1\" with mountpoint \"\" (not connected")
        .await;

    let client = connect_v4(&node, "c1").await;
    trace
        .wait_for("MQTT RECV: CID: \"c1\" CONNECT(c: \"c1\", v: 4")
        .await;
    trace
        .wait_for("MQTT SEND: CID: \"c1\" CONNACK(sp: 0, rc: 0)")
        .await;
    client
        .client
        .publish("a/b", QoS::AtLeastOnce, false, "hello world")
        .await
        .expect("publish queued");
    trace
        .wait_for("\"a/b\") with payload:\n    hello... (6 more bytes)\n")
        .await;
    trace.wait_for("MQTT SEND: CID: \"c1\" PUBACK(m").await;
    let publish = trace
        .text
        .lines()
        .find(|line| line.contains("PUBLISH("))
        .expect("a PUBLISH line")
        .to_owned();
    assert!(
        publish.contains(" MQTT RECV: CID: \"c1\" PUBLISH(d0, q1, r0, m"),
        "{publish}"
    );
    assert_eq!(
        publish.find('T'),
        Some(10),
        "starts with a timestamp: {publish}"
    );

    disconnect(client).await;
    let text = trace.read_to_end().await;
    assert!(text.contains("DISCONNECT()\nDone.\n"), "{text}");
    assert!(text.ends_with("Done.\n"), "{text}");
    assert!(traces_end(&node).await);
    node.stop().await;
}

#[tokio::test]
async fn one_trace_per_client_and_a_caller_that_hangs_up_ends_its_trace() {
    let node = TestNode::start().await;
    let trace = HttpTrace::open(&node, "client-id=c1").await;
    assert_eq!(trace.status, StatusCode::OK);
    assert_alert(
        &node.get("/api/v1/trace/client?client-id=c1").await,
        409,
        &[BUSY],
    );
    let mut other = HttpTrace::open(&node, "client-id=c2").await;
    assert_eq!(other.status, StatusCode::OK, "another client may be traced");
    let mut elsewhere = HttpTrace::open(&node, "client-id=c1&--mountpoint=mp").await;
    assert_eq!(
        elsewhere.status,
        StatusCode::OK,
        "so may c1 on another mountpoint"
    );

    trace.hang_up();
    let traces = node.running().node().sessions.traces().clone();
    let key = vmq_actors::SessionKey::new("", "c1");
    let ended = eventually(DEADLINE, || {
        let (traces, key) = (traces.clone(), key.clone());
        async move { !traces.is_tracing(&key) }
    })
    .await;
    assert!(ended, "the node noticed the caller hung up");
    let again = HttpTrace::open(&node, "client-id=c1").await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "a new trace of c1 is accepted"
    );

    assert_ok(&node.get("/api/v1/trace/stop_all").await, DONE);
    assert!(other.read_to_end().await.ends_with("Done.\n"));
    assert!(elsewhere.read_to_end().await.ends_with("Done.\n"));
    assert!(traces_end(&node).await);
    drop(again);
    node.stop().await;
}

#[tokio::test]
async fn a_connected_client_is_traced_from_its_next_packet() {
    let node = TestNode::start().await;
    let client = connect_v4(&node, "c1").await;
    let mut trace = HttpTrace::open(&node, "client-id=c1").await;
    trace
        .wait_for("(connected: traced from its next packet)")
        .await;
    client
        .client
        .publish("x", QoS::AtMostOnce, false, vec![0xff, 0x00, b'a'])
        .await
        .expect("publish queued");
    trace
        .wait_for("PUBLISH(d0, q0, r0, m0, \"x\") with payload:\n    \\xff\\x00a\n")
        .await;
    assert!(!trace.text.contains("CONNECT"), "{}", trace.text);
    assert_ok(&node.get("/api/v1/trace/stop_all").await, DONE);
    assert!(trace.read_to_end().await.ends_with("\nDone.\n"));
    drop(client);
    node.stop().await;
}

#[tokio::test]
async fn lines_over_the_rate_limit_are_skipped_and_counted() {
    let node = TestNode::start().await;
    let client = connect_v4(&node, "c1").await;
    // Two lines per minute: the rest of this test is skipped, and counted at the end.
    let query = "client-id=c1&--rate-max=2&--rate-interval=60000";
    let mut trace = HttpTrace::open(&node, query).await;
    trace.wait_for("Starting trace").await;
    for n in 0..10 {
        client
            .client
            .publish("r", QoS::AtMostOnce, false, format!("m{n}"))
            .await
            .expect("publish queued");
    }
    disconnect(client).await;
    let text = trace.read_to_end().await;
    let shown: Vec<&str> = text.lines().filter(|l| l.contains("MQTT RECV")).collect();
    assert_eq!(shown.len(), 2, "{text}");
    // Ten PUBLISHes and a DISCONNECT, two of them shown.
    assert!(
        text.ends_with("Trace rate limit reached: 9 lines skipped.\nDone.\n"),
        "{text}"
    );
    node.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_streams() {
    let node = TestNode::start().await;
    let reply = node.get("/api/v1/trace/client").await;
    assert_eq!(reply.status.as_u16(), 400, "{reply:?}");
    let text = alert_text(&reply.body);
    assert!(
        text.starts_with("missing parameter client-id=<value>\n"),
        "{text}"
    );
    assert!(text.contains("Usage: vmq-admin trace client client-id=<ClientId>"));

    let reply = node
        .get("/api/v1/trace/client?client-id=c1&--rate-max=abc")
        .await;
    assert_eq!(reply.status.as_u16(), 400, "{reply:?}");
    assert!(alert_text(&reply.body).starts_with("invalid value 'abc' for --rate-max"));

    let reply = node.get("/api/v1/trace").await;
    assert_eq!(reply.status.as_u16(), 400, "{reply:?}");
    assert!(alert_text(&reply.body).contains("Usage: vmq-admin trace <sub-command>"));
    assert!(node.running().node().sessions.traces().is_empty());
    node.stop().await;
}

#[tokio::test]
async fn the_admin_socket_sends_a_frame_per_line_and_stops_when_the_cli_hangs_up() {
    let node = TestNode::start().await;
    let stream = tokio::net::UnixStream::connect(node.running().admin_socket())
        .await
        .expect("connect to the admin socket");
    let (read, mut write) = stream.into_split();
    write
        .write_all(b"{\"argv\":[\"trace\",\"client\",\"client-id=c1\"]}\n")
        .await
        .expect("write");
    let mut frames = BufReader::new(read).lines();
    let mut next_stdout = async || {
        let line = tokio::time::timeout(DEADLINE, frames.next_line())
            .await
            .expect("a frame within the deadline")
            .expect("readable")
            .expect("a frame");
        let frame: serde_json::Value = serde_json::from_str(&line).expect("a JSON frame");
        frame["stdout"].as_str().expect("a stdout frame").to_owned()
    };
    assert!(next_stdout()
        .await
        .starts_with("Starting trace for client \"c1\""));
    let client = connect_v4(&node, "c1").await;
    let connect = next_stdout().await;
    assert!(
        connect.contains("MQTT RECV: CID: \"c1\" CONNECT("),
        "{connect}"
    );
    assert!(connect.ends_with('\n'), "one line per frame: {connect:?}");
    assert!(next_stdout().await.contains("CONNACK(sp: 0, rc: 0)"));

    drop((frames, write));
    assert!(traces_end(&node).await, "the node noticed the CLI hung up");
    drop(client);
    node.stop().await;
}

#[tokio::test]
async fn vmq_admin_prints_lines_as_they_come_until_done_or_ctrl_c() {
    let node = TestNode::start().await;
    let spawn = || {
        let mut command = admin_command(node.dir.path());
        command
            .arg("--data-dir")
            .arg(node.data_dir())
            .args(["trace", "client", "client-id=c1"])
            .stdout(std::process::Stdio::piped());
        let mut child = command.spawn().expect("vmq-admin runs");
        let stdout = child.stdout.take().expect("stdout piped");
        (child, BufReader::new(stdout).lines())
    };
    let read_until = async |lines: &mut tokio::io::Lines<_>, needle: &str| {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let line: Option<String> = tokio::time::timeout_at(deadline, lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("no {needle:?} within {DEADLINE:?}"))
                .expect("readable");
            let line = line.unwrap_or_else(|| panic!("output ended before {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    };

    // The client disconnects: Done. and exit 0.
    let (mut child, mut lines) = spawn();
    read_until(&mut lines, "Starting trace").await;
    let client = connect_v4(&node, "c1").await;
    read_until(&mut lines, "CONNACK(sp: 0, rc: 0)").await;
    disconnect(client).await;
    assert_eq!(read_until(&mut lines, "Done.").await, "Done.");
    let status = tokio::time::timeout(DEADLINE, child.wait()).await;
    assert_eq!(status.expect("exits").expect("waited").code(), Some(0));

    // Ctrl-C: the CLI goes, the node ends the trace.
    let (mut child, mut lines) = spawn();
    read_until(&mut lines, "Starting trace").await;
    let pid = child.id().expect("running").to_string();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status();
    assert!(kill.expect("kill runs").success());
    let _ = tokio::time::timeout(DEADLINE, child.wait()).await;
    assert!(traces_end(&node).await, "the node noticed the CLI went");
    node.stop().await;
}
