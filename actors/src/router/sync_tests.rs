//! Unit tests of the per-peer sync table: sequence, gaps, restarts, beacons, kept changes.

use super::*;

fn node() -> NodeName {
    NodeName::parse("b@127.0.0.1").expect("a node name")
}

fn at(epoch: u64, seq: u64) -> Beacon {
    Beacon { epoch, seq }
}

fn delta(epoch: u64, seq: u64, filter: &str) -> RouteDelta {
    RouteDelta {
        at: at(epoch, seq),
        added: true,
        mountpoint: String::new(),
        filter: filter.to_owned(),
    }
}

fn full(epoch: u64, seq: u64) -> RouteFull {
    RouteFull {
        at: at(epoch, seq),
        filters: Vec::new(),
    }
}

fn added(filter: &str) -> FilterChange {
    FilterChange::Added {
        mountpoint: String::new(),
        filter: filter.to_owned(),
    }
}

#[test]
fn changes_apply_in_sequence_after_a_full_set() {
    let mut table = SyncTable::default();
    assert!(table.start_pull(&node()));
    assert!(!table.start_pull(&node()), "one pull at a time");
    let after = table.on_full(&node(), &full(1, 4));
    assert_eq!(after.changes, []);
    assert!(!after.pull_again);
    assert_eq!(
        table.on_delta(&node(), delta(1, 5, "a")),
        OnDelta::Apply(added("a"))
    );
    assert_eq!(
        table.on_delta(&node(), delta(1, 5, "a")),
        OnDelta::Wait,
        "a replay is stale"
    );
    assert!(!table.on_beacon(&node(), at(1, 5)), "in step");
}

#[test]
fn a_gap_or_a_new_epoch_pulls_the_full_set_once() {
    let mut table = SyncTable::default();
    table.on_full(&node(), &full(1, 1));
    assert_eq!(table.on_delta(&node(), delta(1, 3, "a")), OnDelta::Pull);
    assert_eq!(table.on_delta(&node(), delta(1, 4, "b")), OnDelta::Wait);
    // The full set as of 3 came after the kept changes: only 4 is newer.
    let after = table.on_full(&node(), &full(1, 3));
    assert_eq!(after.changes, [added("b")]);
    assert!(!after.pull_again);
    assert_eq!(
        table.on_delta(&node(), delta(9, 1, "c")),
        OnDelta::Pull,
        "restarted"
    );
}

#[test]
fn changes_before_the_first_full_set_are_kept_and_gaps_pull_again() {
    let mut table = SyncTable::default();
    assert_eq!(table.on_delta(&node(), delta(1, 2, "a")), OnDelta::Pull);
    assert_eq!(table.on_delta(&node(), delta(1, 4, "c")), OnDelta::Wait);
    let after = table.on_full(&node(), &full(1, 1));
    assert_eq!(after.changes, [added("a")]);
    assert!(after.pull_again, "3 is missing");
    assert!(!table.on_beacon(&node(), at(1, 4)), "already pulling");
}

#[test]
fn a_beacon_that_disagrees_pulls_until_the_pull_fails_or_comes() {
    let mut table = SyncTable::default();
    assert!(table.on_beacon(&node(), at(1, 0)), "never synced");
    assert!(!table.on_beacon(&node(), at(1, 0)), "pull on its way");
    table.pull_failed(&node());
    assert!(table.on_beacon(&node(), at(1, 0)), "asked again");
    table.on_full(&node(), &full(1, 0));
    assert!(!table.on_beacon(&node(), at(1, 0)));
    assert!(table.on_beacon(&node(), at(1, 2)), "lost changes");
    table.forget(&node());
    assert!(table.start_pull(&node()), "forgotten: starts over");
}
