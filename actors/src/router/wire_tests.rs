//! The routing frames: round trips, pages of retained messages, and garbage refused.

use std::sync::Arc;

use bytes::Bytes;

use super::*;
use crate::retain::Stamp;

fn message(topic: &str) -> Message {
    Message {
        publisher: Some(Arc::from("c")),
        ..Message::sample(topic, b"p")
    }
}

#[test]
fn frames_round_trip() {
    let at = Beacon { epoch: 7, seq: 3 };
    assert_eq!(decode_beacon(&encode(&at)), Some(at));
    let full = RouteFull {
        at,
        filters: vec![("".into(), "a/#".into()), ("m".into(), "$share/g/b".into())],
    };
    assert_eq!(decode_full(&encode(&full)), Some(full));
    let delta = RouteDelta {
        at,
        added: true,
        mountpoint: String::new(),
        filter: "a/+".into(),
    };
    assert_eq!(decode_delta(&encode(&delta)), Some(delta));
    let forwarded = Forwarded {
        mountpoint: "m".into(),
        groups: vec!["g".into()],
        message: message("a/b"),
    };
    let borrowed = ForwardedRef {
        mountpoint: "m",
        groups: vec!["g"],
        message: &forwarded.message,
    };
    assert_eq!(
        decode_forwarded(&encode(&borrowed)),
        Some(forwarded.clone())
    );
    let carried = decode_carried(&encode_publish(&borrowed));
    assert_eq!(carried, Some(Carried::Publish(forwarded)));
    let updates = vec![RetainUpdate {
        mountpoint: String::new(),
        topic: "a/b".into(),
        stamp: Stamp::new(5, "n1@h"),
        message: None,
    }];
    assert_eq!(decode_retained(&encode(&updates)), Some(updates.clone()));
    let carried = decode_carried(&encode_retained(&updates));
    assert_eq!(carried, Some(Carried::Retained(updates)));
    let ack = Ack { epoch: 1, seq: 2 };
    assert_eq!(decode_ack(&encode(&ack)), Some(ack));
    let resume = Resume { epoch: 1, from: 3 };
    assert_eq!(decode_resume(&encode(&resume)), Some(resume));
    assert_eq!(decode_delivered(&encode(&9u64)), Some(9));
}

#[test]
fn retained_messages_go_in_pages_in_topic_order() {
    let big = |topic: &str| RetainUpdate {
        mountpoint: String::new(),
        topic: topic.to_owned(),
        stamp: Stamp::new(1, "a@h"),
        message: Some(Message {
            payload: Bytes::from(vec![0u8; PAGE_BYTES / 2]),
            ..message(topic)
        }),
    };
    let all = vec![big("d"), big("a"), big("c"), big("b"), big("e")];
    let topics = |page: &RetainPage| -> Vec<String> {
        page.updates.iter().map(|u| u.topic.clone()).collect()
    };
    let first = RetainPage::of(all.clone(), &None);
    assert_eq!(topics(&first), ["a", "b"]);
    assert_eq!(first.next, Some((String::new(), "b".to_owned())));
    let second = RetainPage::of(all.clone(), &first.next);
    assert_eq!(topics(&second), ["c", "d"]);
    let last = RetainPage::of(all.clone(), &second.next);
    assert_eq!(
        (topics(&last), last.next.clone()),
        (vec!["e".to_owned()], None)
    );
    assert_eq!(decode_page(&encode(&last)), Some(last));
    let cursor: Cursor = Some(("m".into(), "t".into()));
    assert_eq!(decode_cursor(&encode(&cursor)), Some(cursor));
    let huge = RetainUpdate {
        message: Some(Message {
            payload: Bytes::from(vec![0u8; MAX_PAYLOAD + 1]),
            ..message("h")
        }),
        ..big("h")
    };
    assert!(!fits(&huge));
    assert!(RetainPage::of(vec![huge], &None).updates.is_empty());
}

#[test]
fn garbage_and_invalid_names_are_refused() {
    for garbage in [&b""[..], b"\xff\x00\x01", b"not cbor at all"] {
        assert_eq!(decode_beacon(garbage), None);
        assert_eq!(decode_full(garbage), None);
        assert_eq!(decode_delta(garbage), None);
        assert_eq!(decode_forwarded(garbage), None);
        assert_eq!(decode_retained(garbage), None);
        assert_eq!(decode_page(garbage), None);
        assert_eq!(decode_ack(garbage), None);
        assert_eq!(decode_carried(garbage), None);
        assert_eq!(decode_resume(garbage), None);
        assert_eq!(decode_delivered(garbage), None);
    }
    let bad_filter = RouteDelta {
        at: Beacon { epoch: 1, seq: 1 },
        added: true,
        mountpoint: String::new(),
        filter: "a/#/b".into(),
    };
    assert_eq!(decode_delta(&encode(&bad_filter)), None);
    let full = RouteFull {
        at: Beacon { epoch: 1, seq: 1 },
        filters: vec![(String::new(), String::new())],
    };
    assert_eq!(decode_full(&encode(&full)), None);
    let wildcard = Forwarded {
        mountpoint: String::new(),
        groups: vec![],
        message: message("a/+"),
    };
    assert_eq!(decode_forwarded(&encode(&wildcard)), None);
    let mut unknown_tag = encode_retained(&[]);
    unknown_tag[0] = 9;
    assert_eq!(decode_carried(&unknown_tag), None);
    // A frame of another kind does not pass for this one.
    assert_eq!(decode_delta(&encode(&Beacon { epoch: 1, seq: 1 })), None);
}
