//! Metrics end to end: real MQTT traffic moves VerneMQ-named counters, `/metrics` parses with a
//! Prometheus parser, `metrics show` agrees with it, `metrics reset`, the namespace, auth, and
//! `metrics_enabled = off`.

use std::collections::BTreeMap;

use rumqttc::v5::mqttbytes::QoS as V5QoS;
use rumqttc::QoS;

use crate::mqtt_support::*;
use crate::support::{assert_unauthorized, eventually, TestNode};

const NODE: &str = "VerneMQ@127.0.0.1";

/// `/metrics`, checked for its status and content type, parsed by `prometheus-parse`.
async fn scrape(node: &TestNode) -> (String, prometheus_parse::Scrape) {
    let reply = node.get_anonymous("/metrics").await;
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    let content_type = reply.headers["content-type"].to_str().expect("ascii");
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let lines = reply.body.lines().map(|line| Ok(line.to_owned()));
    let parsed = prometheus_parse::Scrape::parse(lines).expect("Prometheus text");
    (reply.body, parsed)
}

/// A sample's number, whatever its kind.
pub(crate) fn value(sample: &prometheus_parse::Sample) -> f64 {
    match sample.value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => v,
        _ => f64::NAN,
    }
}

/// The value of the series `name` with exactly these labels (besides `node`).
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == name
                && s.labels.get("node") == Some(NODE)
                && s.labels.len() == labels.len() + 1
                && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
        })
        .map(value)
}

/// The sum of every series of `name`.
fn total(scrape: &prometheus_parse::Scrape, name: &str) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .map(value)
        .sum()
}

/// Waits until `/metrics` satisfies `check` (counts move as packets are handled).
async fn scraped_until(node: &TestNode, check: impl Fn(&prometheus_parse::Scrape) -> bool) {
    let settled = eventually(DEADLINE, || async { check(&scrape(node).await.1) }).await;
    assert!(settled, "{}", scrape(node).await.0);
}

#[tokio::test]
async fn counters_move_with_mqtt_traffic_under_vernemq_names() {
    let node = TestNode::start().await;
    let mut client = connect_v4(&node, "counted").await;
    subscribe_at(&mut client, "m/#", QoS::AtLeastOnce).await;
    publish(&client, "m/1", QoS::AtLeastOnce, true, "hello").await;
    received(&mut client, "hello").await;
    let v4 = [("mqtt_version", "4")];
    scraped_until(&node, |s| {
        sample(s, "vernemq_mqtt_puback_received", &v4) == Some(1.0)
            && sample(s, "vernemq_mqtt_puback_sent", &v4) == Some(1.0)
    })
    .await;
    let (text, metrics) = scrape(&node).await;
    assert!(
        text.contains(&format!(
            "vernemq_mqtt_connect_received{{node=\"{NODE}\",mqtt_version=\"4\"}} 1\n"
        )),
        "the node label comes first:\n{text}"
    );
    assert!(text.contains("# TYPE vernemq_mqtt_publish_received counter\n"));
    let success = [("mqtt_version", "4"), ("return_code", "success")];
    assert_eq!(
        sample(&metrics, "vernemq_mqtt_connack_sent", &success),
        Some(1.0)
    );
    for name in [
        "subscribe_received",
        "suback_sent",
        "publish_received",
        "publish_sent",
    ] {
        let name = format!("vernemq_mqtt_{name}");
        assert_eq!(sample(&metrics, &name, &v4), Some(1.0), "{name}");
    }
    for (name, want) in [
        ("vernemq_socket_open", 1.0),
        ("vernemq_queue_message_in", 1.0),
        ("vernemq_queue_message_out", 1.0),
        ("vernemq_router_matches_local", 1.0),
        ("vernemq_queue_setup", 1.0),
        ("vernemq_active_mqtt_connections", 1.0),
        ("vernemq_router_subscriptions", 1.0),
        ("vernemq_retain_messages", 1.0),
    ] {
        assert_eq!(sample(&metrics, name, &[]), Some(want), "{name}");
    }
    assert!(sample(&metrics, "vernemq_bytes_received", &[]).unwrap_or(0.0) > 20.0);
    assert!(sample(&metrics, "vernemq_bytes_sent", &[]).unwrap_or(0.0) > 20.0);
    assert!(sample(&metrics, "process_resident_memory_bytes", &[]).unwrap_or(0.0) > 1e6);
    assert!(sample(&metrics, "process_open_fds", &[]).unwrap_or(0.0) > 3.0);
    assert!(sample(&metrics, "process_cpu_seconds_total", &[]).is_some());
    disconnect(client).await;
    scraped_until(&node, |s| {
        sample(s, "vernemq_mqtt_disconnect_received", &v4) == Some(1.0)
            && sample(s, "vernemq_socket_close", &[]) == Some(1.0)
            && sample(s, "vernemq_active_mqtt_connections", &[]) == Some(0.0)
    })
    .await;
    node.stop().await;
}

