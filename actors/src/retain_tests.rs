//! Unit tests of the retained messages: set, clear, expiry, stamps and merging peers' updates.

use std::sync::Arc;

use super::*;

fn message(topic: &str, payload: &'static [u8]) -> Message {
    Message::sample(topic, payload)
}

#[test]
fn the_last_retained_message_per_topic_is_kept_and_empty_deletes() {
    let store = RetainStore::default();
    assert_eq!(store.set("", &message("a/b", b"1")), RetainChange::Stored);
    store.set("", &message("a/b", b"2"));
    store.set("", &message("a/c", b"3"));
    store.set("mp", &message("a/b", b"4"));
    assert_eq!(store.len(), 3);
    let got = store.matching("", "a/+", 0);
    let payloads: Vec<&[u8]> = got.iter().map(|m| &m.payload[..]).collect();
    assert_eq!(payloads, [&b"2"[..], &b"3"[..]]);
    assert!(got.iter().all(|m| m.retain));
    assert_eq!(store.set("", &message("a/b", b"")), RetainChange::Deleted);
    assert_eq!(store.set("", &message("a/b", b"")), RetainChange::Unchanged);
    assert!(store.delete("mp", "a/b"));
    assert_eq!(store.rows().len(), 1);
}

#[test]
fn expired_retained_messages_are_not_sent() {
    let store = RetainStore::default();
    let mut old = message("t", b"x");
    old.expires_at_ms = Some(10);
    store.set("", &old);
    assert!(store.matching("", "t", 11).is_empty());
    assert_eq!(store.matching("", "#", 9).len(), 1);
}

fn update(topic: &str, ms: i64, node: &str, payload: Option<&'static [u8]>) -> RetainUpdate {
    RetainUpdate {
        mountpoint: String::new(),
        topic: topic.to_owned(),
        stamp: Stamp::new(ms, node),
        message: payload.map(|p| message(topic, p)),
    }
}

fn payloads(store: &RetainStore) -> Vec<(String, Bytes)> {
    store
        .rows()
        .into_iter()
        .map(|r| (r.topic, r.payload))
        .collect()
}

#[test]
fn the_latest_stamp_wins_whatever_the_order_of_arrival() {
    let forward = RetainStore::default();
    let backward = RetainStore::default();
    let updates = [
        update("t", 10, "a@h", Some(b"old")),
        update("t", 20, "b@h", Some(b"new")),
        update("t", 20, "a@h", Some(b"tie lost to b")),
        update("u", 5, "a@h", Some(b"kept")),
    ];
    assert_eq!(forward.merge(&updates), 3, "the tie lost");
    for one in updates.iter().rev() {
        backward.merge(std::slice::from_ref(one));
    }
    let want = vec![
        ("t".to_owned(), Bytes::from_static(b"new")),
        ("u".to_owned(), Bytes::from_static(b"kept")),
    ];
    assert_eq!(payloads(&forward), want);
    assert_eq!(payloads(&backward), want);
}

#[test]
fn a_clear_is_remembered_so_a_stale_copy_does_not_come_back() {
    let store = RetainStore::default();
    store.merge(&[update("t", 10, "a@h", Some(b"x"))]);
    assert_eq!(store.merge(&[update("t", 30, "b@h", None)]), 1);
    assert!(store.is_empty());
    assert_eq!(store.merge(&[update("t", 20, "c@h", Some(b"stale"))]), 0);
    assert!(store.is_empty());
    let full = store.updates();
    assert_eq!(full, [update("t", 30, "b@h", None)]);
    // A clear for a topic never seen is kept too.
    store.merge(&[update("v", 5, "a@h", None)]);
    assert_eq!(store.merge(&[update("v", 4, "a@h", Some(b"older"))]), 0);
}

#[test]
fn local_sets_outrank_what_they_replace_and_are_sent_to_peers() {
    let store = RetainStore::default();
    let sent = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let into = Arc::clone(&sent);
    store.replicate("me@h", Box::new(move |u| into.lock().extend(u)));
    // A peer's stamp far in the future: a local set still replaces it.
    store.merge(&[update("t", i64::MAX - 5, "z@h", Some(b"future"))]);
    assert_eq!(store.set("", &message("t", b"mine")), RetainChange::Stored);
    assert_eq!(
        payloads(&store),
        [("t".to_owned(), Bytes::from_static(b"mine"))]
    );
    assert!(store.delete("", "t"));
    let sent = sent.lock();
    assert_eq!(sent.len(), 2);
    assert!(sent[0].stamp.ms > i64::MAX - 5 && &*sent[0].stamp.node == "me@h");
    assert!(sent[1].message.is_none() && sent[1].stamp > sent[0].stamp);
}

#[test]
fn stamps_survive_the_store_record_and_bare_messages_still_load() {
    let record = Record {
        message: message("t", b"x"),
        stamp: Stamp::new(7, "a@h"),
    };
    let bytes = crate::sessions::encode_record(&record);
    assert_eq!(
        Record::decode(&bytes),
        Some((Some(message("t", b"x")), Stamp::new(7, "a@h")))
    );
    let clear = crate::sessions::encode_record(&ClearRecord {
        cleared: Stamp::new(9, "b@h"),
    });
    assert_eq!(Record::decode(&clear), Some((None, Stamp::new(9, "b@h"))));
    assert_eq!(
        Record::decode(&message("t", b"y").encode()),
        Some((Some(message("t", b"y")), Stamp::default()))
    );
    assert_eq!(Record::decode(b"garbage"), None);
}

#[tokio::test]
async fn a_restarted_node_remembers_its_stamps_and_clears() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mqtt.redb");
    let store = Store::open(&path).expect("open");
    let first = RetainStore::new(Some(store.clone()));
    first.merge(&[
        update("kept", 10, "a@h", Some(b"k")),
        update("gone", 10, "a@h", Some(b"g")),
        update("gone", 20, "b@h", None),
    ]);
    store.close().await.expect("close");

    let store = Store::open(&path).expect("reopen");
    let second = RetainStore::new(Some(store.clone()));
    second.restore(&store.load().expect("load").retained);
    assert_eq!(
        payloads(&second),
        [("kept".to_owned(), Bytes::from_static(b"k"))]
    );
    let stale = [
        update("gone", 15, "c@h", Some(b"stale")),
        update("kept", 5, "c@h", Some(b"older")),
    ];
    assert_eq!(second.merge(&stale), 0, "stamps and the clear survived");
    store.close().await.expect("close");
}
