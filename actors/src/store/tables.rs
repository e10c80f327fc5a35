//! The table layout of the store: definitions, one write applied to a transaction, the load.
//!
//! Keys are redb tuples, which encode each string with its length (so no two keys collide) and
//! compare field by field: the messages of one session are the contiguous range
//! `(mountpoint, client_id, 0..=u64::MAX)`, ordered by seq.

use std::ops::RangeInclusive;

use redb::{
    Database, ReadableTable, ReadableTableMetadata, Table, TableDefinition, WriteTransaction,
};

use super::writer::Op;
use super::{Loaded, LoadedRetained, LoadedSession, SessionKey};

/// (mountpoint, client id) → session record.
const SESSIONS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("sessions");
/// (mountpoint, client id, seq) → message record.
const MESSAGES: TableDefinition<(&str, &str, u64), &[u8]> = TableDefinition::new("messages");
/// (mountpoint, topic) → retained record.
const RETAINED: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("retained");

type MessageKey<'a> = (&'a str, &'a str, u64);

/// Any redb error, boxed (`redb::Error` is large).
#[derive(Debug)]
pub(super) struct DbError(Box<redb::Error>);

impl<E: Into<redb::Error>> From<E> for DbError {
    fn from(error: E) -> Self {
        Self(Box::new(error.into()))
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Creates the tables if missing, so that a load of a new file finds them.
pub(super) fn create(db: &Database) -> Result<(), DbError> {
    let txn = db.begin_write()?;
    txn.open_table(SESSIONS)?;
    txn.open_table(MESSAGES)?;
    txn.open_table(RETAINED)?;
    txn.commit()?;
    Ok(())
}

/// The three tables opened in one write transaction.
pub(super) struct Tables<'txn> {
    sessions: Table<'txn, (&'static str, &'static str), &'static [u8]>,
    messages: Table<'txn, MessageKey<'static>, &'static [u8]>,
    retained: Table<'txn, (&'static str, &'static str), &'static [u8]>,
}

impl<'txn> Tables<'txn> {
    pub(super) fn open(txn: &'txn WriteTransaction) -> Result<Self, DbError> {
        Ok(Self {
            sessions: txn.open_table(SESSIONS)?,
            messages: txn.open_table(MESSAGES)?,
            retained: txn.open_table(RETAINED)?,
        })
    }

    /// Applies one write; flush and close markers are not writes and are skipped.
    pub(super) fn apply(&mut self, op: &Op) -> Result<(), DbError> {
        match op {
            Op::PutSession { key, record } => {
                self.sessions.insert(session(key), record.as_slice())?;
            }
            Op::DeleteSession { key } => {
                self.sessions.remove(session(key))?;
                self.remove_range(messages(key, u64::MAX))?;
            }
            Op::PushMessage { key, seq, record } => {
                let id = (key.mountpoint.as_str(), key.client_id.as_str(), *seq);
                self.messages.insert(id, record.as_slice())?;
            }
            Op::RemoveMessages { key, up_to_seq } => {
                self.remove_range(messages(key, *up_to_seq))?;
            }
            Op::ClearMessages { key } => self.remove_range(messages(key, u64::MAX))?,
            Op::PutRetained {
                mountpoint,
                topic,
                record,
            } => {
                let id = (mountpoint.as_str(), topic.as_str());
                self.retained.insert(id, record.as_slice())?;
            }
            Op::DeleteRetained { mountpoint, topic } => {
                self.retained
                    .remove((mountpoint.as_str(), topic.as_str()))?;
            }
            Op::Flush { .. } | Op::Close { .. } => {}
        }
        Ok(())
    }

    fn remove_range(&mut self, range: RangeInclusive<MessageKey<'_>>) -> Result<(), DbError> {
        self.messages.retain_in(range, |_, _| false)?;
        Ok(())
    }
}

fn session(key: &SessionKey) -> (&str, &str) {
    (key.mountpoint.as_str(), key.client_id.as_str())
}

/// The messages of a session with seq at most `up_to_seq`.
fn messages(key: &SessionKey, up_to_seq: u64) -> RangeInclusive<MessageKey<'_>> {
    let (mountpoint, client_id) = session(key);
    (mountpoint, client_id, 0)..=(mountpoint, client_id, up_to_seq)
}

/// Reads everything in one read transaction (a consistent snapshot).
pub(super) fn load(db: &Database) -> Result<Loaded, DbError> {
    let txn = db.begin_read()?;
    let sessions = txn.open_table(SESSIONS)?;
    let messages = txn.open_table(MESSAGES)?;
    let mut loaded = Loaded::default();
    let mut owned_messages = 0;
    for entry in sessions.iter()? {
        let (id, record) = entry?;
        let (mountpoint, client_id) = id.value();
        let key = SessionKey {
            mountpoint: mountpoint.to_owned(),
            client_id: client_id.to_owned(),
        };
        let mut queued = Vec::new();
        for message in messages.range(self::messages(&key, u64::MAX))? {
            let (id, record) = message?;
            queued.push((id.value().2, record.value().to_vec()));
        }
        owned_messages += queued.len() as u64;
        loaded.sessions.push(LoadedSession {
            key,
            record: record.value().to_vec(),
            messages: queued,
        });
    }
    let orphans = messages.len()?.saturating_sub(owned_messages);
    if orphans > 0 {
        tracing::warn!(orphans, "stored messages of no stored session are ignored");
    }
    for entry in txn.open_table(RETAINED)?.iter()? {
        let (id, record) = entry?;
        let (mountpoint, topic) = id.value();
        loaded.retained.push(LoadedRetained {
            mountpoint: mountpoint.to_owned(),
            topic: topic.to_owned(),
            record: record.value().to_vec(),
        });
    }
    Ok(loaded)
}
