//! Unit tests of the routing table: dedup, mountpoints, share groups, no_local.

use bytes::Bytes;

use super::*;
use crate::sessions::queue::QueueLimits;

fn queue() -> Arc<SessionQueue> {
    Arc::new(SessionQueue::new(QueueLimits::default()))
}

fn message(topic: &str, qos: u8, publisher: &str) -> Message {
    Message {
        topic: Arc::from(topic),
        payload: Bytes::new(),
        qos,
        retain: false,
        properties: None,
        expires_at_ms: None,
        publisher: Some(Arc::from(publisher)),
    }
}

fn client(id: &str) -> Arc<str> {
    Arc::from(id)
}

#[test]
fn a_client_with_overlapping_filters_gets_one_copy_at_its_best_qos() {
    let routes = Routes::default();
    let (a, q) = (client("a"), queue());
    q.set_holder(Some(1));
    routes.add("", "t/+", &a, &q, SubOptions::v3(0));
    routes.add("", "t/#", &a, &q, SubOptions::v3(2));
    assert_eq!(routes.route("", &message("t/1", 1, "p"), false).matched, 1);
    let taken = q.take(1, 10, 0, 10).messages;
    assert_eq!(taken.len(), 1);
    assert_eq!(
        taken[0].message.qos, 1,
        "lowered to min(published, granted)"
    );
    assert_eq!(routes.len(), 2);
}

#[test]
fn mountpoints_do_not_see_each_other() {
    let routes = Routes::default();
    let (a, q) = (client("a"), queue());
    routes.add("mp1", "t", &a, &q, SubOptions::v3(0));
    assert_eq!(routes.route("", &message("t", 0, "p"), false).matched, 0);
    assert_eq!(routes.route("mp1", &message("t", 0, "p"), false).matched, 1);
    assert!(routes.remove("mp1", "t", &a));
    assert!(!routes.remove("mp1", "t", &a));
    assert!(routes.is_empty());
}

#[test]
fn a_share_group_gets_each_message_once_preferring_online_members() {
    let routes = Routes::default();
    let (a, qa) = (client("a"), queue());
    let (b, qb) = (client("b"), queue());
    routes.add("", "$share/g/t", &a, &qa, SubOptions::v3(0));
    routes.add("", "$share/g/t", &b, &qb, SubOptions::v3(0));
    qa.set_holder(Some(1));
    qb.set_holder(Some(1));
    for _ in 0..4 {
        assert_eq!(routes.route("", &message("t", 0, "p"), false).matched, 1);
    }
    assert_eq!((qa.stats().waiting, qb.stats().waiting), (2, 2), "in turn");
    qb.set_holder(None);
    routes.route("", &message("t", 0, "p"), false);
    routes.route("", &message("t", 0, "p"), false);
    assert_eq!(qa.stats().waiting, 4, "the offline member is passed over");
}

#[test]
fn no_local_skips_the_publishers_own_messages() {
    let routes = Routes::default();
    let (a, q) = (client("a"), queue());
    let options = SubOptions {
        no_local: true,
        ..SubOptions::v3(0)
    };
    routes.add("", "t", &a, &q, options);
    assert_eq!(routes.route("", &message("t", 0, "a"), false).matched, 0);
    assert_eq!(routes.route("", &message("t", 0, "b"), false).matched, 1);
}
