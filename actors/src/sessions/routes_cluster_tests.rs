//! The routing table joined to a cluster of one (casts and calls to this node dispatch locally):
//! peers' frames reach the local table, garbage on every topic is dropped, full sets answer.

use std::time::Duration;

use super::*;
use crate::cluster::Peers;
use crate::metrics::Metrics;
use crate::retain::{RetainStore, RetainUpdate, Stamp};
use crate::router::outbox;
use crate::router::wire::{self, ForwardedRef};
use crate::sessions::queue::QueueLimits;
use crate::types::NodeName;

fn message(topic: &str) -> Message {
    Message::sample(topic, b"p")
}

fn subscriber(routes: &Routes, filter: &str, id: &str) -> Arc<SessionQueue> {
    let queue = Arc::new(SessionQueue::new(QueueLimits::default()));
    queue.set_holder(Some(1));
    routes.add("", filter, &Arc::from(id), &queue, SubOptions::v3(1));
    queue
}

#[tokio::test]
async fn peer_frames_reach_the_local_table_and_garbage_is_dropped() {
    let routes = Arc::new(Routes::default());
    let retained = Arc::new(RetainStore::default());
    let local = NodeName::parse("solo@127.0.0.1").expect("a node name");
    let peers = Peers::new(local.clone());
    let metrics = Arc::new(Metrics::default());
    crate::router::link::start(&routes, &retained, metrics, &peers, 1 << 20);
    let plain = subscriber(&routes, "t/#", "a");
    let shared = subscriber(&routes, "$share/g/t/#", "b");

    let topics = [
        wire::ROUTE_DELTA,
        wire::ROUTE_BEACON,
        wire::ROUTE_STREAM,
        wire::ROUTE_ACK,
        wire::ROUTE_RESYNC,
    ];
    for topic in topics {
        for garbage in [&b""[..], b"\xff\x00\x01", b"{\"json\":true}"] {
            peers
                .cast(&local, topic, garbage.to_vec())
                .expect("a local cast");
        }
    }
    assert_eq!((plain.stats().waiting, shared.stats().waiting), (0, 0));
    assert!(retained.is_empty());

    let within = Duration::from_secs(1);
    // Forwarded publishes come on a numbered stream that the sender resumed first.
    let on_stream = |seq: u64, body: &[u8]| {
        let frame = outbox::sequenced(9, seq, body);
        peers
            .cast(&local, wire::ROUTE_STREAM, frame)
            .expect("a local cast");
    };
    let publish = |seq: u64, groups: Vec<&str>| {
        let t = message("t/1");
        let frame = ForwardedRef {
            mountpoint: "",
            groups,
            message: &t,
        };
        on_stream(seq, &wire::encode_publish(&frame));
    };
    publish(1, vec![]);
    assert_eq!(plain.stats().waiting, 0, "not before the stream is resumed");
    let resume = wire::encode(&outbox::Resume { epoch: 9, from: 1 });
    let answer = peers.call(&local, wire::ROUTE_RESUME, resume, within).await;
    let delivered = wire::decode_delivered(&answer.expect("an answer"));
    assert_eq!(delivered, Some(0));
    publish(1, vec![]);
    assert_eq!((plain.stats().waiting, shared.stats().waiting), (1, 0));
    publish(2, vec!["g"]);
    assert_eq!((plain.stats().waiting, shared.stats().waiting), (2, 1));
    publish(2, vec!["g"]);
    publish(4, vec![]);
    assert_eq!(
        (plain.stats().waiting, shared.stats().waiting),
        (2, 1),
        "a repeated frame and one out of sequence are not delivered"
    );
    let garbage = peers.call(&local, wire::ROUTE_RESUME, b"\xff".to_vec(), within);
    assert!(garbage.await.is_err(), "a malformed resume is refused");

    let update = vec![RetainUpdate {
        mountpoint: String::new(),
        topic: "t/r".into(),
        stamp: Stamp::new(1, "peer@127.0.0.1"),
        message: Some(message("t/r")),
    }];
    on_stream(3, &wire::encode_retained(&update));
    assert_eq!(retained.len(), 1);
    on_stream(4, b"\x07garbage");
    on_stream(5, &wire::encode_retained(&[]));
    assert_eq!(
        retained.len(),
        1,
        "a malformed frame in sequence is skipped"
    );

    let full = peers.call(&local, wire::ROUTE_FULL, Vec::new(), within);
    let full = wire::decode_full(&full.await.expect("an answer")).expect("a full set");
    let filters: Vec<&str> = full.filters.iter().map(|(_, f)| f.as_str()).collect();
    assert_eq!(filters, ["$share/g/t/#", "t/#"]);
    assert_eq!(full.at.seq, 2, "two changes so far");
    let cursor: wire::Cursor = None;
    let page = peers.call(&local, wire::RETAIN_FULL, wire::encode(&cursor), within);
    let page = wire::decode_page(&page.await.expect("an answer")).expect("a page");
    assert_eq!((page.updates, page.next), (update, None));
    let garbage = peers.call(&local, wire::RETAIN_FULL, b"\xff".to_vec(), within);
    assert!(garbage.await.is_err(), "a malformed pull is refused");

    // No peer has a route: a publish stays local.
    let routed = routes.route("", &message("t/2"), false);
    assert_eq!((routed.matched, routed.remote), (2, 0));
}
