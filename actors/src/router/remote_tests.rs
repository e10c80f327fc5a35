//! Unit tests of the cluster-wide subscription sets: local changes, peers' tables, forwards.

use std::sync::Arc;

use super::*;

fn node(name: &str) -> NodeName {
    NodeName::parse(&format!("{name}@127.0.0.1")).expect("a node name")
}

fn added(filter: &str) -> FilterChange {
    FilterChange::Added {
        mountpoint: String::new(),
        filter: filter.to_owned(),
    }
}

fn removed(filter: &str) -> FilterChange {
    FilterChange::Removed {
        mountpoint: String::new(),
        filter: filter.to_owned(),
    }
}

/// (node, groups) of each forward.
fn forwards(
    routes: &RemoteRoutes,
    topic: &str,
    local_groups: &[&str],
) -> Vec<(String, Vec<String>)> {
    routes
        .forwards("", topic, |group| local_groups.contains(&group), |_| true)
        .into_iter()
        .map(|f| {
            let groups = f.groups.iter().map(ToString::to_string).collect();
            (f.node.to_string(), groups)
        })
        .collect()
}

#[test]
fn peers_hear_of_a_filter_when_its_first_subscriber_comes_and_its_last_goes() {
    let mut set = FilterSet::default();
    assert_eq!(set.add("", "a/+"), Some(added("a/+")));
    assert_eq!(
        set.add("", "a/+"),
        None,
        "a second subscriber changes nothing"
    );
    assert_eq!(
        set.add("m", "a/+"),
        Some(FilterChange::Added {
            mountpoint: "m".into(),
            filter: "a/+".into(),
        })
    );
    assert_eq!(set.remove("", "a/+"), None);
    assert_eq!(
        set.snapshot(),
        [(String::new(), "a/+".into()), ("m".into(), "a/+".into())]
    );
    assert_eq!(set.remove("", "a/+"), Some(removed("a/+")));
    assert_eq!(
        set.remove("", "a/+"),
        None,
        "not subscribed: nothing to tell"
    );
    assert_eq!(set.snapshot(), [("m".to_owned(), "a/+".to_owned())]);
}

#[test]
fn a_publish_goes_to_each_peer_with_a_match_once() {
    let routes = RemoteRoutes::default();
    routes.apply(&node("b"), &added("a/+"));
    routes.apply(&node("b"), &added("a/#"));
    routes.apply(&node("c"), &added("a/b"));
    routes.apply(&node("d"), &added("x/#"));
    assert_eq!(
        forwards(&routes, "a/b", &[]),
        [
            ("b@127.0.0.1".to_owned(), vec![]),
            ("c@127.0.0.1".to_owned(), vec![])
        ]
    );
    assert!(forwards(&routes, "z", &[]).is_empty());
    assert!(routes
        .forwards("other-mountpoint", "a/b", |_| false, |_| true)
        .is_empty());
    routes.apply(&node("b"), &removed("a/+"));
    assert_eq!(forwards(&routes, "a/b", &[]).len(), 2, "b still has a/#");
    routes.apply(&node("b"), &removed("a/#"));
    assert_eq!(
        forwards(&routes, "a/b", &[]),
        [("c@127.0.0.1".to_owned(), vec![])]
    );
}

#[test]
fn a_full_set_replaces_what_was_known_and_a_leaving_node_is_forgotten() {
    let routes = RemoteRoutes::default();
    routes.apply(&node("b"), &added("old/#"));
    routes.replace_node(&node("b"), &[(String::new(), "new/#".into())]);
    assert!(forwards(&routes, "old/x", &[]).is_empty());
    assert_eq!(forwards(&routes, "new/x", &[]).len(), 1);
    assert_eq!(
        routes.filters_of(&node("b")),
        [(String::new(), "new/#".to_owned())]
    );
    routes.remove_node(&node("b"));
    assert!(forwards(&routes, "new/x", &[]).is_empty());
    assert!(routes.filters_of(&node("b")).is_empty());
}

#[test]
fn a_share_group_is_served_once_cluster_wide_preferring_local_members() {
    let routes = RemoteRoutes::default();
    routes.apply(&node("b"), &added("$share/g/s/#"));
    routes.apply(&node("c"), &added("$share/g/s/#"));
    routes.apply(&node("c"), &added("s/+"));
    // A local member serves group g: only c's plain subscription is forwarded.
    assert_eq!(
        forwards(&routes, "s/1", &["g"]),
        [("c@127.0.0.1".to_owned(), vec![])]
    );
    // No local member: one of b and c serves g, in turn; c still gets its plain match once.
    let mut servers = Vec::new();
    for _ in 0..4 {
        let sent = forwards(&routes, "s/1", &[]);
        let with_group: Vec<_> = sent.iter().filter(|(_, g)| g == &["g"]).collect();
        assert_eq!(with_group.len(), 1, "{sent:?}");
        assert!(sent.iter().any(|(n, _)| n == "c@127.0.0.1"), "{sent:?}");
        assert!(sent.len() <= 2, "each peer once: {sent:?}");
        servers.push(with_group[0].0.clone());
    }
    servers.sort();
    servers.dedup();
    assert_eq!(
        servers,
        ["b@127.0.0.1", "c@127.0.0.1"],
        "the group turns between peers"
    );
    let shared = Arc::<str>::from("g");
    assert!(routes
        .forwards("", "s/1", |_| false, |_| true)
        .iter()
        .all(|f| f.groups.iter().all(|g| *g == shared)));
}

#[test]
fn a_share_group_goes_to_reachable_members_and_to_unreachable_ones_only_without_them() {
    let routes = RemoteRoutes::default();
    routes.apply(&node("b"), &added("$share/g/s/#"));
    routes.apply(&node("c"), &added("$share/g/s/#"));
    let to = |up: &[&str]| -> Vec<String> {
        let up: Vec<NodeName> = up.iter().map(|name| node(name)).collect();
        routes
            .forwards("", "s/1", |_| false, |n| up.contains(n))
            .into_iter()
            .map(|f| f.node.to_string())
            .collect()
    };
    for _ in 0..4 {
        assert_eq!(to(&["c"]), ["c@127.0.0.1"], "b is unreachable");
    }
    // Nobody reachable: the group still goes to a member, kept until it is back.
    assert_eq!(to(&[]).len(), 1);
    assert_eq!(routes.nodes().len(), 2);
}
