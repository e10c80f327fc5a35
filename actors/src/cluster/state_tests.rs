//! Unit tests of the membership rules: no runtime, ticks stand for time.

use super::*;

fn name(text: &str) -> NodeName {
    NodeName::parse(text).expect("valid")
}

fn stored(node: &str, address: &str) -> StoredMember {
    StoredMember {
        node: node.into(),
        address: address.into(),
    }
}

fn list(members: &[&str], removed: &[&str]) -> MemberList {
    MemberList {
        members: members
            .iter()
            .map(|m| stored(m, &format!("{m}:1")))
            .collect(),
        removed: removed.iter().map(|r| (*r).to_owned()).collect(),
    }
}

fn beat(from: &str, members: &[&str]) -> Heartbeat {
    Heartbeat {
        from: from.into(),
        address: format!("{from}:1"),
        list: list(members, &[]),
    }
}

fn state(local: &str, members: &[StoredMember]) -> (ClusterState, Arc<ArcSwap<Vec<Member>>>) {
    let published = Arc::new(ArcSwap::from_pointee(Vec::new()));
    let stored = MemberList {
        members: members.to_vec(),
        removed: Vec::new(),
    };
    let state = ClusterState::new(name(local), "h:0".into(), &stored, Arc::clone(&published));
    (state, published)
}

fn running(published: &ArcSwap<Vec<Member>>) -> Vec<(String, bool)> {
    published
        .load()
        .iter()
        .map(|m| (m.node.to_string(), m.running))
        .collect()
}

fn join_port() -> (
    JoinReply,
    tokio::sync::oneshot::Receiver<Result<(), String>>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    (tx.into(), rx)
}

#[test]
fn stored_members_start_down_and_the_local_node_is_listed_sorted() {
    let (mut state, published) = state("B@h", &[stored("A@h", "h:1"), stored("B@h", "h:0")]);
    assert_eq!(
        running(&published),
        [("A@h".into(), false), ("B@h".into(), false)]
    );
    state.set_local_running(true);
    assert_eq!(
        running(&published),
        [("A@h".into(), false), ("B@h".into(), true)]
    );
}

#[test]
fn a_heartbeat_marks_its_sender_running_and_merges_its_members() {
    let (mut state, published) = state("A@h", &[]);
    let heard = state.heard(&beat("B@h", &["B@h", "C@h", "A@h"]));
    assert_eq!(
        heard,
        Heard {
            members_changed: true,
            came_up: true
        }
    );
    assert_eq!(
        running(&published),
        [
            ("A@h".into(), false),
            ("B@h".into(), true),
            ("C@h".into(), false)
        ]
    );
    // The same heartbeat again changes nothing.
    assert_eq!(
        state.heard(&beat("B@h", &["B@h", "C@h", "A@h"])),
        Heard::default()
    );
    let names: Vec<String> = state.list().members.into_iter().map(|m| m.node).collect();
    assert_eq!(names, ["A@h", "B@h", "C@h"]);
}

#[test]
fn heartbeats_from_itself_or_with_bad_names_are_ignored() {
    let (mut state, published) = state("A@h", &[]);
    assert_eq!(state.heard(&beat("A@h", &["A@h"])), Heard::default());
    assert_eq!(
        state.heard(&beat("no-at-sign", &["x y@h"])),
        Heard::default()
    );
    assert!(state.heard(&beat("B@h", &["bad name"])).came_up);
    assert_eq!(published.load().len(), 2);
}

#[test]
fn a_peer_that_misses_more_than_the_limit_goes_down() {
    let (mut state, published) = state("A@h", &[]);
    state.heard(&beat("B@h", &["B@h"]));
    for _ in 0..MISS_LIMIT {
        assert_eq!(state.tick(), Tick::default());
    }
    let tick = state.tick();
    assert_eq!(tick.went_down, [name("B@h")]);
    assert_eq!(tick.connect, [(name("B@h"), "B@h:1".to_owned())]);
    assert_eq!(running(&published)[1], ("B@h".into(), false));
    // A heartbeat in time resets the count.
    state.heard(&beat("B@h", &["B@h"]));
    for _ in 0..MISS_LIMIT {
        state.tick();
        state.heard(&beat("B@h", &["B@h"]));
    }
    assert_eq!(running(&published)[1], ("B@h".into(), true));
}

