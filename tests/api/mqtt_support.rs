//! MQTT test helpers: rumqttc clients (v4 and v5) whose event loop runs in a task and forwards
//! every event to a channel, and waiting for an event with a deadline.

#![allow(dead_code)]

use std::fmt::Debug;
use std::net::SocketAddr;
use std::time::Duration;

use rumqttc::v5;
use rumqttc::{Event, Packet, QoS};
use tokio::sync::mpsc::{self, UnboundedReceiver};
use tokio::task::JoinHandle;

use crate::support::TestNode;

/// How long any expected MQTT event may take.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// What a v4 event loop yields.
pub type V4Event = Result<rumqttc::Event, rumqttc::ConnectionError>;
/// What a v5 event loop yields.
pub type V5Event = Result<v5::Event, v5::ConnectionError>;

/// A client, the events of its event loop, and the task driving it (aborted on drop).
pub struct Client<C, E> {
    pub client: C,
    pub events: UnboundedReceiver<E>,
    task: JoinHandle<()>,
}

impl<C, E> Drop for Client<C, E> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub type V4Client = Client<rumqttc::AsyncClient, V4Event>;
pub type V5Client = Client<v5::AsyncClient, V5Event>;

/// The node's first MQTT listener.
pub fn mqtt_addr(node: &TestNode) -> SocketAddr {
    node.running()
        .mqtt_addrs()
        .first()
        .map(|(_, addr)| *addr)
        .expect("an MQTT listener")
}

/// v4 (MQTT 3.1.1) options for `id` on the node's MQTT port.
pub fn v4_options(node: &TestNode, id: &str) -> rumqttc::MqttOptions {
    let addr = mqtt_addr(node);
    let mut options = rumqttc::MqttOptions::new(id, addr.ip().to_string(), addr.port());
    options.set_keep_alive(Duration::from_secs(30));
    options
}

/// v5 options for `id` on the node's MQTT port.
pub fn v5_options(node: &TestNode, id: &str) -> v5::MqttOptions {
    let addr = mqtt_addr(node);
    let mut options = v5::MqttOptions::new(id, addr.ip().to_string(), addr.port());
    options.set_keep_alive(Duration::from_secs(30));
    options
}

/// Starts a v4 client; its event loop stops at the first error (no reconnect).
pub fn spawn_v4(options: rumqttc::MqttOptions) -> V4Client {
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 64);
    let (tx, events) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            let event = eventloop.poll().await;
            let failed = event.is_err();
            if tx.send(event).is_err() || failed {
                break;
            }
        }
    });
    Client {
        client,
        events,
        task,
    }
}

/// Starts a v5 client; its event loop stops at the first error (no reconnect).
pub fn spawn_v5(options: v5::MqttOptions) -> V5Client {
    let (client, mut eventloop) = v5::AsyncClient::new(options, 64);
    let (tx, events) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            let event = eventloop.poll().await;
            let failed = event.is_err();
            if tx.send(event).is_err() || failed {
                break;
            }
        }
    });
    Client {
        client,
        events,
        task,
    }
}

/// The events up to and including the first that matches, within [`DEADLINE`]; panics with
/// `what` and the events seen when none does (or the event loop ended first).
pub async fn events_until<E: Debug>(
    events: &mut UnboundedReceiver<E>,
    what: &str,
    mut matches: impl FnMut(&E) -> bool,
) -> Vec<E> {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => {
                let done = matches(&event);
                seen.push(event);
                if done {
                    return seen;
                }
            }
            Ok(None) => panic!("event loop ended before {what}; seen: {seen:?}"),
            Err(_) => panic!("no {what} within {DEADLINE:?}; seen: {seen:?}"),
        }
    }
}

/// The first event that matches, within [`DEADLINE`].
pub async fn next_event<E: Debug>(
    events: &mut UnboundedReceiver<E>,
    what: &str,
    matches: impl FnMut(&E) -> bool,
) -> E {
    events_until(events, what, matches)
        .await
        .pop()
        .expect("events_until returns the match last")
}

/// Waits for the first event that matches, within [`DEADLINE`].
pub async fn wait_for<E: Debug>(
    events: &mut UnboundedReceiver<E>,
    what: &str,
    matches: impl FnMut(&E) -> bool,
) {
    events_until(events, what, matches).await;
}

/// Whether a v4 event is an accepting CONNACK.
pub fn v4_accepted(event: &V4Event) -> bool {
    matches!(event, Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(ack)))
        if ack.code == rumqttc::ConnectReturnCode::Success)
}

/// Whether a v5 event is an accepting CONNACK.
pub fn v5_accepted(event: &V5Event) -> bool {
    use v5::mqttbytes::v5::{ConnectReturnCode, Packet};
    matches!(event, Ok(v5::Event::Incoming(Packet::ConnAck(ack)))
        if ack.code == ConnectReturnCode::Success)
}

