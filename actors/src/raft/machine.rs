//! The state machine in `meta.redb`: the applied state (saved with every applied batch), snapshots, and the published [`MetaState`].

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;

use arc_swap::ArcSwap;
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    AnyError, Entry, EntryPayload, LogId, RaftSnapshotBuilder, SnapshotMeta, StorageError,
    StorageIOError, StoredMembership,
};
use redb::Database;
use serde::{Deserialize, Serialize};

use super::log_store::{encode, read_meta, write_meta};
use super::{MetaNode, MetaState, NodeId, Response, TypeConfig};

const MACHINE: &str = "machine";
const SNAPSHOT: &str = "snapshot";

type StoreResult<T> = Result<T, StorageError<NodeId>>;

/// What the state machine persists after each applied batch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Applied {
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, MetaNode>,
    state: MetaState,
}

/// The last built or installed snapshot as stored.
#[derive(Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, MetaNode>,
    data: Vec<u8>,
}

/// openraft's state machine; publishes the state after every change.
pub(super) struct StateMachine {
    db: Arc<Database>,
    applied: Applied,
    published: Arc<ArcSwap<MetaState>>,
}

fn write_error(e: String) -> StorageError<NodeId> {
    StorageIOError::write_state_machine(AnyError::error(e)).into()
}

fn read_error(e: String) -> StorageError<NodeId> {
    StorageIOError::read_state_machine(AnyError::error(e)).into()
}

impl StateMachine {
    /// Loads the applied state from `db` (empty when new) and publishes it.
    pub(super) fn load(db: Arc<Database>) -> Result<Self, String> {
        let applied: Applied = read_meta(&db, MACHINE)?.unwrap_or_default();
        let published = Arc::new(ArcSwap::from_pointee(applied.state.clone()));
        Ok(Self {
            db,
            applied,
            published,
        })
    }

    /// The state local reads see; updated after every applied batch.
    pub(super) fn published(&self) -> Arc<ArcSwap<MetaState>> {
        Arc::clone(&self.published)
    }

    fn save(&self, snapshot: Option<&StoredSnapshot>) -> Result<(), String> {
        let machine = encode(&self.applied)?;
        match snapshot {
            Some(snapshot) => write_meta(
                &self.db,
                &[(MACHINE, &machine), (SNAPSHOT, &encode(snapshot)?)],
            ),
            None => write_meta(&self.db, &[(MACHINE, &machine)]),
        }
    }

    fn publish(&self) {
        self.published.store(Arc::new(self.applied.state.clone()));
    }

    fn members_of(membership: &StoredMembership<NodeId, MetaNode>) -> BTreeMap<NodeId, MetaNode> {
        membership
            .nodes()
            .map(|(id, node)| (*id, node.clone()))
            .collect()
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> StoreResult<(Option<LogId<NodeId>>, StoredMembership<NodeId, MetaNode>)> {
        Ok((self.applied.last_applied, self.applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StoreResult<Vec<Response>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut responses = Vec::new();
        for entry in entries {
            self.applied.last_applied = Some(entry.log_id);
            let response = match entry.payload {
                EntryPayload::Blank => Response::Done,
                EntryPayload::Normal(command) => self.applied.state.apply(&command),
                EntryPayload::Membership(membership) => {
                    self.applied.membership = StoredMembership::new(Some(entry.log_id), membership);
                    let members = Self::members_of(&self.applied.membership);
                    self.applied.state.set_members(members);
                    Response::Done
                }
            };
            responses.push(response);
        }
        // Durable before openraft answers the client: a restart never forgets an answered write.
        self.save(None).map_err(write_error)?;
        self.publish();
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            db: Arc::clone(&self.db),
            applied: self.applied.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> StoreResult<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, MetaNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> StoreResult<()> {
        let data = snapshot.into_inner();
        // A malformed snapshot from a peer is refused; the current state stays.
        let mut state = MetaState::decode(&data).map_err(read_error)?;
        state.set_members(Self::members_of(&meta.last_membership));
        self.applied = Applied {
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
            state,
        };
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data,
        };
        self.save(Some(&stored)).map_err(write_error)?;
        self.publish();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> StoreResult<Option<Snapshot<TypeConfig>>> {
        let stored: Option<StoredSnapshot> = read_meta(&self.db, SNAPSHOT).map_err(read_error)?;
        Ok(stored.map(|stored| Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        }))
    }
}

/// Builds a snapshot of the state as it was when openraft asked for the builder.
pub(super) struct SnapshotBuilder {
    db: Arc<Database>,
    applied: Applied,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> StoreResult<Snapshot<TypeConfig>> {
        let data = self.applied.state.encode().map_err(read_error)?;
        let snapshot_id = match self.applied.last_applied {
            Some(log_id) => format!("{}-{}", log_id.leader_id, log_id.index),
            None => "empty".to_owned(),
        };
        let meta = SnapshotMeta {
            last_log_id: self.applied.last_applied,
            last_membership: self.applied.membership.clone(),
            snapshot_id,
        };
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data,
        };
        let bytes = encode(&stored).map_err(write_error)?;
        write_meta(&self.db, &[(SNAPSHOT, &bytes)]).map_err(write_error)?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        })
    }
}
