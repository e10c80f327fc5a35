//! MQTT with real clients (rumqttc v4 and v5): connect, routing over overlapping filters, QoS
//! acknowledgements, takeover.

use rumqttc::v5::mqttbytes::v5::{DisconnectReasonCode, Packet as V5Packet};
use rumqttc::v5::{self, StateError};
use rumqttc::{Event, Packet, QoS};

use crate::mqtt_support::*;
use crate::support::TestNode;

#[tokio::test]
async fn v4_and_v5_clients_get_an_accepting_connack() {
    let node = TestNode::start().await;
    let v4 = connect_v4(&node, "v4-client").await;
    let v5 = connect_v5(&node, "v5-client").await;
    drop((v4, v5));
    node.stop().await;
}

#[tokio::test]
async fn overlapping_filters_deliver_once_and_other_topics_not_at_all() {
    let node = TestNode::start().await;
    let mut subscriber = connect_v4(&node, "sub").await;
    subscribe_v4(&mut subscriber, &["a/+/c", "a/#"]).await;
    let publisher = connect_v5(&node, "pub").await;
    for (topic, payload) in [("a/b/c", "one"), ("x/y", "unwanted"), ("a/m", "marker")] {
        publisher
            .client
            .publish(topic, v5::mqttbytes::QoS::AtMostOnce, false, payload)
            .await
            .expect("publish queued");
    }
    let seen = events_until(&mut subscriber.events, "the marker", |e| {
        v4_publish(e).is_some_and(|p| p.payload.as_ref() == b"marker")
    })
    .await;
    let received: Vec<(String, Vec<u8>)> = seen
        .iter()
        .filter_map(v4_publish)
        .map(|p| (p.topic.clone(), p.payload.to_vec()))
        .collect();
    assert_eq!(
        received,
        [
            ("a/b/c".to_owned(), b"one".to_vec()),
            ("a/m".to_owned(), b"marker".to_vec())
        ],
        "a/b/c once, x/y never"
    );
    drop((subscriber, publisher));
    node.stop().await;
}

#[tokio::test]
async fn qos1_gets_puback_qos2_gets_pubrec_and_pubcomp_subscribers_get_qos0() {
    let node = TestNode::start().await;
    let mut subscriber = connect_v4(&node, "sub").await;
    subscribe_v4(&mut subscriber, &["q/#"]).await;
    let mut publisher = connect_v4(&node, "pub").await;
    let publish = |topic: &'static str, qos| {
        let client = publisher.client.clone();
        async move {
            client
                .publish(topic, qos, false, b"m".to_vec())
                .await
                .expect("publish queued");
        }
    };
    publish("q/1", QoS::AtLeastOnce).await;
    wait_for(&mut publisher.events, "PUBACK", |e| {
        matches!(e, Ok(Event::Incoming(Packet::PubAck(_))))
    })
    .await;
    publish("q/2", QoS::ExactlyOnce).await;
    let seen = events_until(&mut publisher.events, "PUBCOMP", |e| {
        matches!(e, Ok(Event::Incoming(Packet::PubComp(_))))
    })
    .await;
    assert!(
        seen.iter()
            .any(|e| matches!(e, Ok(Event::Incoming(Packet::PubRec(_))))),
        "PUBREC before PUBCOMP: {seen:?}"
    );
    for topic in ["q/1", "q/2"] {
        let event = next_event(&mut subscriber.events, topic, |e| {
            v4_publish(e).is_some_and(|p| p.topic == topic)
        })
        .await;
        let qos = v4_publish(&event).map(|p| p.qos);
        assert_eq!(qos, Some(QoS::AtMostOnce), "{topic} delivered at QoS 0");
    }

    // The same over MQTT 5.
    let mut publisher5 = connect_v5(&node, "pub5").await;
    publisher5
        .client
        .publish("q/3", v5::mqttbytes::QoS::AtLeastOnce, false, "m")
        .await
        .expect("publish queued");
    wait_for(&mut publisher5.events, "v5 PUBACK", |e| {
        matches!(e, Ok(v5::Event::Incoming(V5Packet::PubAck(_))))
    })
    .await;
    publisher5
        .client
        .publish("q/4", v5::mqttbytes::QoS::ExactlyOnce, false, "m")
        .await
        .expect("publish queued");
    wait_for(&mut publisher5.events, "v5 PUBREC", |e| {
        matches!(e, Ok(v5::Event::Incoming(V5Packet::PubRec(_))))
    })
    .await;
    wait_for(&mut publisher5.events, "v5 PUBCOMP", |e| {
        matches!(e, Ok(v5::Event::Incoming(V5Packet::PubComp(_))))
    })
    .await;
    wait_for(&mut subscriber.events, "q/4", |e| {
        v4_publish(e).is_some_and(|p| p.topic == "q/4" && p.qos == QoS::AtMostOnce)
    })
    .await;
    drop((subscriber, publisher, publisher5));
    node.stop().await;
}

#[tokio::test]
async fn a_second_v4_connection_with_the_same_id_takes_over() {
    let node = TestNode::start().await;
    let mut first = connect_v4(&node, "same").await;
    let mut second = connect_v4(&node, "same").await;
    wait_for(
        &mut first.events,
        "the first connection closed",
        Result::is_err,
    )
    .await;
    assert_round_trip(&mut second, "after/takeover").await;
    drop((first, second));
    node.stop().await;
}

#[tokio::test]
async fn a_v5_client_taken_over_is_told_session_taken_over() {
    let node = TestNode::start().await;
    let mut first = connect_v5(&node, "same5").await;
    let mut second = connect_v4(&node, "same5").await;
    let end = next_event(
        &mut first.events,
        "the first connection closed",
        Result::is_err,
    )
    .await;
    assert!(
        matches!(
            end,
            Err(v5::ConnectionError::MqttState(
                StateError::ServerDisconnect {
                    reason_code: DisconnectReasonCode::SessionTakenOver,
                    ..
                }
            ))
        ),
        "{end:?}"
    );
    assert_round_trip(&mut second, "after/takeover5").await;
    drop((first, second));
    node.stop().await;
}
