//! Unit tests of the session registry: takeover, persistence offline, expiry, wills, index.

use std::net::SocketAddr;

use super::*;

fn state() -> (SessionsState, Arc<Routes>, Arc<ArcSwap<SessionIndex>>) {
    let routes = Arc::new(Routes::default());
    let published = Arc::new(ArcSwap::from_pointee(SessionIndex::new()));
    let retained = Arc::new(RetainStore::default());
    let metrics = Arc::default();
    let state = SessionsState::new(
        Arc::clone(&routes),
        retained,
        Arc::clone(&published),
        None,
        metrics,
    );
    (state, routes, published)
}

fn key(client_id: &str) -> SessionKey {
    SessionKey::new("", client_id)
}

fn request(
    client_id: &str,
    clean: bool,
    expiry: SessionExpiry,
) -> (AttachRequest, oneshot::Receiver<Kick>) {
    let (kick, kicked) = oneshot::channel();
    let request = AttachRequest {
        key: key(client_id),
        clean_start: clean,
        expiry,
        info: OnlineInfo {
            peer: SocketAddr::from(([127, 0, 0, 1], 5000)),
            protocol: 4,
            user: None,
            connected_at_ms: 0,
            connection: 0,
        },
        kick,
        limits: QueueLimits::default(),
        inherited: None,
    };
    (request, kicked)
}

fn message(topic: &str) -> Message {
    Message::sample(topic, b"x")
}

/// A session "l" subscribed to the topic of [`delayed_will`].
fn will_listener(state: &mut SessionsState) -> Attached {
    let (listener, _k) = request("l", false, SessionExpiry::Never);
    let l = state.attach(listener, 0);
    let filters = vec![("will".to_owned(), SubOptions::v3(1))];
    state.subscribe(&key("l"), l.id, filters);
    l
}

/// A will on topic "will" with a 5 s delay.
fn delayed_will() -> Will {
    Will {
        message: message("will"),
        delay: Duration::from_secs(5),
    }
}

const CLEAN: SessionExpiry = SessionExpiry::After(Duration::ZERO);

#[test]
fn a_second_connection_takes_the_session_over() {
    let (mut state, routes, published) = state();
    let (first, mut kicked) = request("c", false, SessionExpiry::Never);
    let first = state.attach(first, 0);
    state.subscribe(
        &key("c"),
        first.id,
        vec![("t".to_owned(), SubOptions::v3(1))],
    );
    let (second, _kicked2) = request("c", false, SessionExpiry::Never);
    let second = state.attach(second, 0);
    assert_eq!(kicked.try_recv(), Ok(Kick::TakenOver));
    assert!(second.session_present);
    assert!(
        Arc::ptr_eq(&first.queue, &second.queue),
        "the queue is handed over"
    );
    assert_eq!(routes.len(), 1, "subscriptions survive a takeover");
    // The old connection's late detach leaves the new one alone.
    assert!(state.detach(&key("c"), first.id, None, None).is_empty());
    assert!(published.load()[&key("c")].online.is_some());
}

#[test]
fn a_persistent_session_keeps_its_queue_offline_and_a_clean_one_ends() {
    let (mut state, routes, published) = state();
    let (persistent, _k) = request("p", false, SessionExpiry::Never);
    let p = state.attach(persistent, 0);
    state.subscribe(&key("p"), p.id, vec![("t".to_owned(), SubOptions::v3(1))]);
    state.detach(&key("p"), p.id, None, None);
    assert_eq!(
        routes.route("", &message("t"), false).matched,
        1,
        "offline sessions still get messages"
    );
    assert_eq!(p.queue.stats().waiting, 1);
    let (clean, _k) = request("c", true, CLEAN);
    let c = state.attach(clean, 0);
    state.subscribe(&key("c"), c.id, vec![("t".to_owned(), SubOptions::v3(0))]);
    state.detach(&key("c"), c.id, None, None);
    assert_eq!(published.load().len(), 1);
    assert!(published.load()[&key("p")].online.is_none());
    let (resume, _k) = request("p", false, SessionExpiry::Never);
    assert!(state.attach(resume, 0).session_present);
    let (fresh, _k) = request("p", true, SessionExpiry::Never);
    let fresh = state.attach(fresh, 0);
    assert!(!fresh.session_present && routes.is_empty());
}

#[test]
fn expiry_and_will_timers_fire_only_for_the_generation_they_were_set_for() {
    let (mut state, routes, _published) = state();
    let l = will_listener(&mut state);
    let expiring = SessionExpiry::After(Duration::from_secs(60));
    let (dying, _k) = request("d", false, expiring);
    let d = state.attach(dying, 0);
    let will = delayed_will();
    let timers = state.detach(&key("d"), d.id, Some(will), None);
    assert_eq!(timers.len(), 2, "will delay and session expiry");
    assert_eq!(l.queue.stats().waiting, 0, "the will waits for its delay");
    state.timer(&key("d"), timers[0].generation);
    assert_eq!(
        l.queue.stats().waiting,
        1,
        "the will is published after its delay"
    );
    state.timer(&key("d"), timers[1].generation);
    assert_eq!(state.len(), 1, "then the session expires");
    assert_eq!(routes.len(), 1);
}

