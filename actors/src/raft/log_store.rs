//! The raft log, vote and committed index in `meta.redb`; every write is committed (fsync) before openraft hears of it.

use std::fmt::Debug;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{Entry, LogId, StorageError, StorageIOError, Vote};
use redb::{Database, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{NodeId, TypeConfig};

/// Log entries by index, CBOR-encoded.
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("raft_log");
/// Single values by name (vote, committed, purged, machine, snapshot), CBOR-encoded.
pub(super) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("raft_meta");

const VOTE: &str = "vote";
const COMMITTED: &str = "committed";
const PURGED: &str = "purged";

type StoreResult<T> = Result<T, StorageError<NodeId>>;

/// Opens (or creates) `meta.redb` with both tables present.
pub(super) fn open(path: &Path) -> Result<Arc<Database>, String> {
    let db = Database::create(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let init = || -> Result<(), String> {
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        txn.open_table(LOG).map_err(|e| e.to_string())?;
        txn.open_table(META).map_err(|e| e.to_string())?;
        txn.commit().map_err(|e| e.to_string())
    };
    init().map_err(|e| format!("cannot initialize {}: {e}", path.display()))?;
    Ok(Arc::new(db))
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    ciborium::from_reader(bytes).map_err(|e| e.to_string())
}

/// Reads one META value; `None` when it was never written.
pub(super) fn read_meta<T: DeserializeOwned>(
    db: &Database,
    name: &str,
) -> Result<Option<T>, String> {
    let txn = db.begin_read().map_err(|e| e.to_string())?;
    let table = txn.open_table(META).map_err(|e| e.to_string())?;
    let value = table.get(name).map_err(|e| e.to_string())?;
    value.map(|bytes| decode(bytes.value())).transpose()
}

/// Writes META values in one durable transaction.
pub(super) fn write_meta(db: &Database, values: &[(&str, &[u8])]) -> Result<(), String> {
    let txn = db.begin_write().map_err(|e| e.to_string())?;
    {
        let mut table = txn.open_table(META).map_err(|e| e.to_string())?;
        for (name, bytes) in values {
            table.insert(*name, *bytes).map_err(|e| e.to_string())?;
        }
    }
    txn.commit().map_err(|e| e.to_string())
}

/// openraft's log store over the shared database; clones share it (the clone is the log reader).
#[derive(Clone)]
pub(super) struct LogStore {
    db: Arc<Database>,
}

impl LogStore {
    pub(super) fn new(db: Arc<Database>) -> Self {
        Self { db }
    }

    fn put<T: Serialize>(&self, name: &str, value: &T) -> Result<(), String> {
        write_meta(&self.db, &[(name, &encode(value)?)])
    }

    fn last_entry(&self) -> Result<Option<Entry<TypeConfig>>, String> {
        let txn = self.db.begin_read().map_err(|e| e.to_string())?;
        let table = txn.open_table(LOG).map_err(|e| e.to_string())?;
        let last = table.last().map_err(|e| e.to_string())?;
        last.map(|(_, bytes)| decode(bytes.value())).transpose()
    }

    fn entries<RB: RangeBounds<u64>>(&self, range: RB) -> Result<Vec<Entry<TypeConfig>>, String> {
        let txn = self.db.begin_read().map_err(|e| e.to_string())?;
        let table = txn.open_table(LOG).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for row in table.range(range).map_err(|e| e.to_string())? {
            let (_, bytes) = row.map_err(|e| e.to_string())?;
            out.push(decode(bytes.value())?);
        }
        Ok(out)
    }

    /// Writes `entries` durably (what `append` does before reporting the flush).
    pub(super) fn insert(&self, entries: Vec<Entry<TypeConfig>>) -> Result<(), String> {
        let txn = self.db.begin_write().map_err(|e| e.to_string())?;
        {
            let mut table = txn.open_table(LOG).map_err(|e| e.to_string())?;
            for entry in entries {
                table
                    .insert(entry.log_id.index, encode(&entry)?.as_slice())
                    .map_err(|e| e.to_string())?;
            }
        }
        txn.commit().map_err(|e| e.to_string())
    }

    /// Removes the entries in `range`; `purged` (when given) is recorded in the same transaction.
    fn remove<RB: RangeBounds<u64>>(
        &self,
        range: RB,
        purged: Option<&LogId<NodeId>>,
    ) -> Result<(), String> {
        let txn = self.db.begin_write().map_err(|e| e.to_string())?;
        {
            let mut log = txn.open_table(LOG).map_err(|e| e.to_string())?;
            log.retain_in(range, |_, _| false)
                .map_err(|e| e.to_string())?;
            if let Some(log_id) = purged {
                let mut meta = txn.open_table(META).map_err(|e| e.to_string())?;
                meta.insert(PURGED, encode(log_id)?.as_slice())
                    .map_err(|e| e.to_string())?;
            }
        }
        txn.commit().map_err(|e| e.to_string())
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> StoreResult<Vec<Entry<TypeConfig>>> {
        self.entries(range)
            .map_err(|e| StorageIOError::read_logs(openraft::AnyError::error(e)).into())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> StoreResult<LogState<TypeConfig>> {
        let read = || -> Result<LogState<TypeConfig>, String> {
            let last_purged_log_id: Option<LogId<NodeId>> = read_meta(&self.db, PURGED)?;
            let last = self.last_entry()?.map(|entry| entry.log_id);
            Ok(LogState {
                last_purged_log_id,
                last_log_id: last.or(last_purged_log_id),
            })
        };
        read().map_err(|e| StorageIOError::read_logs(openraft::AnyError::error(e)).into())
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> StoreResult<()> {
        self.put(VOTE, vote)
            .map_err(|e| StorageIOError::write_vote(openraft::AnyError::error(e)).into())
    }

    async fn read_vote(&mut self) -> StoreResult<Option<Vote<NodeId>>> {
        read_meta(&self.db, VOTE)
            .map_err(|e| StorageIOError::read_vote(openraft::AnyError::error(e)).into())
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> StoreResult<()> {
        self.put(COMMITTED, &committed)
            .map_err(|e| StorageIOError::write(openraft::AnyError::error(e)).into())
    }

    async fn read_committed(&mut self) -> StoreResult<Option<LogId<NodeId>>> {
        let committed: Result<Option<Option<LogId<NodeId>>>, String> =
            read_meta(&self.db, COMMITTED);
        committed
            .map(Option::flatten)
            .map_err(|e| StorageIOError::read(openraft::AnyError::error(e)).into())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> StoreResult<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        // The commit is synchronous and durable, so the flush is reported after it, never before.
        match self.insert(entries.into_iter().collect()) {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.clone())));
                Err(StorageIOError::write_logs(openraft::AnyError::error(e)).into())
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> StoreResult<()> {
        self.remove(log_id.index.., None)
            .map_err(|e| StorageIOError::write_logs(openraft::AnyError::error(e)).into())
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> StoreResult<()> {
        self.remove(..=log_id.index, Some(&log_id))
            .map_err(|e| StorageIOError::write_logs(openraft::AnyError::error(e)).into())
    }
}
