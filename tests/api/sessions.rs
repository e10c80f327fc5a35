//! `session show` against real MQTT clients (rumqttc v4 and v5): default columns, every field,
//! filters and regexes, subscription and message rows, paging, bad input, and the CLI table.

use std::time::{Duration, Instant};

use rumqttc::v5::mqttbytes::v5::Filter;
use rumqttc::v5::mqttbytes::QoS as V5QoS;
use rumqttc::QoS;
use serde_json::{json, Value};

use crate::mqtt_support::{
    connect_v4, connect_v5, disconnect, persistent, publish, spawn_v4, subscribe_at, v4_accepted,
    v4_options, wait_for, V4Client, V5Client,
};
use crate::process::{admin, assert_success};
use crate::support::{alert_text, assert_ok, TestNode};

/// The rows of a 200 table answer to `GET path`.
pub async fn table(node: &TestNode, path: &str) -> Vec<Value> {
    let reply = node.get(path).await;
    assert_eq!(reply.status, 200, "{path}: {reply:?}");
    let json = reply.json();
    assert_eq!(json["type"], "table", "{path}: {}", reply.body);
    json["table"].as_array().expect("rows").clone()
}

/// Polls `GET path` until its rows satisfy `ready`; panics with the last rows after 10 s.
pub async fn table_until(
    node: &TestNode,
    path: &str,
    what: &str,
    ready: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = table(node, path).await;
        if ready(&rows) {
            return rows;
        }
        assert!(Instant::now() < deadline, "{what}: {path} gave {rows:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One column of `rows`, as strings (`client_id`s, topics…).
pub fn column(rows: &[Value], name: &str) -> Vec<String> {
    rows.iter()
        .map(|row| row[name].as_str().unwrap_or("<not a string>").to_owned())
        .collect()
}

/// The client ids `session show` answers to `query` (which must select `--client_id`).
async fn ids(node: &TestNode, query: &str) -> Vec<String> {
    let path = format!("/api/v1/session/show?--client_id&{query}");
    column(&table(node, &path).await, "client_id")
}

/// `c-off` (persistent, offline), `c-v4` (user alice) and `c-v5` (no user) online.
async fn three_sessions(node: &TestNode) -> (V4Client, V5Client) {
    let (offline, _) = persistent(node, "c-off").await;
    disconnect(offline).await;
    let mut options = v4_options(node, "c-v4");
    options.set_credentials("alice", "secret");
    let mut v4 = spawn_v4(options);
    wait_for(&mut v4.events, "v4 CONNACK", v4_accepted).await;
    let v5 = connect_v5(node, "c-v5").await;
    table_until(node, "/api/v1/session/show", "c-off offline", |rows| {
        rows.len() == 3 && rows[0]["is_online"] == false
    })
    .await;
    (v4, v5)
}

#[tokio::test]
async fn default_columns_for_online_v4_and_v5_clients_and_an_offline_session() {
    let node = TestNode::start().await;
    let clients = three_sessions(&node).await;
    let rows = table(&node, "/api/v1/session/show").await;
    assert_eq!(column(&rows, "client_id"), ["c-off", "c-v4", "c-v5"]);
    for row in &rows {
        let keys: Vec<&String> = row.as_object().expect("object").keys().collect();
        assert_eq!(
            keys,
            [
                "client_id",
                "is_online",
                "mountpoint",
                "peer_host",
                "peer_port",
                "user"
            ]
        );
    }
    assert_eq!(rows[1]["user"], "alice");
    assert_eq!(rows[2]["user"], Value::Null);
    for online in &rows[1..] {
        assert_eq!(online["is_online"], true);
        assert_eq!(online["mountpoint"], "");
        assert_eq!(online["peer_host"], "127.0.0.1");
        assert!(
            online["peer_port"].as_u64().is_some_and(|p| p > 0),
            "{online}"
        );
    }
    assert_ok(
        &node.get("/api/v1/session/show?--client_id=c-off").await,
        r#"{"table":[{"client_id":"c-off","is_online":false,"mountpoint":"","peer_host":null,"peer_port":null,"user":null}],"type":"table"}"#,
    );
    drop(clients);
    node.stop().await;
}

const QUEUE_AND_SESSION_FIELDS: &str = "--clean_session&--deliver_mode&--is_offline&--is_online&--is_plugin&--node&--num_sessions&--offline_messages&--online_messages&--protocol&--queue_pid&--queue_size&--queue_started_at&--session_pid&--session_started_at&--statename&--waiting_acks";

fn is_pid(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.starts_with("<0.") && s.ends_with(".0>"))
}

#[tokio::test]
async fn every_queue_and_session_field_for_each_kind_of_session() {
    let node = TestNode::start().await;
    let clients = three_sessions(&node).await;
    let path = format!("/api/v1/session/show?--client_id&{QUEUE_AND_SESSION_FIELDS}");
    let rows = table(&node, &path).await;
    let keys: Vec<&String> = rows[0].as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 18, "{keys:?}");
    let (off, v4, v5) = (&rows[0], &rows[1], &rows[2]);
    for (row, online) in [(off, false), (v4, true), (v5, true)] {
        assert_eq!(row["deliver_mode"], "fanout");
        assert_eq!(row["is_plugin"], false);
        assert_eq!(row["node"], "VerneMQ@127.0.0.1");
        assert_eq!(row["queue_size"], Value::Null);
        assert_eq!(
            (&row["offline_messages"], &row["online_messages"]),
            (&json!(0), &json!(0))
        );
        assert_eq!(
            (&row["is_online"], &row["is_offline"]),
            (&json!(online), &json!(!online))
        );
        assert_eq!(row["num_sessions"], json!(u8::from(online)));
        assert_eq!(row["statename"], if online { "online" } else { "offline" });
        assert!(is_pid(&row["queue_pid"]), "{row}");
        assert!(row["queue_started_at"]
            .as_i64()
            .is_some_and(|ms| ms > 1_600_000_000_000));
    }
    assert_eq!(off["clean_session"], false);
    for field in [
        "protocol",
        "session_pid",
        "session_started_at",
        "waiting_acks",
    ] {
        assert_eq!(off[field], Value::Null, "{field}: {off}");
    }
    assert_eq!((&v4["protocol"], &v5["protocol"]), (&json!(4), &json!(5)));
    for online in [v4, v5] {
        assert_eq!(online["clean_session"], true);
        assert_eq!(online["waiting_acks"], 0);
        assert!(is_pid(&online["session_pid"]), "{online}");
        assert!(online["session_started_at"].as_i64() >= online["queue_started_at"].as_i64());
    }
    assert_ne!(v4["session_pid"], v5["session_pid"]);
    // A pid selects its own session.
    let pid = v4["session_pid"].as_str().expect("pid");
    let query = format!(
        "--session_pid={}",
        pid.replace('<', "%3C").replace('>', "%3E")
    );
    assert_eq!(ids(&node, &query).await, ["c-v4"]);
    drop(clients);
    node.stop().await;
}