#[test]
fn a_reconnect_within_the_will_delay_cancels_the_will() {
    let (mut state, _routes, _published) = state();
    let l = will_listener(&mut state);
    let (dying, _k) = request("d", false, SessionExpiry::Never);
    let d = state.attach(dying, 0);
    let will = delayed_will();
    let timers = state.detach(&key("d"), d.id, Some(will), None);
    let (back, _k) = request("d", false, SessionExpiry::Never);
    state.attach(back, 0);
    state.timer(&key("d"), timers[0].generation);
    assert_eq!(l.queue.stats().waiting, 0);
}

#[test]
fn disconnect_with_cleanup_deletes_and_without_keeps_a_persistent_session() {
    let (mut state, _routes, published) = state();
    let (persistent, mut kicked) = request("p", false, SessionExpiry::Never);
    state.attach(persistent, 0);
    assert!(state.disconnect(&key("p"), false));
    assert_eq!(kicked.try_recv(), Ok(Kick::Administrative));
    assert_eq!(published.load().len(), 1);
    assert!(state.disconnect(&key("p"), true));
    assert!(published.load().is_empty());
    assert!(!state.disconnect(&key("p"), true));
}

#[test]
fn operators_can_unsubscribe_an_offline_session() {
    let (mut state, routes, _published) = state();
    let (persistent, _k) = request("p", false, SessionExpiry::Never);
    let p = state.attach(persistent, 0);
    state.subscribe(&key("p"), p.id, vec![("t".to_owned(), SubOptions::v3(1))]);
    state.detach(&key("p"), p.id, None, None);
    let existed = state.unsubscribe(&key("p"), None, &["t".to_owned(), "u".to_owned()]);
    assert_eq!(existed, Some(vec![true, false]));
    assert!(routes.is_empty());
}

#[test]
fn a_session_handed_to_another_node_moves_with_its_subscriptions_and_messages() {
    let (mut old_node, old_routes, old_index) = state();
    let (first, mut kicked) = request("m", false, SessionExpiry::Never);
    let first = old_node.attach(first, 7);
    let filters = vec![("t".to_owned(), SubOptions::v3(1))];
    old_node.subscribe(&key("m"), first.id, filters);
    old_node.detach(&key("m"), first.id, None, None);
    old_routes.route("", &message("t"), false);
    assert_eq!(old_node.handover(&key("nobody"), true), None);

    let handed = old_node.handover(&key("m"), true).expect("the session");
    assert_eq!(kicked.try_recv(), Err(oneshot::error::TryRecvError::Closed));
    assert_eq!(handed.subscriptions.len(), 1);
    assert_eq!(handed.messages.len(), 1);
    assert!(old_node.is_empty() && old_routes.is_empty());
    assert!(old_index.load().is_empty());

    let (mut new_node, new_routes, _) = state();
    let (second, _k) = request("m", false, SessionExpiry::Never);
    let second = new_node.attach(
        AttachRequest {
            inherited: Some(handed.clone()),
            ..second
        },
        9,
    );
    assert!(second.session_present);
    assert_eq!(second.queue.stats().waiting, 1);
    assert_eq!(new_routes.route("", &message("t"), false).matched, 1);
    // A clean start takes nothing over.
    let (mut third_node, third_routes, _) = state();
    let (clean, _k) = request("m", true, CLEAN);
    let clean = third_node.attach(
        AttachRequest {
            inherited: Some(handed),
            ..clean
        },
        9,
    );
    assert!(!clean.session_present);
    assert_eq!(third_routes.len(), 0);
}

#[test]
fn an_online_session_handed_over_is_kicked_and_ends_here() {
    let (mut state, routes, _) = state();
    let (first, mut kicked) = request("o", true, CLEAN);
    let first = state.attach(first, 0);
    state.subscribe(
        &key("o"),
        first.id,
        vec![("t".to_owned(), SubOptions::v3(0))],
    );
    assert_eq!(state.handover(&key("o"), false), None);
    assert_eq!(kicked.try_recv(), Ok(Kick::TakenOver));
    assert!(state.is_empty() && routes.is_empty());
}

#[test]
fn a_session_of_a_leaving_node_is_adopted_offline_with_its_expiry() {
    let (mut state, routes, published) = state();
    let handed = Handover {
        subscriptions: vec![("t".to_owned(), SubOptions::v3(1))],
        messages: vec![message("t")],
        started_at_ms: 5,
        expiry_secs: Some(60),
    };
    let limits = QueueLimits::default();
    let timer = state.adopt(&key("a"), handed.clone(), limits, 1_000);
    assert_eq!(timer.map(|t| t.delay), Some(Duration::from_secs(60)));
    let view = published.load()[&key("a")].clone();
    assert!(view.online.is_none());
    assert_eq!(view.started_at_ms, 5);
    assert_eq!(view.queue_stats().waiting, 1);
    assert_eq!(routes.route("", &message("t"), false).matched, 1);
    // A second one for the same client adds to it.
    let never = Handover {
        expiry_secs: None,
        ..handed
    };
    assert_eq!(state.adopt(&key("a"), never, limits, 2_000), None);
    assert_eq!(published.load()[&key("a")].queue_stats().waiting, 3);
    assert_eq!(state.len(), 1);
}