#[tokio::test]
async fn mqtt_5_acknowledgements_carry_their_reason_codes() {
    let node = TestNode::start().await;
    let client = connect_v5(&node, "reasons").await;
    client
        .client
        .publish("nobody/listens", V5QoS::AtLeastOnce, false, b"x".to_vec())
        .await
        .expect("publish queued");
    let no_match = [
        ("mqtt_version", "5"),
        ("reason_code", "no_matching_subscribers"),
    ];
    scraped_until(&node, |s| {
        sample(s, "vernemq_mqtt_puback_sent", &no_match) == Some(1.0)
    })
    .await;
    let (_, metrics) = scrape(&node).await;
    let success = [("mqtt_version", "5"), ("reason_code", "success")];
    assert_eq!(
        sample(&metrics, "vernemq_mqtt_connack_sent", &success),
        Some(1.0)
    );
    let v5 = [("mqtt_version", "5")];
    assert_eq!(
        sample(&metrics, "vernemq_mqtt_publish_received", &v5),
        Some(1.0)
    );
    // A refused CONNECT is counted by its return code.
    drop(client);
    let node = {
        node.stop().await;
        TestNode::start_with("allow_anonymous = off\n").await
    };
    let mut refused = spawn_v4(v4_options(&node, "anonymous"));
    wait_for(&mut refused.events, "refusal", Result::is_err).await;
    let not_authorized = [("mqtt_version", "4"), ("return_code", "not_authorized")];
    let (_, metrics) = scrape(&node).await;
    assert_eq!(
        sample(&metrics, "vernemq_mqtt_connack_sent", &not_authorized),
        Some(1.0)
    );
    node.stop().await;
}

