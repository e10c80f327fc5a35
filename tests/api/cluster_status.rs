//! Cluster-wide `/status.json` and `/health/listeners_full_cluster` with real processes: every
//! node's figures come from that node; a stopped or killed node is left out quickly, and a
//! killed one fails the full-cluster health check; the `/status` page in Chromium shows every
//! node.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster_support::{all, three_joined, Member, DOWN_WITHIN};
use crate::process::DEADLINE;
use crate::support::DONE;

/// How fast `/status.json` must answer while a member is dead or dying: each peer gets 2 s, the
/// rest is room for a loaded machine (without the bound a stopped peer would hold it for ever).
const ANSWERS_WITHIN: Duration = Duration::from_secs(6);

/// An MQTT session held open (CONNECT answered by a CONNACK) until dropped.
fn online_client(mqtt: SocketAddr, id: u8) -> TcpStream {
    let mut stream = TcpStream::connect(mqtt).expect("mqtt connect");
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let connect = [
        0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 1, id,
    ];
    stream.write_all(&connect).expect("send CONNECT");
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack).expect("a CONNACK");
    assert_eq!(connack[0], 0x20);
    stream
}

/// `/status.json` of `member` as its one object, keyed by node; asserts it came quickly.
fn status(member: &Member) -> serde_json::Map<String, Value> {
    let started = Instant::now();
    let (code, body) = member.get("/status.json");
    let took = started.elapsed();
    assert_eq!(code, 200, "{body}");
    assert!(took < ANSWERS_WITHIN, "/status.json took {took:?}");
    let json: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(json.as_array().map(Vec::len), Some(1), "{body}");
    json[0].as_object().expect("an object").clone()
}

/// Polls `/status.json` of `member` until `check` holds; panics after `within`.
fn wait_status(
    member: &Member,
    within: Duration,
    check: impl Fn(&serde_json::Map<String, Value>) -> bool,
) {
    let deadline = Instant::now() + within;
    loop {
        let nodes = status(member);
        if check(&nodes) {
            return;
        }
        assert!(Instant::now() < deadline, "/status.json is still {nodes:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn full_cluster(member: &Member) -> (u16, Value) {
    let (code, body) = member.get("/health/listeners_full_cluster");
    (code, serde_json::from_str(&body).expect("JSON"))
}

#[test]
fn status_json_lists_every_node_with_its_own_figures_and_a_dead_one_fails_full_cluster_health() {
    let root = tempfile::tempdir().expect("data root");
    let [n1, n2, n3] = three_joined(root.path(), "st", "");
    assert_eq!(
        full_cluster(&n1),
        (200, serde_json::json!({"status": "OK"}))
    );

    // Two clients on st3, one on st2: st1 reports each node's own count.
    let _clients = [
        online_client(n3.mqtt, b'a'),
        online_client(n3.mqtt, b'b'),
        online_client(n2.mqtt, b'c'),
    ];
    let online = |nodes: &serde_json::Map<String, Value>, member: &Member| {
        nodes.get(&member.node()).map(|n| n["num_online"].clone())
    };
    wait_status(&n1, DEADLINE, |nodes| {
        online(nodes, &n1) == Some(0.into())
            && online(nodes, &n2) == Some(1.into())
            && online(nodes, &n3) == Some(2.into())
    });
    let nodes = status(&n1);
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    let st3 = &nodes[&n3.node()];
    let mqtt_port = st3["listeners"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["type"] == "mqtt"))
        .map(|l| l["port"].clone());
    assert_eq!(
        mqtt_port,
        Some(n3.mqtt.port().into()),
        "st3's own listeners"
    );
    assert_eq!(st3["version"], env!("CARGO_PKG_VERSION"));

    // Stopped, its connection stays open but it answers nothing: left out after the peer timeout.
    n3.process.signal("STOP");
    // A request already on its way when the signal landed may still be answered: poll.
    let stopped = n3.node();
    wait_status(&n1, DEADLINE, |nodes| {
        nodes.len() == 2 && !nodes.contains_key(&stopped)
    });
    n3.process.signal("CONT");
    wait_status(&n1, DEADLINE, |nodes| nodes.len() == 3);

    let dead = n3.node();
    drop(n3); // SIGKILL
              // Answered quickly all along; the dead node is left out and shown down by the others.
    wait_status(&n1, DOWN_WITHIN, |nodes| {
        !nodes.contains_key(&dead) && nodes[&n1.node()]["mystatus"][0][&dead] == Value::Bool(false)
    });
    let deadline = Instant::now() + DOWN_WITHIN;
    loop {
        let (code, body) = full_cluster(&n1);
        if code == 503 {
            assert_eq!(body["status"], "DOWN");
            assert_eq!(
                body["reasons"],
                serde_json::json!(["At least one node is offline"])
            );
            break;
        }
        assert!(Instant::now() < deadline, "still {code} {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        n1.get("/health/listeners").0,
        200,
        "local listeners are fine"
    );
    let nodes = status(&n2);
    assert_eq!(nodes.len(), 2, "{nodes:?}");
}

/// The node sections and member pills the status page shows.
const NODES_JS: &str = r#"(() => ({
  sections: [...document.querySelectorAll("section.node")].map((s) => s.dataset.node).sort(),
  members: [...document.querySelectorAll("[data-member]")].map((m) => [m.dataset.member, m.dataset.running]),
}))()"#;

#[tokio::test]
async fn the_status_page_shows_every_node_and_a_dead_one_as_down() {
    let root = tempfile::tempdir().expect("data root");
    let n1 = Member::start(root.path(), "sp1", "");
    let n2 = Member::start(root.path(), "sp2", "");
    assert_eq!(n2.join(&n1), (200, DONE.to_owned()));
    n1.wait_show(&all(&[&n1, &n2], true), DEADLINE);

    let mut browser = crate::browser::Browser::launch().await;
    browser
        .navigate(&format!("http://{}/status?refresh=1", n1.http))
        .await;
    let (first, second) = (n1.node(), n2.node());
    let both = serde_json::json!({
        "sections": [first, second],
        "members": [[first, "true"], [second, "true"]],
    });
    browser
        .wait_until("both nodes", NODES_JS, |page| *page == both)
        .await;

    drop(n2); // SIGKILL
    let one_left = serde_json::json!({
        "sections": [first],
        "members": [[first, "true"], [second, "false"]],
    });
    browser
        .wait_within(DOWN_WITHIN * 2, "sp2 down", NODES_JS, |page| {
            *page == one_left
        })
        .await;
}
