//! MQTT delivery end to end with rumqttc: QoS 1 and 2, retained messages, wills, persistent
//! sessions with offline queues (and their limits), shared subscriptions, restart persistence.

use rumqttc::{LastWill, QoS};

use crate::mqtt_support::{
    connect_v4, disconnect, events_until, persistent, publish, received, spawn_v4, subscribe_at,
    subscribe_v4, v4_options, v4_publish, wait_for,
};
use crate::support::TestNode;

#[tokio::test]
async fn messages_arrive_at_the_lower_of_published_and_granted_qos() {
    let node = TestNode::start().await;
    let mut subscriber = connect_v4(&node, "sub").await;
    subscribe_at(&mut subscriber, "q/#", QoS::ExactlyOnce).await;
    let mut low = connect_v4(&node, "low").await;
    subscribe_at(&mut low, "q/#", QoS::AtLeastOnce).await;
    let publisher = connect_v4(&node, "pub").await;
    publish(&publisher, "q/1", QoS::AtLeastOnce, false, "one").await;
    publish(&publisher, "q/2", QoS::ExactlyOnce, false, "two").await;
    assert_eq!(received(&mut subscriber, "one").await.0, QoS::AtLeastOnce);
    assert_eq!(received(&mut subscriber, "two").await.0, QoS::ExactlyOnce);
    assert_eq!(received(&mut low, "two").await.0, QoS::AtLeastOnce);
    drop((subscriber, low, publisher));
    node.stop().await;
}

#[tokio::test]
async fn retained_messages_reach_later_subscribers_until_cleared() {
    let node = TestNode::start().await;
    let publisher = connect_v4(&node, "pub").await;
    publish(&publisher, "r/a", QoS::AtLeastOnce, true, "kept").await;
    let mut late = connect_v4(&node, "late").await;
    // Retained delivery may race the publish: wait until the node holds it.
    let mut found = None;
    for _ in 0..50 {
        subscribe_at(&mut late, "r/+", QoS::AtLeastOnce).await;
        let next = tokio::time::timeout(std::time::Duration::from_millis(200), late.events.recv());
        if let Ok(Some(event)) = next.await {
            if let Some(p) = v4_publish(&event) {
                found = Some((p.payload.clone(), p.retain));
                break;
            }
        }
    }
    assert_eq!(found, Some((bytes::Bytes::from_static(b"kept"), true)));
    publish(&publisher, "r/a", QoS::AtLeastOnce, true, "").await;
    let mut later = connect_v4(&node, "later").await;
    publish(&publisher, "r/b", QoS::AtLeastOnce, true, "other").await;
    subscribe_at(&mut later, "r/+", QoS::AtLeastOnce).await;
    let (_, retain) = received(&mut later, "other").await;
    assert!(retain, "a retained message is flagged to new subscribers");
    drop((publisher, late, later));
    node.stop().await;
}

#[tokio::test]
async fn a_client_that_vanishes_leaves_its_will() {
    let node = TestNode::start().await;
    let mut watcher = connect_v4(&node, "watcher").await;
    subscribe_v4(&mut watcher, &["wills/#"]).await;
    let mut options = v4_options(&node, "mortal");
    options.set_last_will(LastWill::new(
        "wills/mortal",
        "gone",
        QoS::AtLeastOnce,
        false,
    ));
    let mut mortal = spawn_v4(options);
    wait_for(
        &mut mortal.events,
        "CONNACK",
        crate::mqtt_support::v4_accepted,
    )
    .await;
    drop(mortal); // the socket closes without DISCONNECT
    received(&mut watcher, "gone").await;
    // A clean DISCONNECT discards the will.
    let mut options = v4_options(&node, "polite");
    options.set_last_will(LastWill::new(
        "wills/polite",
        "never",
        QoS::AtLeastOnce,
        false,
    ));
    let mut polite = spawn_v4(options);
    wait_for(
        &mut polite.events,
        "CONNACK",
        crate::mqtt_support::v4_accepted,
    )
    .await;
    disconnect(polite).await;
    crate::mqtt_support::assert_round_trip(&mut watcher, "wills/marker").await;
    let stray = std::iter::from_fn(|| watcher.events.try_recv().ok())
        .any(|e| v4_publish(&e).is_some_and(|p| p.payload.as_ref() == b"never"));
    assert!(!stray, "no will after a clean disconnect");
    node.stop().await;
}