/// `metrics show` lines (`counter.<name> = <value>`) by name.
async fn show(node: &TestNode, query: &str) -> BTreeMap<String, String> {
    let reply = node.get(&format!("/api/v1/metrics/show{query}")).await;
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    let text = reply.json()["text"].as_str().expect("text").to_owned();
    text.lines()
        .filter_map(|line| line.split_once(" = "))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

#[tokio::test]
async fn metrics_show_agrees_with_the_prometheus_endpoint() {
    let node = TestNode::start().await;
    let mut client = connect_v4(&node, "shown").await;
    assert_round_trip(&mut client, "s/t").await;
    let shown = show(&node, "").await;
    let (_, metrics) = scrape(&node).await;
    let mut compared = 0;
    for (line_name, shown_value) in &shown {
        let (kind, name) = line_name.split_once('.').expect("<type>.<name>");
        // Requests and process figures move between the two reads; the data plane does not.
        if name.starts_with("http_") || name.starts_with("process_") {
            continue;
        }
        assert!(matches!(kind, "counter" | "gauge"), "{line_name}");
        let scraped = total(&metrics, &format!("vernemq_{name}"));
        assert_eq!(
            shown_value.parse::<f64>().ok(),
            Some(scraped),
            "{line_name}"
        );
        compared += 1;
    }
    assert!(compared > 40, "only {compared} metrics compared: {shown:?}");
    assert_eq!(shown["counter.mqtt_publish_received"], "1");
    let filtered = show(
        &node,
        "?--aggregate=false&--mqtt_version=4&--return_code=success",
    )
    .await;
    let line = "counter.mqtt_connack_sent{mqtt_version=\"4\",return_code=\"success\"}";
    assert_eq!(
        filtered.get(line).map(String::as_str),
        Some("1"),
        "{filtered:?}"
    );
    assert_eq!(filtered.len(), 1, "{filtered:?}");
    let described = node.get("/api/v1/metrics/show?-d&--mqtt_version=5").await;
    let text = described.json()["text"].as_str().expect("text").to_owned();
    assert!(
        text.contains(
            "# The number of CONNECT packets received.\ncounter.mqtt_connect_received = 0\n\n"
        ),
        "{text}"
    );
    let bad = node.get("/api/v1/metrics/show?--bogus").await;
    assert_eq!(bad.status.as_u16(), 400, "{bad:?}");
    node.stop().await;
}

#[tokio::test]
async fn metrics_reset_zeroes_counters_but_not_gauges() {
    let node = TestNode::start().await;
    let mut client = connect_v4(&node, "reset").await;
    subscribe_v4(&mut client, &["r/#"]).await;
    publish(&client, "r/kept", QoS::AtMostOnce, true, "kept").await;
    received(&mut client, "kept").await;
    let reply = node.get("/api/v1/metrics/reset").await;
    assert_eq!(reply.json()["text"], "Done");
    let shown = show(&node, "").await;
    assert_eq!(shown["counter.mqtt_publish_received"], "0");
    assert_eq!(shown["counter.socket_open"], "0");
    assert_eq!(shown["gauge.retain_messages"], "1");
    assert_eq!(shown["gauge.active_mqtt_connections"], "1");
    assert_eq!(shown["gauge.router_subscriptions"], "1");
    // Counting goes on from zero.
    publish_v4(&client, "r/again", "again").await;
    received(&mut client, "again").await;
    assert_eq!(show(&node, "").await["counter.mqtt_publish_received"], "1");
    node.stop().await;
}

#[tokio::test]
async fn http_requests_are_counted_by_command_and_status() {
    let node = TestNode::start().await;
    node.get("/api/v1/cluster/show").await;
    node.get("/api/v1/cluster/show").await;
    node.get("/api/v1/nope").await;
    node.get_anonymous("/api/v1/cluster/show").await;
    node.get_anonymous("/no/such/page").await;
    let (_, metrics) = scrape(&node).await;
    let count = |command, status| {
        sample(
            &metrics,
            "vernemq_http_requests",
            &[("command", command), ("status", status)],
        )
    };
    assert_eq!(count("cluster show", "200"), Some(2.0));
    assert_eq!(count("unknown", "400"), Some(1.0));
    assert_eq!(count("/api/v1", "401"), Some(1.0));
    assert_eq!(count("unknown", "404"), Some(1.0));
    node.stop().await;
}

#[tokio::test]
async fn the_namespace_and_auth_mode_are_configurable() {
    let config = "prometheus_namespace = acme\nhttp_module.vmq_metrics_http.auth.mode = apikey\n";
    let node = TestNode::start_with(config).await;
    assert_unauthorized(&node.get_anonymous("/metrics").await);
    let mgmt = node.get("/metrics").await;
    assert_eq!(mgmt.status.as_u16(), 401, "a mgmt key is not a metrics key");
    let key = node.create_key("metrics").await;
    let reply = node.get_with_basic("/metrics", &key).await;
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    assert!(
        reply.body.contains("\nacme_mqtt_connect_received{"),
        "{}",
        reply.body
    );
    assert!(!reply.body.contains("vernemq_"));
    let post = node
        .request(hyper::Method::POST, "/metrics", &[], bytes::Bytes::new())
        .await;
    assert_eq!(post.status.as_u16(), 405);
    node.stop().await;
}

#[tokio::test]
async fn metrics_enabled_off_counts_nothing_but_gauges_still_read() {
    let node = TestNode::start_with("metrics_enabled = off\n").await;
    let mut client = connect_v4(&node, "uncounted").await;
    assert_round_trip(&mut client, "u/t").await;
    let (_, metrics) = scrape(&node).await;
    assert_eq!(total(&metrics, "vernemq_mqtt_publish_received"), 0.0);
    assert_eq!(sample(&metrics, "vernemq_socket_open", &[]), Some(0.0));
    assert_eq!(
        sample(&metrics, "vernemq_active_mqtt_connections", &[]),
        Some(1.0)
    );
    assert_eq!(
        sample(&metrics, "vernemq_router_subscriptions", &[]),
        Some(1.0)
    );
    node.stop().await;
}
