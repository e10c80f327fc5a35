//! Unit tests of the routing table: dedup, mountpoints, share groups, no_local.

use super::*;
use crate::sessions::queue::QueueLimits;

fn queue() -> Arc<SessionQueue> {
    Arc::new(SessionQueue::new(QueueLimits::default()))
}

fn message(topic: &str, qos: u8, publisher: &str) -> Message {
    Message {
        qos,
        publisher: Some(Arc::from(publisher)),
        ..Message::sample(topic, b"")
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

#[test]
fn a_forwarded_publish_serves_only_the_share_groups_it_names() {
    let routes = Routes::default();
    let (a, qa) = (client("a"), queue());
    let (b, qb) = (client("b"), queue());
    let (c, qc) = (client("c"), queue());
    routes.add("", "t", &a, &qa, SubOptions::v3(0));
    routes.add("", "$share/g/t", &b, &qb, SubOptions::v3(0));
    routes.add("", "$share/h/t", &c, &qc, SubOptions::v3(0));
    let routed = routes.route_forwarded("", &message("t", 0, "p"), &["g".to_owned()]);
    assert_eq!(routed.matched, 2, "a, and b for g; not h");
    assert_eq!(
        (qa.stats().waiting, qb.stats().waiting, qc.stats().waiting),
        (1, 1, 0)
    );
    assert_eq!(
        routes
            .route_forwarded("x", &message("t", 0, "p"), &[])
            .matched,
        0
    );
}

#[test]
fn the_filter_set_counts_subscribers_and_a_clear_empties_it() {
    let routes = Routes::default();
    let (a, q) = (client("a"), queue());
    let b = client("b");
    routes.add("", "t/#", &a, &q, SubOptions::v3(0));
    routes.add("", "t/#", &a, &q, SubOptions::v3(1));
    routes.add("", "t/#", &b, &q, SubOptions::v3(0));
    routes.add("m", "$share/g/t", &b, &q, SubOptions::v3(0));
    let set = |routes: &Routes| routes.with_filters(|f| f.snapshot());
    assert_eq!(
        set(&routes),
        [
            (String::new(), "t/#".to_owned()),
            ("m".to_owned(), "$share/g/t".to_owned())
        ]
    );
    routes.remove("", "t/#", &a);
    assert_eq!(set(&routes).len(), 2, "b still subscribes to t/#");
    routes.remove("", "t/#", &b);
    assert_eq!(set(&routes).len(), 1);
    routes.clear();
    assert!(set(&routes).is_empty() && routes.is_empty());
}