#[tokio::test]
async fn filters_by_value_regex_boolean_integer_and_undefined() {
    let node = TestNode::start().await;
    let clients = three_sessions(&node).await;
    let all = ["c-off", "c-v4", "c-v5"];
    let port = table(&node, "/api/v1/session/show?--client_id=c-v4&--peer_port").await[0]
        ["peer_port"]
        .as_u64()
        .expect("port");
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("--client_id=c-v4".into(), vec!["c-v4"]),
        ("--client_id=~^c-v".into(), vec!["c-v4", "c-v5"]),
        ("--client_id=~off$".into(), vec!["c-off"]),
        ("--is_online=false".into(), vec!["c-off"]),
        ("--is_offline=false".into(), vec!["c-v4", "c-v5"]),
        ("--user=undefined".into(), vec!["c-off", "c-v5"]),
        ("--user=alice".into(), vec!["c-v4"]),
        ("--user=~^al".into(), vec!["c-v4"]),
        ("--protocol=5".into(), vec!["c-v5"]),
        ("--statename=online&--client_id=~4$".into(), vec!["c-v4"]),
        (format!("--peer_port={port}"), vec!["c-v4"]),
        ("--peer_host=127.0.0.1".into(), vec!["c-v4", "c-v5"]),
        ("--clean_session=false".into(), vec!["c-off"]),
        (
            "--num_sessions=1&--waiting_acks=0".into(),
            vec!["c-v4", "c-v5"],
        ),
        ("--node=VerneMQ@127.0.0.1".into(), all.to_vec()),
        (
            "--deliver_mode=fanout&--is_plugin=false".into(),
            all.to_vec(),
        ),
        ("--mountpoint=undefined".into(), vec![]),
        ("--client_id=nobody".into(), vec![]),
    ];
    for (query, expected) in cases {
        assert_eq!(ids(&node, &query).await, expected, "{query}");
    }
    // A filter alone selects no column: the default columns stay.
    let rows = table(&node, "/api/v1/session/show?--user=alice").await;
    assert_eq!(rows[0].as_object().expect("object").len(), 6);
    drop(clients);
    node.stop().await;
}

