//! Sessions across a cluster of three real `vmq-node` processes: `session show` from any node
//! lists every node's sessions with the `node` column, filtered and paged across nodes;
//! `session disconnect` and `/api/v2/disconnect` reach the node that holds the client; a
//! client id connecting to another node takes its session over (a persistent one with its
//! subscriptions and queued messages); a stopped node costs `session show` its rowtimeout.
//! The helpers here serve `cluster_leave.rs` too.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rumqttc::{Event, MqttOptions, Packet, QoS};

use crate::cluster_support::{three_joined, Member};
use crate::mqtt_support::{events_until, spawn_v4, wait_for, V4Client};
use crate::process::DEADLINE;
use crate::support::DONE;

/// An `api2` key, added on n1 (the vault is replicated: every member takes it).
const V2_KEY: &str = "clusterSessionsApi2Key0123456789ab";

fn options(addr: SocketAddr, id: &str, clean: bool) -> MqttOptions {
    let mut options = MqttOptions::new(id, addr.ip().to_string(), addr.port());
    options.set_keep_alive(Duration::from_secs(30));
    options.set_clean_session(clean);
    options
}

/// A connected client of `member`; answers it and the CONNACK's session present flag.
pub(crate) async fn connect(member: &Member, id: &str, clean: bool) -> (V4Client, bool) {
    let mut client = spawn_v4(options(member.mqtt, id, clean));
    let events = events_until(&mut client.events, "CONNACK", |e| {
        matches!(e, Ok(Event::Incoming(Packet::ConnAck(_))))
    })
    .await;
    let Some(Ok(Event::Incoming(Packet::ConnAck(ack)))) = events.last() else {
        panic!("no CONNACK for {id}");
    };
    (client, ack.session_present)
}

/// `GET path` on `member` (blocking, off the runtime's threads).
pub(crate) async fn get(member: &Member, path: &str) -> (u16, String) {
    let (http, path) = (member.http, path.to_owned());
    tokio::task::spawn_blocking(move || {
        crate::raw::blocking_get(http, &path, crate::process::KEY, DEADLINE)
    })
    .await
    .expect("the request ran")
}

/// The rows of `session show?<query>` as `column=value` strings joined by `,` per row.
pub(crate) async fn show(member: &Member, query: &str) -> Vec<String> {
    let (status, body) = get(member, &format!("/api/v1/session/show?{query}")).await;
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    json["table"]
        .as_array()
        .expect("a table")
        .iter()
        .map(|row| {
            let row = row.as_object().expect("a row");
            let cells: Vec<String> = row
                .iter()
                .map(|(column, value)| match value {
                    serde_json::Value::String(text) => format!("{column}={text}"),
                    other => format!("{column}={other}"),
                })
                .collect();
            cells.join(",")
        })
        .collect()
}

