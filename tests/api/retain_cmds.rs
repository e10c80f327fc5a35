//! `retain show` (default columns, selection, filters, paging) and `retain delete`, with
//! retained messages published by a real MQTT client.

use rumqttc::QoS;

use crate::mqtt_support::{connect_v4, events_until, publish, subscribe_at, v4_publish};
use crate::sessions::{column, table, table_until};
use crate::support::{alert_text, assert_ok, TestNode, DONE};

#[tokio::test]
async fn retain_show_lists_filters_and_pages_the_retained_messages() {
    let node = TestNode::start().await;
    let publisher = connect_v4(&node, "r-pub").await;
    publish(&publisher, "r/a", QoS::AtLeastOnce, true, "A").await;
    publish(&publisher, "r/b", QoS::AtLeastOnce, true, "B").await;
    table_until(&node, "/api/v1/retain/show", "two retained", |rows| {
        rows.len() == 2
    })
    .await;
    assert_ok(
        &node.get("/api/v1/retain/show").await,
        r#"{"table":[{"payload":"A","topic":"r/a"},{"payload":"B","topic":"r/b"}],"type":"table"}"#,
    );
    let topics = |query: &'static str| {
        let node = &node;
        async move {
            let path = format!("/api/v1/retain/show?--topic&{query}");
            column(&table(node, &path).await, "topic")
        }
    };
    assert_eq!(topics("--topic=r/b").await, ["r/b"]);
    assert_eq!(topics("--payload=~^A").await, ["r/a"]);
    assert_eq!(topics("--topic=~^r/").await, ["r/a", "r/b"]);
    assert_eq!(
        topics("--mountpoint=").await,
        ["r/a", "r/b"],
        "bare = select"
    );
    assert!(
        topics("--topic=r/%2B").await.is_empty(),
        "exact topics only"
    );
    assert!(topics("--mountpoint=mp").await.is_empty());
    assert_eq!(topics("--limit=1&--offset=1").await, ["r/b"]);
    assert_eq!(topics("--limit=1").await, ["r/a"]);
    assert_ok(
        &node
            .get("/api/v1/retain/show?--mountpoint&--topic=r/a")
            .await,
        r#"{"table":[{"mountpoint":""}],"type":"table"}"#,
    );
    for (query, message) in [
        ("--bogus", "unknown flag '--bogus'"),
        ("--limit=x", "invalid value 'x' for --limit"),
        ("--payload=~[", "invalid regex '[' for --payload"),
    ] {
        let reply = node.get(&format!("/api/v1/retain/show?{query}")).await;
        assert_eq!(reply.status, 400, "{query}: {reply:?}");
        let text = alert_text(&reply.body);
        assert!(text.starts_with(message), "{query}: {text}");
        assert!(text.contains("Usage: vmq-admin retain show"), "{text}");
    }
    drop(publisher);
    node.stop().await;
}

#[tokio::test]
async fn retain_delete_removes_the_message_for_later_subscribers() {
    let node = TestNode::start().await;
    let publisher = connect_v4(&node, "d-pub").await;
    publish(&publisher, "r/a", QoS::AtLeastOnce, true, "A").await;
    publish(&publisher, "r/b", QoS::AtLeastOnce, true, "B").await;
    table_until(&node, "/api/v1/retain/show", "two retained", |rows| {
        rows.len() == 2
    })
    .await;
    assert_ok(&node.get("/api/v1/retain/delete?--topic=r/a").await, DONE);
    assert_ok(&node.get("/api/v1/retain/delete?--topic=r/a").await, DONE);
    assert_ok(
        &node
            .get("/api/v1/retain/delete?--topic=r/b&--mountpoint=mp")
            .await,
        DONE,
    );
    let rows = table(&node, "/api/v1/retain/show").await;
    assert_eq!(column(&rows, "topic"), ["r/b"], "only r/a went");
    let mut late = connect_v4(&node, "late").await;
    subscribe_at(&mut late, "r/#", QoS::AtLeastOnce).await;
    // Retained messages come in topic order: r/a would arrive before r/b.
    let events = events_until(&mut late.events, "retained r/b", |e| {
        v4_publish(e).is_some_and(|p| p.topic == "r/b")
    })
    .await;
    assert!(!events
        .iter()
        .any(|e| v4_publish(e).is_some_and(|p| p.topic == "r/a")));
    for (query, message) in [
        ("", "No valid topic given."),
        ("?--topic", "No valid topic given."),
        ("?--topic=r/b&--mountpoint", "Invalid mountpoint value"),
        ("?topic=r/b", "unknown parameter 'topic'"),
    ] {
        let reply = node.get(&format!("/api/v1/retain/delete{query}")).await;
        assert_eq!(reply.status, 400, "{query}: {reply:?}");
        let text = alert_text(&reply.body);
        assert!(text.starts_with(message), "{query}: {text}");
        assert!(text.contains("Usage: vmq-admin retain delete"), "{text}");
    }
    drop((publisher, late));
    node.stop().await;
}
