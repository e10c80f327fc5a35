//! The acknowledged stream without a network: an outbox and an inbox wired by hand, with frames
//! lost, repeated and reordered the way a dropped connection and a resume do it.

use super::*;

/// Hands a frame to the inbox; answers its body when delivered.
fn deliver(inbox: &mut Inbox, frame: &[u8]) -> Option<Vec<u8>> {
    let (epoch, seq, body) = unsequenced(frame).expect("a sequenced frame");
    match inbox.take(epoch, seq) {
        Take::Deliver { .. } => Some(body.to_vec()),
        Take::Duplicate | Take::Resync | Take::Skip => None,
    }
}

/// Resumes `outbox` against `inbox`; answers the frames sent again.
fn resume(outbox: &mut Outbox, inbox: &mut Inbox) -> Vec<Vec<u8>> {
    let (id, request) = outbox.begin_resume();
    let delivered = inbox.resume(request);
    outbox.resumed(id, delivered)
}

fn live(limit: usize) -> (Outbox, Inbox) {
    let mut outbox = Outbox::new(7, limit);
    let mut inbox = Inbox::default();
    assert!(resume(&mut outbox, &mut inbox).is_empty());
    (outbox, inbox)
}

fn sent(pushed: Pushed) -> Vec<u8> {
    match pushed {
        Pushed::Send(frame) => frame,
        other => panic!("expected a frame to send, got {other:?}"),
    }
}

#[test]
fn frames_in_sequence_are_delivered_and_acknowledged() {
    let (mut outbox, mut inbox) = live(1 << 20);
    for body in [b"a", b"b", b"c"] {
        let frame = sent(outbox.push(body));
        assert_eq!(deliver(&mut inbox, &frame), Some(body.to_vec()));
    }
    assert_eq!(outbox.kept().0, 3);
    let ack = inbox.ack().expect("an acknowledgement");
    assert_eq!(ack, Ack { epoch: 7, seq: 3 });
    assert_eq!(inbox.ack(), None, "nothing new to acknowledge");
    outbox.acked(ack.epoch, ack.seq);
    assert_eq!(outbox.kept(), (0, 0));
}

#[test]
fn frames_held_while_down_arrive_once_after_the_resume() {
    let (mut outbox, mut inbox) = live(1 << 20);
    let first = sent(outbox.push(b"1"));
    assert!(deliver(&mut inbox, &first).is_some());
    // The connection drops: "2" is sent but lost, "3" and "4" are held.
    let _lost = sent(outbox.push(b"2"));
    assert!(!outbox.wants_resume(false));
    assert_eq!(outbox.push(b"3"), Pushed::Held);
    assert!(outbox.wants_resume(true), "the peer is back");
    assert_eq!(outbox.push(b"4"), Pushed::Held);
    let again = resume(&mut outbox, &mut inbox);
    let bodies: Vec<_> = again
        .iter()
        .filter_map(|frame| deliver(&mut inbox, frame))
        .collect();
    assert_eq!(bodies, [b"2".to_vec(), b"3".to_vec(), b"4".to_vec()]);
    // Sent again a second time (a spurious resume): nothing is delivered twice.
    for frame in &again {
        assert_eq!(deliver(&mut inbox, frame), None);
    }
}

#[test]
fn a_gap_asks_for_a_resume_and_nothing_after_it_is_taken() {
    let (mut outbox, mut inbox) = live(1 << 20);
    let _lost = sent(outbox.push(b"1"));
    let second = sent(outbox.push(b"2"));
    let third = sent(outbox.push(b"3"));
    let (epoch, seq, _) = unsequenced(&second).expect("a frame");
    assert_eq!(inbox.take(epoch, seq), Take::Resync);
    let (epoch, seq, _) = unsequenced(&third).expect("a frame");
    assert_eq!(inbox.take(epoch, seq), Take::Skip, "asked once");
    let again = resume(&mut outbox, &mut inbox);
    assert_eq!(again.len(), 3);
    assert!(again.iter().all(|f| deliver(&mut inbox, f).is_some()));
}

#[test]
fn a_restarted_receiver_asks_for_a_resume() {
    let (mut outbox, _old) = live(1 << 20);
    let mut restarted = Inbox::default();
    let frame = sent(outbox.push(b"x"));
    let (epoch, seq, _) = unsequenced(&frame).expect("a frame");
    assert_eq!(restarted.take(epoch, seq), Take::Resync);
    outbox.went_down();
    let again = resume(&mut outbox, &mut restarted);
    assert_eq!(deliver(&mut restarted, &again[0]), Some(b"x".to_vec()));
}