/// Polls `session show?<query>` on `member` until it gives `expected`.
pub(crate) async fn show_until(member: &Member, query: &str, expected: &[String]) {
    let start = Instant::now();
    loop {
        let rows = show(member, query).await;
        if rows == expected {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{} shows {rows:?} for {query}, not {expected:?}",
            member.name
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn row(client: &str, node: &Member) -> String {
    format!("client_id={client},node={}", node.node())
}

/// Three joined members.
pub(crate) async fn cluster(root: &std::path::Path, prefix: &str) -> [Member; 3] {
    let root = root.to_path_buf();
    let prefix = prefix.to_owned();
    tokio::task::spawn_blocking(move || three_joined(&root, &prefix, ""))
        .await
        .expect("the cluster started")
}

/// The client's connection was closed by the broker.
pub(crate) async fn closed(client: &mut V4Client, what: &str) {
    wait_for(&mut client.events, what, Result::is_err).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn session_show_and_disconnect_reach_every_node() {
    let root = tempfile::tempdir().expect("data root");
    let [n1, n2, n3] = cluster(root.path(), "ss").await;
    let (_a1, _) = connect(&n1, "a1", true).await;
    let (_a2, _) = connect(&n1, "a2", true).await;
    let (_b1, _) = connect(&n2, "b1", true).await;
    let (mut c1, _) = connect(&n3, "c1", true).await;
    let (mut c2, _) = connect(&n3, "c2", true).await;

    let listing = "--client_id&--node";
    let everyone = [
        row("a1", &n1),
        row("a2", &n1),
        row("b1", &n2),
        row("c1", &n3),
        row("c2", &n3),
    ];
    for member in [&n1, &n2, &n3] {
        show_until(member, listing, &everyone).await;
    }
    // Filters run on every node; --limit and --offset page the merged order.
    assert_eq!(
        show(&n1, "--client_id=~^c&--client_id&--node").await,
        everyone[3..]
    );
    assert_eq!(
        show(&n2, &format!("{listing}&--limit=2&--offset=1")).await,
        everyone[1..3]
    );
    assert_eq!(
        show(&n3, &format!("{listing}&--limit=0")).await,
        Vec::<String>::new()
    );
    let b1 = show(&n1, "--client_id=b1").await;
    assert_eq!(b1.len(), 1, "{b1:?}");
    let default_columns = "client_id=b1,is_online=true,mountpoint=,peer_host=127.0.0.1,peer_port=";
    assert!(
        b1[0].starts_with(default_columns) && b1[0].ends_with(",user=null"),
        "{b1:?}"
    );

    // `session disconnect` on n1 of a client of n3.
    let (status, body) = get(&n1, "/api/v1/session/disconnect?client-id=c1").await;
    assert_eq!((status, body.as_str()), (200, DONE));
    closed(&mut c1, "c1 closed").await;
    // `/api/v2/disconnect` on n2 of a client of n3.
    // Keys are replicated: added on n1, it opens /api/v2 on every node.
    let (status, body) = get(&n1, &format!("/api/v1/api-key/add?key={V2_KEY}&scope=api2")).await;
    assert_eq!((status, body.as_str()), (200, DONE));
    let v2 = |member: &Member, path: &str| {
        let (http, path) = (member.http, path.to_owned());
        tokio::task::spawn_blocking(move || crate::raw::blocking_get(http, &path, V2_KEY, DEADLINE))
    };
    let answer = v2(&n2, "/api/v2/disconnect?client_id=c2")
        .await
        .expect("ran");
    assert_eq!(answer, (200, r#""ok""#.to_owned()));
    closed(&mut c2, "c2 closed").await;
    show_until(&n2, listing, &everyone[..3]).await;
    let answer = v2(&n1, "/api/v2/disconnect?client_id=c2")
        .await
        .expect("ran");
    assert_eq!(answer, (200, r#""unknown""#.to_owned()));
    drop((n1, n2, n3));
}

/// Publishes at QoS 1 and waits for the PUBACK.
pub(crate) async fn publish(client: &mut V4Client, topic: &str, payload: &str) {
    client
        .client
        .publish(topic, QoS::AtLeastOnce, false, payload.as_bytes().to_vec())
        .await
        .expect("publish queued");
    wait_for(&mut client.events, "PUBACK", |e| {
        matches!(e, Ok(Event::Incoming(Packet::PubAck(_))))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_id_moving_to_another_node_takes_its_session_over() {
    let root = tempfile::tempdir().expect("data root");
    let [n1, n2, n3] = cluster(root.path(), "st").await;
    let listing = "--client_id&--node";
    let (_stays, _) = connect(&n3, "n3c", true).await;

    // A clean session: the old connection is closed, one session remains.
    let (mut first, _) = connect(&n1, "mover", true).await;
    show_until(&n3, listing, &[row("mover", &n1), row("n3c", &n3)]).await;
    let (_second, present) = connect(&n2, "mover", true).await;
    assert!(!present);
    closed(&mut first, "the first connection closed").await;
    show_until(&n3, listing, &[row("mover", &n2), row("n3c", &n3)]).await;

    // A persistent session moves with its subscription and its queued message.
    let (mut keeper, _) = connect(&n1, "keeper", false).await;
    keeper
        .client
        .subscribe("keep/t", QoS::AtLeastOnce)
        .await
        .expect("subscribe queued");
    wait_for(&mut keeper.events, "SUBACK", |e| {
        matches!(e, Ok(Event::Incoming(Packet::SubAck(_))))
    })
    .await;
    crate::mqtt_support::disconnect(keeper).await;
    let (mut publisher, _) = connect(&n1, "pub", true).await;
    publish(&mut publisher, "keep/t", "queued").await;
    show_until(
        &n2,
        "--client_id=keeper&--offline_messages&--node",
        &[format!("node={},offline_messages=1", n1.node())],
    )
    .await;
    let (mut keeper, present) = connect(&n2, "keeper", false).await;
    assert!(present, "the session moved with the client");
    let events = events_until(
        &mut keeper.events,
        "the queued message",
        |e| matches!(e, Ok(Event::Incoming(Packet::Publish(p))) if p.payload.as_ref() == b"queued"),
    )
    .await;
    assert!(!events.is_empty());
    let topic_row = format!("client_id=keeper,node={},topic=keep/t", n2.node());
    show_until(
        &n3,
        "--client_id=keeper&--client_id&--node&--topic",
        &[topic_row],
    )
    .await;

    // A stopped node costs `session show` its rowtimeout and adds no rows (a whole second, so
    // that the running nodes answer in time on a loaded machine).
    let everyone = [
        row("keeper", &n2),
        row("mover", &n2),
        row("n3c", &n3),
        row("pub", &n1),
    ];
    show_until(&n1, listing, &everyone).await;
    n3.process.signal("STOP");
    let start = Instant::now();
    let rows = show(&n1, &format!("{listing}&--rowtimeout=1000")).await;
    let took = start.elapsed();
    n3.process.signal("CONT");
    assert_eq!(rows, [&everyone[..2], &everyone[3..]].concat());
    assert!(took < Duration::from_secs(5), "{took:?}");
    show_until(&n1, listing, &everyone).await;

    // A killed node: the rest answer at once, without it.
    drop(n3);
    let start = Instant::now();
    let rows = show(&n2, &format!("{listing}&--rowtimeout=1000")).await;
    assert_eq!(rows, [&everyone[..2], &everyone[3..]].concat());
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    drop((n1, n2));
}