#[tokio::test]
async fn a_persistent_session_resumes_with_the_messages_it_missed_up_to_the_limit() {
    let node = TestNode::start_with("max_offline_messages = 2\n").await;
    let (mut client, present) = persistent(&node, "keeper").await;
    assert!(!present);
    subscribe_at(&mut client, "news", QoS::AtLeastOnce).await;
    disconnect(client).await;
    let publisher = connect_v4(&node, "pub").await;
    for n in 1..=3 {
        publish(
            &publisher,
            "news",
            QoS::AtLeastOnce,
            false,
            &format!("n{n}"),
        )
        .await;
    }
    let offline = || {
        node.running()
            .node()
            .sessions
            .sessions()
            .get(&vmq_actors::SessionKey::new("", "keeper"))
            .map(|v| v.queue_stats())
    };
    let queued = crate::support::eventually(crate::mqtt_support::DEADLINE, || async {
        offline().is_some_and(|s| s.dropped == 1 && s.waiting == 2)
    })
    .await;
    assert!(queued, "two kept, one dropped: {:?}", offline());
    let (mut client, present) = persistent(&node, "keeper").await;
    assert!(present, "session_present on resume");
    received(&mut client, "n1").await;
    received(&mut client, "n2").await;
    drop((client, publisher));
    node.stop().await;
}

#[tokio::test]
async fn persistent_sessions_and_retained_messages_survive_a_restart() {
    let node = TestNode::start().await;
    let (mut client, _) = persistent(&node, "durable").await;
    subscribe_at(&mut client, "d/#", QoS::AtLeastOnce).await;
    disconnect(client).await;
    let publisher = connect_v4(&node, "pub").await;
    publish(&publisher, "d/queued", QoS::AtLeastOnce, false, "waiting").await;
    publish(&publisher, "d/retained", QoS::AtLeastOnce, true, "sticky").await;
    let key = vmq_actors::SessionKey::new("", "durable");
    let held = crate::support::eventually(crate::mqtt_support::DEADLINE, || async {
        let sessions = node.running().node().sessions.sessions();
        sessions
            .get(&key)
            .is_some_and(|v| v.queue_stats().waiting == 2)
    })
    .await;
    assert!(held, "both messages queued before the restart");
    drop(publisher);
    let node = node.restart().await;
    let (mut client, present) = persistent(&node, "durable").await;
    assert!(present, "the session came back from the store");
    received(&mut client, "waiting").await;
    received(&mut client, "sticky").await;
    let mut fresh = connect_v4(&node, "fresh").await;
    subscribe_at(&mut fresh, "d/retained", QoS::AtMostOnce).await;
    assert!(
        received(&mut fresh, "sticky").await.1,
        "retained after restart"
    );
    drop((client, fresh));
    node.stop().await;
}

#[tokio::test]
async fn a_share_group_gets_each_message_once() {
    let node = TestNode::start().await;
    let mut a = connect_v4(&node, "a").await;
    let mut b = connect_v4(&node, "b").await;
    subscribe_v4(&mut a, &["$share/g/jobs/#"]).await;
    subscribe_v4(&mut b, &["$share/g/jobs/#"]).await;
    let publisher = connect_v4(&node, "pub").await;
    for n in 0..10 {
        publish(
            &publisher,
            "jobs/x",
            QoS::AtMostOnce,
            false,
            &format!("j{n}"),
        )
        .await;
    }
    let mut seen = 0;
    let deadline = tokio::time::Instant::now() + crate::mqtt_support::DEADLINE;
    while seen < 10 && tokio::time::Instant::now() < deadline {
        let step = std::time::Duration::from_millis(50);
        for client in [&mut a, &mut b] {
            while let Ok(Some(event)) = tokio::time::timeout(step, client.events.recv()).await {
                seen += usize::from(v4_publish(&event).is_some());
            }
        }
    }
    assert_eq!(seen, 10, "each job delivered once across the group");
    drop((a, b, publisher));
    node.stop().await;
}

#[tokio::test]
async fn an_unacknowledged_qos1_message_is_sent_again_with_dup_after_the_retry_interval() {
    use crate::mqtt_wire::{packet, string, Event as WireEvent, Wire};
    let node = TestNode::start_with("retry_interval = 1\n").await;
    let mut raw = Wire::connect(crate::mqtt_support::mqtt_addr(&node))
        .await
        .expect("connect");
    raw.handshake(4, "silent", crate::mqtt_support::DEADLINE)
        .await
        .expect("CONNACK");
    let mut body = 1u16.to_be_bytes().to_vec();
    body.extend(string(b"r/t"));
    body.push(1); // QoS 1
    raw.send(&packet(0x82, &body)).await.expect("SUBSCRIBE");
    let publisher = connect_v4(&node, "pub").await;
    let mut suback_seen = false;
    let mut publishes = Vec::new();
    while publishes.len() < 2 {
        match raw.next(std::time::Duration::from_secs(5)).await {
            WireEvent::Packet(p) if p.kind() == 9 => {
                suback_seen = true;
                publish(&publisher, "r/t", QoS::AtLeastOnce, false, "again").await;
            }
            WireEvent::Packet(p) if p.kind() == 3 => publishes.push(p),
            other => panic!("expected SUBACK or PUBLISH, got {other:?}"),
        }
    }
    assert!(suback_seen);
    assert_eq!(publishes[0].header & 0x08, 0, "first delivery without DUP");
    assert_eq!(publishes[1].header & 0x08, 0x08, "the retry carries DUP");
    assert_eq!(
        publishes[0].body, publishes[1].body,
        "same packet id, topic, payload"
    );
    drop(publisher);
    node.stop().await;
}

