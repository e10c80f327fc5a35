//! Unit tests of the session queue: limits, the in-flight window, acknowledgements, expiry.

use super::*;

fn message(topic: &str, qos: u8) -> Message {
    Message {
        qos,
        ..Message::sample(topic, b"")
    }
}

fn limits(max_online: usize, max_offline: usize) -> QueueLimits {
    QueueLimits {
        max_online,
        max_offline,
        lifo: false,
    }
}

/// A queue with the connection 1 attached.
fn online(limits: QueueLimits) -> SessionQueue {
    let queue = SessionQueue::new(limits);
    queue.set_holder(Some(1));
    queue
}

fn id(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).expect("test ids are not zero")
}

#[test]
fn a_full_queue_drops_new_messages_and_counts_them() {
    let queue = SessionQueue::new(limits(2, 1));
    assert!(queue.push(message("a", 0)));
    assert!(!queue.push(message("b", 0)), "offline limit is 1");
    queue.set_holder(Some(1));
    assert!(queue.push(message("c", 0)));
    assert!(!queue.push(message("d", 0)), "online limit is 2");
    let stats = queue.stats();
    assert_eq!((stats.waiting, stats.dropped), (2, 2));
}

#[test]
fn the_window_holds_back_qos1_but_not_qos0() {
    let queue = online(limits(10, 10));
    for (topic, qos) in [("a", 1), ("b", 1), ("c", 0)] {
        queue.push(message(topic, qos));
    }
    let first = queue.take(1, 1, 0, 100).messages;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].packet_id, Some(id(1)));
    assert!(
        queue.take(1, 1, 0, 100).messages.is_empty(),
        "window full; order kept"
    );
    assert!(queue.acknowledge(id(1)));
    assert!(!queue.acknowledge(id(1)));
    let rest: Vec<_> = queue.take(1, 1, 0, 100).messages;
    let topics: Vec<&str> = rest.iter().map(|o| &*o.message.topic).collect();
    assert_eq!(topics, ["b", "c"]);
    assert_eq!(rest[1].packet_id, None);
}

#[test]
fn qos2_goes_through_received_then_complete() {
    let queue = online(limits(10, 10));
    queue.push(message("a", 2));
    let sent = queue.take(1, 10, 0, 10).messages;
    let packet_id = sent[0].packet_id.expect("qos 2 has an id");
    assert!(queue.received(packet_id));
    assert_eq!(queue.inflight()[0].phase, Phase::Released);
    assert!(queue.acknowledge(packet_id));
    assert!(queue.inflight().is_empty());
    assert!(!queue.received(id(77)));
}

#[test]
fn packet_ids_skip_zero_and_ids_in_flight() {
    let queue = online(limits(10, 10));
    queue.inner.lock().next_packet_id = u16::MAX - 1;
    for _ in 0..3 {
        queue.push(message("a", 1));
    }
    let ids: Vec<u16> = queue
        .take(1, 10, 0, 10)
        .messages
        .iter()
        .filter_map(|o| o.packet_id.map(NonZeroU16::get))
        .collect();
    assert_eq!(ids, [u16::MAX, 1, 2]);
}

#[test]
fn expired_messages_are_dropped_when_taken() {
    let queue = online(limits(10, 10));
    let mut old = message("old", 1);
    old.expires_at_ms = Some(100);
    queue.push(old);
    queue.push(message("new", 1));
    let taken = queue.take(1, 10, 200, 10);
    assert_eq!(taken.expired, 1);
    assert_eq!(taken.messages.len(), 1);
    assert_eq!(&*taken.messages[0].message.topic, "new");
}

#[test]
fn inbound_qos2_ids_are_routed_once_until_released() {
    let queue = online(limits(10, 10));
    assert!(queue.receive_exactly_once(id(5)));
    assert!(!queue.receive_exactly_once(id(5)));
    assert_eq!(queue.incoming_unreleased(), 1);
    assert!(queue.release(id(5)));
    assert!(!queue.release(id(5)));
    assert!(queue.receive_exactly_once(id(5)));
}

#[test]
fn messages_list_inflight_before_waiting_and_clear_empties() {
    let queue = online(limits(10, 10));
    queue.push(message("first", 1));
    queue.take(1, 10, 0, 10);
    queue.push(message("second", 1));
    let topics: Vec<String> = queue
        .messages()
        .iter()
        .map(|m| m.topic.to_string())
        .collect();
    assert_eq!(topics, ["first", "second"]);
    queue.clear();
    assert!(queue.messages().is_empty());
}

#[test]
fn a_connection_taken_over_takes_nothing_more() {
    let queue = online(limits(10, 10));
    queue.push(message("a", 1));
    queue.set_holder(Some(2));
    assert!(
        queue.take(1, 10, 0, 10).messages.is_empty(),
        "the old connection"
    );
    assert_eq!(queue.take(2, 10, 0, 10).messages.len(), 1, "its successor");
}

#[test]
fn a_lifo_queue_sends_the_newest_first_and_drops_its_oldest_when_full() {
    let queue = online(QueueLimits {
        lifo: true,
        ..limits(2, 2)
    });
    for topic in ["old", "mid", "new"] {
        queue.push(message(topic, 0));
    }
    let taken: Vec<String> = queue
        .take(1, 10, 0, 10)
        .messages
        .iter()
        .map(|o| o.message.topic.to_string())
        .collect();
    assert_eq!(taken, ["new", "mid"], "\"old\" was dropped for \"new\"");
    assert_eq!(queue.stats().dropped, 1);
}