#[test]
fn down_members_are_dialled_with_a_growing_backoff() {
    let (mut state, _published) = state("A@h", &[stored("B@h", "h:1")]);
    let dialled: Vec<bool> = (0..16).map(|_| !state.tick().connect.is_empty()).collect();
    let at: Vec<usize> = dialled
        .iter()
        .enumerate()
        .filter(|(_, d)| **d)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at, [0, 2, 5, 10]);
    // Heard from: the backoff starts over once it goes down again.
    state.heard(&beat("B@h", &["B@h"]));
    assert_eq!(
        (0..=MISS_LIMIT)
            .map(|_| state.tick().connect.len())
            .sum::<usize>(),
        1
    );
}

#[test]
fn a_join_completes_when_the_discovery_node_lists_this_node() {
    let (mut state, _published) = state("A@h", &[]);
    let (reply, mut answer) = join_port();
    assert_eq!(
        state.join(name("B@h"), "h:2".into(), reply),
        JoinStart::Connect
    );
    state.heard(&beat("B@h", &["B@h"]));
    assert!(answer.try_recv().is_err(), "B does not list A yet");
    state.heard(&beat("B@h", &["B@h", "A@h"]));
    assert_eq!(answer.try_recv(), Ok(Ok(())));
    // Joining a running member answers at once.
    let (reply, mut answer) = join_port();
    assert_eq!(
        state.join(name("B@h"), "h:2".into(), reply),
        JoinStart::Answered
    );
    assert_eq!(answer.try_recv(), Ok(Ok(())));
}

#[test]
fn a_join_fails_on_itself_on_a_dial_error_and_after_the_timeout() {
    let (mut state, _published) = state("A@h", &[]);
    let (reply, mut answer) = join_port();
    assert_eq!(
        state.join(name("A@h"), "h:0".into(), reply),
        JoinStart::Answered
    );
    assert!(matches!(answer.try_recv(), Ok(Err(e)) if e.contains("is this node")));
    let (reply, mut answer) = join_port();
    state.join(name("B@h"), "h:2".into(), reply);
    state.join_failed(&name("B@h"), "connection refused");
    assert!(matches!(answer.try_recv(), Ok(Err(e)) if e.contains("connection refused")));
    let (reply, mut answer) = join_port();
    state.join(name("C@h"), "h:3".into(), reply);
    for _ in 1..JOIN_TIMEOUT_TICKS {
        state.tick();
    }
    assert!(answer.try_recv().is_err(), "still waiting");
    state.tick();
    assert!(matches!(answer.try_recv(), Ok(Err(e)) if e.contains("did not join within")));
}

#[test]
fn only_a_down_member_can_leave_and_it_is_remembered_as_removed() {
    let (mut state, published) = state("A@h", &[stored("C@h", "h:3")]);
    state.heard(&beat("B@h", &["B@h"]));
    assert_eq!(state.leave(&name("A@h")), LeaveOutcome::Running);
    assert_eq!(state.leave(&name("B@h")), LeaveOutcome::Running);
    assert_eq!(state.leave(&name("X@h")), LeaveOutcome::NotMember);
    assert_eq!(state.leave(&name("C@h")), LeaveOutcome::Removed);
    assert_eq!(
        running(&published),
        [("A@h".into(), false), ("B@h".into(), true)]
    );
    assert_eq!(state.list().removed, ["C@h"]);
    // A peer that still lists C does not bring it back.
    assert!(!state.heard(&beat("B@h", &["B@h", "C@h"])).members_changed);
    assert_eq!(published.load().len(), 2);
    // C itself talking to this node again makes it a member again.
    assert!(state.heard(&beat("C@h", &["C@h"])).members_changed);
    assert!(state.list().removed.is_empty());
}