/// A v4 client connected as `id` (CONNACK accepted).
pub async fn connect_v4(node: &TestNode, id: &str) -> V4Client {
    let mut client = spawn_v4(v4_options(node, id));
    wait_for(&mut client.events, "v4 CONNACK", v4_accepted).await;
    client
}

/// A v5 client connected as `id` (CONNACK accepted).
pub async fn connect_v5(node: &TestNode, id: &str) -> V5Client {
    let mut client = spawn_v5(v5_options(node, id));
    wait_for(&mut client.events, "v5 CONNACK", v5_accepted).await;
    client
}

/// The payload of a v4 incoming PUBLISH, if `event` is one.
pub fn v4_publish(event: &V4Event) -> Option<&rumqttc::Publish> {
    match event {
        Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(publish))) => Some(publish),
        _ => None,
    }
}

/// The incoming PUBLISH of a v5 `event`, if it is one.
pub fn v5_publish(event: &V5Event) -> Option<&rumqttc::v5::mqttbytes::v5::Publish> {
    match event {
        Ok(v5::Event::Incoming(v5::mqttbytes::v5::Packet::Publish(publish))) => Some(publish),
        _ => None,
    }
}

/// Subscribes a v4 client to `filters` (QoS 0) and waits for the SUBACK.
pub async fn subscribe_v4(client: &mut V4Client, filters: &[&str]) {
    let filters = filters
        .iter()
        .map(|f| rumqttc::SubscribeFilter::new((*f).to_owned(), rumqttc::QoS::AtMostOnce));
    client
        .client
        .subscribe_many(filters)
        .await
        .expect("subscribe queued");
    wait_for(&mut client.events, "SUBACK", |e| {
        matches!(e, Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))))
    })
    .await;
}

/// Publishes at QoS 0 from a v4 client.
pub async fn publish_v4(client: &V4Client, topic: &str, payload: &str) {
    client
        .client
        .publish(
            topic,
            rumqttc::QoS::AtMostOnce,
            false,
            payload.as_bytes().to_vec(),
        )
        .await
        .expect("publish queued");
}

/// Asserts that `client` still round-trips a message through the node.
pub async fn assert_round_trip(client: &mut V4Client, topic: &str) {
    subscribe_v4(client, &[topic]).await;
    publish_v4(client, topic, "ping").await;
    wait_for(&mut client.events, "own message back", |e| {
        v4_publish(e).is_some_and(|p| p.topic == topic && p.payload.as_ref() == b"ping")
    })
    .await;
}

/// `active_conns` of the `mqtt` row of `listener show`.
pub async fn active_mqtt_conns(node: &TestNode) -> u64 {
    let reply = node.get("/api/v1/listener/show").await;
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    let json = reply.json();
    let row = json["table"]
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["type"] == "mqtt"))
        .unwrap_or_else(|| panic!("no mqtt row in {json}"))
        .clone();
    let count = &row["active_conns"];
    count
        .as_u64()
        .or_else(|| count.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("active_conns of {row}"))
}

/// Subscribes at `qos` and waits for the SUBACK.
pub async fn subscribe_at(client: &mut V4Client, filter: &str, qos: QoS) {
    client
        .client
        .subscribe(filter, qos)
        .await
        .expect("subscribe queued");
    wait_for(&mut client.events, "SUBACK", |e| {
        matches!(e, Ok(Event::Incoming(Packet::SubAck(_))))
    })
    .await;
}

/// Publishes `payload` to `topic` at `qos`, retained or not.
pub async fn publish(client: &V4Client, topic: &str, qos: QoS, retain: bool, payload: &str) {
    client
        .client
        .publish(topic, qos, retain, payload.as_bytes().to_vec())
        .await
        .expect("publish queued");
}

/// Waits for a PUBLISH with `payload` and answers its QoS and retain flag.
pub async fn received(client: &mut V4Client, payload: &str) -> (QoS, bool) {
    let events = events_until(&mut client.events, payload, |e| {
        v4_publish(e).is_some_and(|p| p.payload.as_ref() == payload.as_bytes())
    })
    .await;
    let last = events.last().and_then(v4_publish).expect("the publish");
    (last.qos, last.retain)
}

/// A v4 client with a persistent session (clean session off); answers it and `session_present`.
pub async fn persistent(node: &TestNode, id: &str) -> (V4Client, bool) {
    let mut options = v4_options(node, id);
    options.set_clean_session(false);
    let mut client = spawn_v4(options);
    let events = events_until(&mut client.events, "CONNACK", |e| {
        matches!(e, Ok(Event::Incoming(Packet::ConnAck(_))))
    })
    .await;
    let Some(Ok(Event::Incoming(Packet::ConnAck(ack)))) = events.last() else {
        panic!("no CONNACK");
    };
    (client, ack.session_present)
}

/// Disconnects cleanly and waits until the event loop ended.
pub async fn disconnect(client: V4Client) {
    client.client.disconnect().await.expect("disconnect queued");
    let mut client = client;
    // The event loop ends once the DISCONNECT is out and the socket closed.
    wait_for(&mut client.events, "closed", Result::is_err).await;
}
