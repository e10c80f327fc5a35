//! The hub, taps and streams together, with packets handed to taps as the codec does.

use std::num::NonZeroU16;

use bytes::Bytes;
use rmqtt_codec::types::{Protocol, Publish, QoS};
use rmqtt_codec::v3;

use super::*;

fn hub() -> Arc<TraceHub> {
    Arc::new(TraceHub::default())
}

fn key(client_id: &str) -> SessionKey {
    SessionKey::new("", client_id)
}

fn options(rate_max: u32) -> TraceOptions {
    TraceOptions {
        rate_max,
        ..TraceOptions::default()
    }
}

fn connect(client_id: &str) -> MqttPacket {
    MqttPacket::V3(v3::Packet::Connect(Box::new(v3::Connect {
        protocol: Protocol(4),
        clean_session: true,
        keep_alive: 60,
        client_id: client_id.into(),
        ..v3::Connect::default()
    })))
}

fn publish(payload: &'static [u8]) -> MqttPacket {
    MqttPacket::V3(v3::Packet::Publish(Box::new(Publish {
        dup: false,
        retain: false,
        qos: QoS::AtLeastOnce,
        topic: "a/b".into(),
        packet_id: NonZeroU16::new(7),
        payload: Bytes::from_static(payload),
        properties: None,
    })))
}

fn ping() -> MqttPacket {
    MqttPacket::V3(v3::Packet::PingRequest)
}

/// Every line until the stream ends.
async fn drain(stream: &mut TraceStream) -> Vec<String> {
    let mut lines = Vec::new();
    while let Some(line) = stream.next().await {
        lines.push(line);
    }
    lines
}

#[tokio::test]
async fn one_trace_per_client() {
    let hub = hub();
    let first = hub.start(key("c1"), options(10)).expect("starts");
    assert_eq!(hub.start(key("c1"), options(10)).err(), Some(TraceBusy));
    let other = hub
        .start(SessionKey::new("mp", "c1"), options(10))
        .expect("another mountpoint is another client");
    assert_eq!(hub.len(), 2);
    assert!(hub.is_tracing(&key("c1")));
    drop(first);
    assert!(
        !hub.is_tracing(&key("c1")),
        "the reader went: the trace ended"
    );
    let _again = hub.start(key("c1"), options(10)).expect("starts again");
    drop(other);
    assert_eq!(hub.len(), 1);
}

#[tokio::test]
async fn a_connecting_client_is_traced_from_its_connect_until_it_closes() {
    let hub = hub();
    let mut stream = hub.start(key("c1"), options(10)).expect("starts");
    let mut tap = hub.tap("".into());
    let mut stranger = hub.tap("".into());
    stranger.received(&connect("c2"));
    stranger.received(&publish(b"not traced"));
    tap.received(&connect("c1"));
    tap.received(&publish(b"hello"));
    tap.sent(&MqttPacket::V3(v3::Packet::PublishAck {
        packet_id: NonZeroU16::new(7).expect("non-zero"),
    }));
    drop(tap);
    let lines = drain(&mut stream).await;
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(
        lines[0].contains("MQTT RECV: CID: \"c1\" CONNECT(c: \"c1\""),
        "{lines:?}"
    );
    assert!(lines[1].ends_with("PUBLISH(d0, q1, r0, m7, \"a/b\") with payload:\n    hello"));
    assert!(lines[2].ends_with("MQTT SEND: CID: \"c1\" PUBACK(m7)"));
    assert_eq!(lines[3], DONE);
    assert!(hub.is_empty(), "the client closed: the trace ended");
    drop(stranger);
}

#[tokio::test]
async fn a_connected_client_is_traced_from_its_next_packet() {
    let hub = hub();
    let mut tap = hub.tap("".into());
    tap.identify("c1");
    tap.received(&ping());
    let mut stream = hub.start(key("c1"), options(10)).expect("starts");
    tap.received(&ping());
    assert!(stream.next().await.expect("a line").ends_with("PINGREQ()"));
    assert_eq!(hub.stop_all(), 1);
    assert_eq!(drain(&mut stream).await, [DONE], "stop_all ends the stream");
    tap.received(&ping());
    assert!(tap.trace.is_none(), "the tap let go of the stopped trace");
}