#[test]
fn a_removal_gossiped_by_a_peer_drops_a_down_member_but_not_a_running_one() {
    let (mut state, published) = state("A@h", &[stored("C@h", "h:3")]);
    state.heard(&beat("D@h", &["D@h"]));
    let removal = Heartbeat {
        from: "B@h".into(),
        address: "B@h:1".into(),
        list: list(&["B@h"], &["C@h", "D@h", "A@h"]),
    };
    assert!(state.heard(&removal).members_changed);
    let shown: Vec<String> = published
        .load()
        .iter()
        .map(|m| m.node.to_string())
        .collect();
    assert_eq!(shown, ["A@h", "B@h", "D@h"]);
    assert_eq!(state.list().removed, ["C@h"]);
}

#[test]
fn a_join_whose_connection_is_refused_fails_at_once() {
    let (mut state, _published) = state("A@h", &[]);
    let (reply, mut answer) = join_port();
    state.join(name("B@h"), "127.0.0.1:2".into(), reply);
    state.refused("127.0.0.1:9");
    assert!(answer.try_recv().is_err(), "another address");
    state.refused("127.0.0.1:2");
    assert!(matches!(answer.try_recv(), Ok(Err(e)) if e.contains("distributed_cookie")));
}

#[test]
fn a_join_that_reached_a_node_of_another_name_says_which() {
    let (mut state, _published) = state("A@h", &[]);
    let (reply, mut answer) = join_port();
    state.join(name("Wrong@h"), "B@h:1".into(), reply);
    state.heard(&beat("B@h", &["B@h", "A@h"]));
    assert!(matches!(answer.try_recv(), Ok(Err(e)) if e.contains("is B@h, not Wrong@h")));
}

#[test]
fn a_running_peer_that_departs_is_dropped_and_not_brought_back_by_gossip() {
    let (mut state, published) = state("A@h", &[]);
    state.heard(&beat("B@h", &["B@h", "A@h", "C@h"]));
    state.heard(&beat("C@h", &["C@h"]));
    assert!(state.peer_departed(&name("C@h")));
    assert!(!state.peer_departed(&name("C@h")), "already removed");
    assert!(!state.peer_departed(&name("A@h")), "not this node");
    assert_eq!(
        running(&published),
        [("A@h".into(), false), ("B@h".into(), true)]
    );
    assert_eq!(state.list().removed, ["C@h"]);
    assert!(!state.heard(&beat("B@h", &["B@h", "C@h"])).members_changed);
    assert_eq!(published.load().len(), 2);
    // Nothing goes down afterwards: the departed peer is not waited for.
    for _ in 0..=MISS_LIMIT {
        assert!(state.tick().went_down.is_empty());
        state.heard(&beat("B@h", &["B@h"]));
    }
}

#[test]
fn a_departed_node_forgets_the_cluster_and_hears_nobody() {
    let (mut state, published) = state("A@h", &[stored("C@h", "h:3")]);
    state.heard(&beat("B@h", &["B@h", "A@h", "C@h"]));
    let (reply, mut answer) = join_port();
    state.join(name("D@h"), "D@h:1".into(), reply);
    state.depart();
    assert!(state.departed());
    assert!(matches!(answer.try_recv(), Ok(Err(e)) if e.contains("left the cluster")));
    let alone = MemberList {
        members: vec![stored("A@h", "h:0")],
        removed: Vec::new(),
    };
    assert_eq!(state.list(), alone);
    assert_eq!(running(&published), [("A@h".into(), false)]);
    assert_eq!(state.heard(&beat("B@h", &["B@h", "A@h"])), Heard::default());
    assert_eq!(state.tick(), Tick::default());
    assert_eq!(published.load().len(), 1);
    assert!(!state.peer_departed(&name("B@h")));
}
