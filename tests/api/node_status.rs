//! `node status` reflects the MQTT data plane: sessions online and offline, subscriptions,
//! retained messages and the message counters.

use std::collections::HashMap;

use rumqttc::QoS;

use crate::mqtt_support::{connect_v4, spawn_v4, subscribe_v4, v4_options, v4_publish, wait_for};
use crate::support::TestNode;

/// `node status` as name → value.
async fn status(node: &TestNode) -> HashMap<String, serde_json::Value> {
    let reply = node.get("/api/v1/node/status").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["table"]
        .as_array()
        .expect("a table")
        .iter()
        .map(|row| {
            (
                row["Status"].as_str().unwrap_or_default().to_owned(),
                row["Value"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn node_status_counts_sessions_subscriptions_retained_and_messages() {
    let node = TestNode::start().await;
    node.create_key("mgmt").await;
    let mut options = v4_options(&node, "away");
    options.set_clean_session(false);
    let mut away = spawn_v4(options);
    wait_for(
        &mut away.events,
        "CONNACK",
        crate::mqtt_support::v4_accepted,
    )
    .await;
    away.client
        .subscribe("s/#", QoS::AtLeastOnce)
        .await
        .expect("queued");
    away.client.disconnect().await.expect("queued");
    wait_for(&mut away.events, "closed", Result::is_err).await;
    let mut here = connect_v4(&node, "here").await;
    subscribe_v4(&mut here, &["s/#"]).await;
    here.client
        .publish("s/1", QoS::AtLeastOnce, true, b"kept".to_vec())
        .await
        .expect("queued");
    wait_for(&mut here.events, "own message", |e| v4_publish(e).is_some()).await;
    let want = [
        ("num_online", 1),
        ("num_offline", 1),
        ("num_subscriptions", 2),
        ("num_retained", 1),
        ("msg_in", 1),
        ("msg_out", 1),
        ("matches_local", 2),
        ("queue_in", 2),
    ];
    let deadline = tokio::time::Instant::now() + crate::mqtt_support::DEADLINE;
    let last = loop {
        let now = status(&node).await;
        let settled = want.iter().all(|(name, value)| now[*name] == *value);
        if settled || tokio::time::Instant::now() > deadline {
            break now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    for (name, value) in want {
        assert_eq!(last[name], value, "{name} in {last:?}");
    }
    assert_eq!(last["version"], env!("CARGO_PKG_VERSION"));
    drop((away, here));
    node.stop().await;
}