#[tokio::test]
async fn a_client_that_closes_without_another_packet_ends_the_trace() {
    let hub = hub();
    let mut tap = hub.tap("".into());
    tap.identify("c1");
    let mut stream = hub.start(key("c1"), options(10)).expect("starts");
    drop(tap);
    assert_eq!(drain(&mut stream).await, [DONE]);
}

#[tokio::test]
async fn a_takeover_keeps_the_trace_going() {
    let hub = hub();
    let mut stream = hub.start(key("c1"), options(10)).expect("starts");
    let mut old = hub.tap("".into());
    old.received(&connect("c1"));
    let mut new = hub.tap("".into());
    new.received(&connect("c1"));
    drop(old);
    new.received(&ping());
    assert!(stream
        .next()
        .await
        .expect("old CONNECT")
        .contains("CONNECT"));
    assert!(stream
        .next()
        .await
        .expect("new CONNECT")
        .contains("CONNECT"));
    assert!(stream.next().await.expect("ping").ends_with("PINGREQ()"));
    assert!(hub.is_tracing(&key("c1")));
    drop(new);
    assert_eq!(drain(&mut stream).await, [DONE]);
}

#[tokio::test(start_paused = true)]
async fn lines_over_the_rate_are_skipped_and_counted() {
    let hub = hub();
    let mut stream = hub.start(key("c1"), options(2)).expect("starts");
    let mut tap = hub.tap("".into());
    tap.identify("c1");
    for _ in 0..5 {
        tap.received(&ping());
    }
    assert!(stream.next().await.expect("1").ends_with("PINGREQ()"));
    assert!(stream.next().await.expect("2").ends_with("PINGREQ()"));
    // The note comes with the next tick of the rate window (time is paused: it auto-advances).
    assert_eq!(
        stream.next().await.as_deref(),
        Some("Trace rate limit reached: 3 lines skipped.")
    );
    tokio::time::advance(Duration::from_millis(100)).await;
    tap.received(&ping());
    assert!(stream
        .next()
        .await
        .expect("a new window")
        .ends_with("PINGREQ()"));
    drop(tap);
    assert_eq!(drain(&mut stream).await, [DONE]);
}

#[tokio::test]
async fn a_slow_reader_loses_lines_and_is_told() {
    let hub = hub();
    let mut stream = hub.start(key("c1"), options(u32::MAX)).expect("starts");
    let mut tap = hub.tap("".into());
    tap.identify("c1");
    for _ in 0..LINE_BUFFER + 5 {
        tap.received(&ping());
    }
    drop(tap);
    let lines = drain(&mut stream).await;
    assert_eq!(
        lines.len(),
        LINE_BUFFER + 2,
        "buffered lines, the note, Done."
    );
    assert_eq!(lines[LINE_BUFFER], "Reader too slow: 5 lines lost.");
    assert_eq!(lines[LINE_BUFFER + 1], DONE);
}

#[tokio::test]
async fn payloads_are_truncated() {
    let hub = hub();
    let mut stream = hub
        .start(
            key("c1"),
            TraceOptions {
                trunc_payload: 4,
                ..TraceOptions::default()
            },
        )
        .expect("starts");
    let mut tap = hub.tap("".into());
    tap.identify("c1");
    tap.received(&publish(b"0123456789"));
    assert!(stream
        .next()
        .await
        .expect("a line")
        .ends_with("with payload:\n    0123... (6 more bytes)"));
}

#[tokio::test]
async fn mountpoints_tell_clients_apart_and_assigned_ids_count() {
    let hub = hub();
    let mut stream = hub
        .start(SessionKey::new("mp", "c1"), options(10))
        .expect("starts");
    let mut elsewhere = hub.tap("".into());
    elsewhere.received(&connect("c1"));
    let mut assigned = hub.tap("mp".into());
    assigned.received(&connect(""));
    assigned.identify("c1");
    assigned.received(&ping());
    drop(elsewhere);
    drop(assigned);
    let lines = drain(&mut stream).await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].ends_with("PINGREQ()"));
}

#[tokio::test]
async fn into_stream_yields_the_same_lines() {
    use futures_util::StreamExt as _;
    let hub = hub();
    let stream = hub.start(key("c1"), options(10)).expect("starts");
    let mut tap = hub.tap("".into());
    tap.identify("c1");
    tap.received(&ping());
    drop(tap);
    let lines: Vec<String> = stream.into_stream().collect().await;
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1], DONE);
    assert!(hub.is_empty());
}
