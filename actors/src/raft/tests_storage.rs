//! Tests of `meta.redb` on its own: what survives a reopen, and what a malformed snapshot does.

use std::collections::BTreeSet;
use std::io::Cursor;

use openraft::storage::{RaftLogReader, RaftLogStorage, RaftStateMachine};
use openraft::{
    CommittedLeaderId, Entry, EntryPayload, LogId, Membership, RaftSnapshotBuilder, SnapshotMeta,
    Vote,
};

use super::log_store::{open, LogStore};
use super::machine::StateMachine;
use super::tests::add_key;
use super::{MetaNode, Response, TypeConfig};
use crate::{KeyDigest, Scope};

fn log_id(term: u64, index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

fn entry(index: u64, payload: EntryPayload<TypeConfig>) -> Entry<TypeConfig> {
    Entry {
        log_id: log_id(3, index),
        payload,
    }
}

fn normal(index: u64) -> Entry<TypeConfig> {
    entry(index, EntryPayload::Normal(add_key(1)))
}

#[tokio::test]
async fn the_log_vote_and_committed_index_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("meta.redb");
    {
        let mut store = LogStore::new(open(&path).expect("opens"));
        store.save_vote(&Vote::new(3, 2)).await.expect("vote saved");
        store
            .save_committed(Some(log_id(3, 4)))
            .await
            .expect("saved");
        store
            .insert((1..=6).map(normal).collect())
            .expect("appended");
        store.truncate(log_id(3, 6)).await.expect("truncated");
        store.purge(log_id(3, 2)).await.expect("purged");
    }
    let mut store = LogStore::new(open(&path).expect("reopens"));
    assert_eq!(
        store.read_vote().await.expect("read"),
        Some(Vote::new(3, 2))
    );
    assert_eq!(
        store.read_committed().await.expect("read"),
        Some(log_id(3, 4))
    );
    let state = store.get_log_state().await.expect("log state");
    assert_eq!(state.last_purged_log_id, Some(log_id(3, 2)));
    assert_eq!(state.last_log_id, Some(log_id(3, 5)));
    let entries = store.try_get_log_entries(0..100).await.expect("entries");
    let indexes: Vec<u64> = entries.iter().map(|e| e.log_id.index).collect();
    assert_eq!(indexes, [3, 4, 5]);
}

#[tokio::test]
async fn the_applied_state_survives_a_reopen_and_snapshots_move_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("meta.redb");
    let members = Membership::new(vec![BTreeSet::from([1])], None);
    let snapshot = {
        let mut machine = StateMachine::load(open(&path).expect("opens")).expect("loads");
        let applied = machine
            .apply([
                entry(1, EntryPayload::Membership(members)),
                normal(2),
                normal(3),
            ])
            .await
            .expect("applied");
        let exists = Response::KeyExists { scope: Scope::Mgmt };
        assert_eq!(applied, [Response::Done, Response::Done, exists]);
        let mut builder = machine.get_snapshot_builder().await;
        builder.build_snapshot().await.expect("snapshot built")
    };
    let mut machine = StateMachine::load(open(&path).expect("reopens")).expect("loads");
    let (last, _) = machine.applied_state().await.expect("applied state");
    assert_eq!(last, Some(log_id(3, 3)));
    let state = machine.published().load_full();
    assert!(state.key(&KeyDigest([1; 32]), Scope::Mgmt).is_some());
    let current = machine.get_current_snapshot().await.expect("read");
    assert_eq!(current.map(|s| s.meta), Some(snapshot.meta.clone()));

    let other = tempfile::tempdir().expect("temp dir");
    let mut fresh =
        StateMachine::load(open(&other.path().join("meta.redb")).expect("opens")).expect("loads");
    fresh
        .install_snapshot(&snapshot.meta, snapshot.snapshot)
        .await
        .expect("installed");
    assert_eq!(fresh.published().load_full(), state);
    assert_eq!(
        fresh.applied_state().await.expect("read").0,
        Some(log_id(3, 3))
    );
}

#[tokio::test]
async fn a_malformed_snapshot_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut machine =
        StateMachine::load(open(&dir.path().join("meta.redb")).expect("opens")).expect("loads");
    machine.apply([normal(1)]).await.expect("applied");
    let before = machine.published().load_full();
    let meta = SnapshotMeta::<u64, MetaNode> {
        last_log_id: Some(log_id(9, 50)),
        last_membership: Default::default(),
        snapshot_id: "junk".into(),
    };
    let junk = Box::new(Cursor::new(b"\xffjunk".to_vec()));
    assert!(machine.install_snapshot(&meta, junk).await.is_err());
    assert_eq!(machine.published().load_full(), before);
    assert_eq!(
        machine.applied_state().await.expect("read").0,
        Some(log_id(3, 1))
    );
}