#[tokio::test]
async fn subscription_fields_give_one_row_per_subscription() {
    let node = TestNode::start().await;
    let mut v4 = connect_v4(&node, "s-v4").await;
    subscribe_at(&mut v4, "a/b", QoS::AtMostOnce).await;
    subscribe_at(&mut v4, "c/#", QoS::AtLeastOnce).await;
    let v5 = connect_v5(&node, "s-v5").await;
    let mut filter = Filter::new("x/y", V5QoS::ExactlyOnce);
    filter.nolocal = true;
    filter.preserve_retain = true;
    v5.client.subscribe_many([filter]).await.expect("queued");
    let _none = connect_v4(&node, "s-none").await;
    let path = "/api/v1/session/show?--client_id&--topic&--qos&--rap&--no_local";
    let rows = table_until(&node, path, "three subscriptions", |rows| rows.len() == 3).await;
    assert_eq!(
        Value::Array(rows),
        json!([
            {"client_id": "s-v4", "no_local": null, "qos": 0, "rap": null, "topic": "a/b"},
            {"client_id": "s-v4", "no_local": null, "qos": 1, "rap": null, "topic": "c/#"},
            {"client_id": "s-v5", "no_local": true, "qos": 2, "rap": true, "topic": "x/y"},
        ])
    );
    // Filtering by a subscription field also gives subscription rows.
    assert_eq!(ids(&node, "--topic=c/%23").await, ["s-v4"]);
    assert_eq!(ids(&node, "--qos=2").await, ["s-v5"]);
    assert_eq!(ids(&node, "--rap=undefined").await, ["s-v4", "s-v4"]);
    assert_eq!(ids(&node, "--topic=~^[ax]/").await, ["s-v4", "s-v5"]);
    // Without subscription fields: one row per session, s-none included.
    assert_eq!(ids(&node, "").await, ["s-none", "s-v4", "s-v5"]);
    drop((v4, v5, _none));
    node.stop().await;
}

#[tokio::test]
async fn limit_and_offset_page_over_many_sessions_in_client_id_order() {
    let node = TestNode::start().await;
    let names: Vec<String> = (0..30).map(|i| format!("p-{i:02}")).collect();
    let mut clients = Vec::new();
    for chunk in names.chunks(10) {
        let connects = chunk.iter().map(|id| connect_v4(&node, id));
        clients.extend(futures_util::future::join_all(connects).await);
    }
    assert_eq!(ids(&node, "").await, names, "default limit 100 covers all");
    let alias = table(&node, "/api/v1/sessions?--client_id&--limit=3").await;
    assert_eq!(column(&alias, "client_id"), names[..3]);
    assert_eq!(ids(&node, "--limit=10&--offset=10").await, names[10..20]);
    assert_eq!(ids(&node, "--limit=5").await, names[..5]);
    assert_eq!(ids(&node, "--offset=28").await, names[28..]);
    assert!(ids(&node, "--offset=30").await.is_empty());
    assert!(ids(&node, "--limit=0").await.is_empty());
    let mut paged = Vec::new();
    for page in 0..5 {
        let query = format!("--limit=7&--offset={}", page * 7);
        paged.extend(ids(&node, &query).await);
    }
    assert_eq!(paged, names);
    // The offset counts rows that pass the filters.
    assert_eq!(
        ids(&node, "--client_id=~[05]$&--offset=2").await,
        ["p-10", "p-15", "p-20", "p-25"]
    );
    drop(clients);
    node.stop().await;
}