/// A raw 3.1.1 client with a persistent session: answers it and the CONNACK's session-present.
async fn raw_persistent(node: &TestNode, client_id: &str) -> (crate::mqtt_wire::Wire, bool) {
    use crate::mqtt_wire::{packet, string, Event as WireEvent, Wire};
    let mut raw = Wire::connect(crate::mqtt_support::mqtt_addr(node))
        .await
        .expect("connect");
    let mut body = string(b"MQTT");
    body.extend_from_slice(&[4, 0x00, 0, 60]); // clean session off
    body.extend(string(client_id.as_bytes()));
    raw.send(&packet(0x10, &body)).await.expect("CONNECT");
    match raw.next(crate::mqtt_support::DEADLINE).await {
        WireEvent::Packet(p) if p.kind() == 2 && p.body.get(1) == Some(&0) => {
            let present = p.body.first() == Some(&1);
            (raw, present)
        }
        other => panic!("no CONNACK: {other:?}"),
    }
}

#[tokio::test]
async fn a_takeover_resends_what_the_old_connection_left_unacknowledged() {
    use crate::mqtt_wire::{packet, string, Event as WireEvent};
    let node = TestNode::start().await;
    let (mut old, _) = raw_persistent(&node, "mover").await;
    let mut body = 1u16.to_be_bytes().to_vec();
    body.extend(string(b"m/t"));
    body.push(1);
    old.send(&packet(0x82, &body)).await.expect("SUBSCRIBE");
    assert!(
        matches!(old.next(crate::mqtt_support::DEADLINE).await, WireEvent::Packet(p) if p.kind() == 9)
    );
    let publisher = connect_v4(&node, "pub").await;
    publish(&publisher, "m/t", QoS::AtLeastOnce, false, "carried").await;
    let first = match old.next(crate::mqtt_support::DEADLINE).await {
        WireEvent::Packet(p) if p.kind() == 3 => p,
        other => panic!("expected the PUBLISH, got {other:?}"),
    };
    // No PUBACK: a new connection takes the session over.
    let (mut new, present) = raw_persistent(&node, "mover").await;
    assert!(present, "the session is resumed");
    let again = match new.next(crate::mqtt_support::DEADLINE).await {
        WireEvent::Packet(p) if p.kind() == 3 => p,
        other => panic!("expected the resent PUBLISH, got {other:?}"),
    };
    assert_eq!(again.header & 0x08, 0x08, "resent with DUP");
    assert_eq!(again.body, first.body, "same packet id and message");
    assert_eq!(
        old.next(crate::mqtt_support::DEADLINE).await,
        WireEvent::Closed
    );
    drop(publisher);
    node.stop().await;
}

#[tokio::test]
async fn upgrade_outgoing_qos_delivers_at_the_granted_qos() {
    let node = TestNode::start_with("upgrade_outgoing_qos = on\n").await;
    let mut subscriber = connect_v4(&node, "sub").await;
    subscribe_at(&mut subscriber, "up/#", QoS::ExactlyOnce).await;
    let publisher = connect_v4(&node, "pub").await;
    publish(&publisher, "up/1", QoS::AtMostOnce, false, "raised").await;
    assert_eq!(
        received(&mut subscriber, "raised").await.0,
        QoS::ExactlyOnce
    );
    drop((subscriber, publisher));
    node.stop().await;
}

#[tokio::test]
async fn a_lifo_queue_hands_a_returning_client_the_newest_messages_first() {
    let node = TestNode::start_with("queue_type = lifo\nmax_offline_messages = 2\n").await;
    let (mut client, _) = persistent(&node, "lifo").await;
    subscribe_at(&mut client, "l", QoS::AtLeastOnce).await;
    disconnect(client).await;
    let publisher = connect_v4(&node, "pub").await;
    for n in 1..=3 {
        publish(&publisher, "l", QoS::AtLeastOnce, false, &format!("n{n}")).await;
    }
    let key = vmq_actors::SessionKey::new("", "lifo");
    let queued = crate::support::eventually(crate::mqtt_support::DEADLINE, || async {
        let sessions = node.running().node().sessions.sessions();
        sessions
            .get(&key)
            .is_some_and(|s| s.queue_stats().dropped == 1)
    })
    .await;
    assert!(queued, "the third message pushed the oldest out");
    let (mut client, _) = persistent(&node, "lifo").await;
    let events = events_until(&mut client.events, "n2", |e| {
        v4_publish(e).is_some_and(|p| p.payload.as_ref() == b"n2")
    })
    .await;
    let order: Vec<Vec<u8>> = events
        .iter()
        .filter_map(v4_publish)
        .map(|p| p.payload.to_vec())
        .collect();
    assert_eq!(
        order,
        [b"n3".to_vec(), b"n2".to_vec()],
        "newest first, n1 dropped"
    );
    drop((client, publisher));
    node.stop().await;
}