#[test]
fn a_restarted_sender_starts_a_new_run() {
    let (mut old, mut inbox) = live(1 << 20);
    for _ in 0..5 {
        let frame = sent(old.push(b"old"));
        assert!(deliver(&mut inbox, &frame).is_some());
    }
    let mut restarted = Outbox::new(8, 1 << 20);
    assert_eq!(restarted.push(b"new"), Pushed::Held);
    let again = resume(&mut restarted, &mut inbox);
    assert_eq!(deliver(&mut inbox, &again[0]), Some(b"new".to_vec()));
    // A late frame of the old run is not taken.
    let late = sequenced(7, 6, b"late");
    assert_eq!(deliver(&mut inbox, &late), None);
}

#[test]
fn a_full_buffer_drops_new_frames_and_acks_make_room() {
    let frame_len = sequenced(0, 0, b"0123456789").len();
    let (mut outbox, mut inbox) = live(frame_len * 2);
    outbox.went_down();
    assert_eq!(outbox.push(b"0123456789"), Pushed::Held);
    assert_eq!(outbox.push(b"0123456789"), Pushed::Held);
    assert_eq!(outbox.push(b"0123456789"), Pushed::Dropped { first: true });
    assert_eq!(outbox.push(b"0123456789"), Pushed::Dropped { first: false });
    assert_eq!(outbox.kept(), (2, frame_len * 2));
    let again = resume(&mut outbox, &mut inbox);
    assert!(again.iter().all(|f| deliver(&mut inbox, f).is_some()));
    let ack = inbox.ack().expect("an acknowledgement");
    outbox.acked(ack.epoch, ack.seq);
    assert!(matches!(outbox.push(b"0123456789"), Pushed::Send(_)));
}

#[test]
fn a_stalled_stream_resumes_and_an_outdated_answer_is_ignored() {
    let (mut outbox, mut inbox) = live(1 << 20);
    let _unanswered = sent(outbox.push(b"1"));
    for _ in 1..STALL_TICKS {
        assert!(!outbox.wants_resume(true));
    }
    assert!(outbox.wants_resume(true));
    let (old_id, _) = outbox.begin_resume();
    outbox.resume_failed(old_id);
    let (id, request) = outbox.begin_resume();
    assert!(outbox.resumed(old_id, 0).is_empty(), "an older resume");
    let again = outbox.resumed(id, inbox.resume(request));
    assert_eq!(again.len(), 1);
    assert!(deliver(&mut inbox, &again[0]).is_some());
}

#[test]
fn receivers_acknowledge_without_waiting_every_so_many_frames() {
    let (mut outbox, mut inbox) = live(1 << 24);
    let mut early = 0;
    for _ in 0..ACK_EVERY * 2 {
        let frame = sent(outbox.push(b"m"));
        let (epoch, seq, _) = unsequenced(&frame).expect("a frame");
        if let Take::Deliver { ack: true } = inbox.take(epoch, seq) {
            early += 1;
            let ack = inbox.ack().expect("an acknowledgement");
            outbox.acked(ack.epoch, ack.seq);
        }
    }
    assert_eq!(early, 2);
    assert_eq!(outbox.kept().0, 0);
}

#[test]
fn short_frames_and_wrong_runs_are_refused() {
    assert_eq!(unsequenced(b""), None);
    assert_eq!(unsequenced(&[0u8; 15]), None);
    assert_eq!(unsequenced(&sequenced(1, 2, b"")), Some((1, 2, &b""[..])));
    let mut outbox = Outbox::new(3, 100);
    outbox.went_down();
    outbox.push(b"x");
    outbox.acked(4, 10);
    assert_eq!(outbox.kept().0, 1, "an acknowledgement of another run");
}

#[test]
fn a_peer_lying_about_numbers_cannot_overflow_anything() {
    let mut inbox = Inbox::default();
    let last = inbox.resume(Resume {
        epoch: 1,
        from: u64::MAX,
    });
    assert_eq!(last, u64::MAX - 1);
    assert!(matches!(inbox.take(1, u64::MAX), Take::Deliver { .. }));
    assert_eq!(inbox.take(1, u64::MAX), Take::Duplicate);
    assert_eq!(inbox.take(1, 0), Take::Duplicate);
    assert_eq!(inbox.resume(Resume { epoch: 2, from: 0 }), 0);
    let mut outbox = Outbox::new(1, 100);
    outbox.push(b"x");
    outbox.acked(1, u64::MAX);
    assert_eq!(outbox.kept(), (0, 0));
    let (id, _) = outbox.begin_resume();
    assert!(outbox.resumed(id, u64::MAX).is_empty());
}