#[tokio::test]
async fn message_fields_give_one_row_per_queued_message() {
    let node = TestNode::start().await;
    let (mut queued, _) = persistent(&node, "q-off").await;
    subscribe_at(&mut queued, "m/#", QoS::AtLeastOnce).await;
    disconnect(queued).await;
    let publisher = connect_v4(&node, "q-pub").await;
    publish(&publisher, "m/1", QoS::AtLeastOnce, false, "one").await;
    publish(&publisher, "m/2", QoS::AtLeastOnce, false, "two").await;
    let path = "/api/v1/session/show?--client_id=q-off&--offline_messages";
    table_until(&node, path, "two offline messages", |rows| {
        rows.first().is_some_and(|r| r["offline_messages"] == 2)
    })
    .await;
    let fields =
        "/api/v1/session/show?--client_id&--msg_ref&--msg_qos&--routing_key&--dup&--payload";
    let rows = table(&node, fields).await;
    assert_eq!(
        column(&rows, "client_id"),
        ["q-off", "q-off"],
        "q-pub has none"
    );
    assert_eq!(column(&rows, "routing_key"), ["m/1", "m/2"]);
    assert_eq!(column(&rows, "payload"), ["one", "two"]);
    for row in &rows {
        assert_eq!((&row["msg_qos"], &row["dup"]), (&json!(1), &json!(false)));
        let reference = row["msg_ref"].as_str().expect("msg_ref");
        assert!(
            reference.len() == 16 && !reference.contains('='),
            "{reference}"
        );
    }
    assert_ne!(rows[0]["msg_ref"], rows[1]["msg_ref"]);
    assert_eq!(table(&node, fields).await, rows, "references are stable");
    let reference = rows[1]["msg_ref"].as_str().expect("msg_ref");
    let by_ref = format!(
        "/api/v1/session/show?--msg_ref={}&--payload",
        reference.replace('+', "%2B")
    );
    assert_eq!(column(&table(&node, &by_ref).await, "payload"), ["two"]);
    let by_payload = "/api/v1/session/show?--payload=two&--routing_key";
    assert_eq!(
        column(&table(&node, by_payload).await, "routing_key"),
        ["m/2"]
    );
    // Subscription and message fields together: every pair.
    let both = "/api/v1/session/show?--topic&--payload";
    assert_eq!(table(&node, both).await.len(), 2);
    drop(publisher);
    node.stop().await;
}

#[tokio::test]
async fn unknown_fields_and_bad_values_are_400_naming_them() {
    let node = TestNode::start().await;
    let cases = [
        ("--bogus", "unknown flag '--bogus'"),
        ("--client_id&--bogus=1", "unknown flag '--bogus'"),
        ("--limit=abc", "invalid value 'abc' for --limit"),
        ("--limit", "flag --limit needs a value"),
        ("--rowtimeout=soon", "invalid value 'soon' for --rowtimeout"),
        ("--offset=-1", "invalid value '-1' for --offset"),
        ("--is_online=maybe", "invalid value 'maybe' for --is_online"),
        ("--peer_port=http", "invalid value 'http' for --peer_port"),
        ("--client_id=~(", "invalid regex '(' for --client_id"),
        ("client_id=x", "unknown parameter 'client_id'"),
    ];
    for (query, message) in cases {
        let reply = node.get(&format!("/api/v1/session/show?{query}")).await;
        assert_eq!(reply.status, 400, "{query}: {reply:?}");
        let text = alert_text(&reply.body);
        assert!(text.starts_with(message), "{query}: {text}");
        assert!(text.contains("Usage: vmq-admin session show"), "{text}");
    }
    let ok = node
        .get("/api/v1/session/show?--rowtimeout=5&--limit=1000")
        .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    node.stop().await;
}

#[tokio::test]
async fn the_cli_prints_a_human_table_with_alphabetical_columns() {
    let node = TestNode::start().await;
    let _client = connect_v4(&node, "cli-1").await;
    let rows = table(&node, "/api/v1/session/show?--peer_port").await;
    let port = rows[0]["peer_port"].as_u64().expect("port");
    let out = admin(&node, &["session", "show"]).await;
    assert_success(&out, "session show");
    let expected = format!(
        "\
+-----------+-----------+------------+-----------+-----------+------+
| client_id | is_online | mountpoint | peer_host | peer_port | user |
+-----------+-----------+------------+-----------+-----------+------+
| cli-1     | true      |            | 127.0.0.1 | {port:<9} |      |
+-----------+-----------+------------+-----------+-----------+------+
"
    );
    assert_eq!(out.stdout, expected);
    let out = admin(
        &node,
        &["session", "show", "--topic", "--client_id", "--limit", "5"],
    )
    .await;
    assert_success(&out, "session show --topic --client_id --limit 5");
    assert_eq!(
        out.stdout,
        "+-----------+-------+\n| client_id | topic |\n+-----------+-------+\n"
    );
    node.stop().await;
}
