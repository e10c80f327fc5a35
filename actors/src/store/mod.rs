//! The durable store of persistent MQTT sessions, their offline messages and retained messages.
//!
//! One redb file (`<data_dir>/mqtt.redb`) holds three tables (see `tables.rs`). Records are opaque
//! blobs that the caller encodes. Writes never block and never fail at the call site: they are
//! queued to one writer thread (`writer.rs`) that applies everything queued in one transaction
//! per batch (group commit), in call order, and commits it with fsync. [`Store::flush`] waits
//! until the writes queued before it are committed and reports a failed batch.

mod tables;
#[cfg(test)]
mod tests;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use redb::{Database, DatabaseError};
use tokio::sync::oneshot;

use writer::{Op, Reply};

/// Names a session: client ids are unique within a mountpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey {
    /// The mountpoint of the listener the client connected through (`""` for none).
    pub mountpoint: String,
    /// The MQTT client id.
    pub client_id: String,
}

impl SessionKey {
    /// The key of `client_id` under `mountpoint`.
    pub fn new(mountpoint: &str, client_id: &str) -> Self {
        Self {
            mountpoint: mountpoint.to_owned(),
            client_id: client_id.to_owned(),
        }
    }
}

/// A stored session with its offline messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedSession {
    /// Which session.
    pub key: SessionKey,
    /// The record given to the last [`Store::put_session`].
    pub record: Vec<u8>,
    /// The queued messages as `(seq, record)`, ascending by seq.
    pub messages: Vec<(u64, Vec<u8>)>,
}

/// A stored retained message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedRetained {
    /// The mountpoint the message was published in.
    pub mountpoint: String,
    /// Its topic.
    pub topic: String,
    /// The record given to the last [`Store::put_retained`].
    pub record: Vec<u8>,
}

/// Everything stored, read at the node's start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Sessions ordered by (mountpoint, client id).
    pub sessions: Vec<LoadedSession>,
    /// Retained messages ordered by (mountpoint, topic).
    pub retained: Vec<LoadedRetained>,
}

/// Why the store could not be opened, read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// At start: the file is corrupt, unreadable or in use; the message names the path.
    #[error("{0}")]
    Open(String),
    /// Reading the stored records failed.
    #[error("{0}")]
    Read(String),
    /// A batch of writes was not committed: its writes are lost, earlier commits are kept.
    #[error("{0}")]
    Write(String),
    /// [`Store::load`] after [`Store::close`].
    #[error("the message store is closed")]
    Closed,
    /// The writer thread is gone without a close (a bug).
    #[error("the message store writer stopped unexpectedly; restart the node")]
    WriterStopped,
}

/// The durable store. Cheap to clone; all clones share one database and one writer.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.shared.path)
            .finish_non_exhaustive()
    }
}

struct Inner {
    ops: mpsc::Sender<Op>,
    /// For [`Store::load`]; taken by [`Store::close`] so that the file is released.
    db: ArcSwapOption<Database>,
    shared: Arc<Shared>,
}

/// State shared between the handles and the writer thread.
struct Shared {
    path: PathBuf,
    /// Set by `close`: later writes are ignored.
    closed: AtomicBool,
    /// Set by the writer when it exits normally.
    stopped: AtomicBool,
    /// Whether the last batch failed.
    failing: AtomicBool,
    /// Whether the "writes after close" warning was logged.
    warned: AtomicBool,
    /// Committed transactions (group commit is visible in tests).
    commits: AtomicU64,
}

impl Store {
    /// Opens (creating if missing) the database at `path` and starts its writer thread.
    ///
    /// Needs no runtime, but blocks: an uncleanly closed file is repaired here. A corrupt or
    /// unreadable file, or one in use, is an error naming the path, and the file is left as is.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = redb::Builder::new()
            .create_with_file_format_v3(true)
            .create(path)
            .map_err(|e| open_db_error(path, &e))?;
        Self::start(db, path)
    }

    /// Starts the writer for an opened database (tests open one on a failing backend).
    fn start(db: Database, path: &Path) -> Result<Store, StoreError> {
        tables::create(&db).map_err(|e| open_error(path, &e))?;
        let db = Arc::new(db);
        let shared = Arc::new(Shared {
            path: path.to_path_buf(),
            closed: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            failing: AtomicBool::new(false),
            warned: AtomicBool::new(false),
            commits: AtomicU64::new(0),
        });
        let (ops, queued) = mpsc::channel();
        let (writer_db, writer_shared) = (Arc::clone(&db), Arc::clone(&shared));
        std::thread::Builder::new()
            .name("mqtt-store".to_owned())
            .spawn(move || writer::run(writer_db, &queued, &writer_shared))
            .map_err(|e| open_error(path, &e))?;
        Ok(Store {
            inner: Arc::new(Inner {
                ops,
                db: ArcSwapOption::from(Some(db)),
                shared,
            }),
        })
    }

    /// Everything stored, for the node's start. Blocks while it reads the file.
    pub fn load(&self) -> Result<Loaded, StoreError> {
        let db = self.inner.db.load_full().ok_or(StoreError::Closed)?;
        tables::load(&db).map_err(|e| {
            StoreError::Read(format!(
                "could not read the message store {}: {e}",
                self.inner.shared.path.display()
            ))
        })
    }

    /// Stores (or replaces) the record of a session.
    pub fn put_session(&self, key: &SessionKey, record: Vec<u8>) {
        self.send(Op::PutSession {
            key: key.clone(),
            record,
        });
    }

    /// Deletes a session and all its messages.
    pub fn delete_session(&self, key: &SessionKey) {
        self.send(Op::DeleteSession { key: key.clone() });
    }

    /// Stores (or replaces) the message `seq` of a session.
    pub fn push_message(&self, key: &SessionKey, seq: u64, record: Vec<u8>) {
        self.send(Op::PushMessage {
            key: key.clone(),
            seq,
            record,
        });
    }

    /// Deletes the messages of a session whose seq is at most `up_to_seq`.
    pub fn remove_messages(&self, key: &SessionKey, up_to_seq: u64) {
        self.send(Op::RemoveMessages {
            key: key.clone(),
            up_to_seq,
        });
    }

    /// Deletes all messages of a session (the session record stays).
    pub fn clear_messages(&self, key: &SessionKey) {
        self.send(Op::ClearMessages { key: key.clone() });
    }

    /// Stores (or replaces) the retained message of a topic.
    pub fn put_retained(&self, mountpoint: &str, topic: &str, record: Vec<u8>) {
        self.send(Op::PutRetained {
            mountpoint: mountpoint.to_owned(),
            topic: topic.to_owned(),
            record,
        });
    }

    /// Deletes the retained message of a topic.
    pub fn delete_retained(&self, mountpoint: &str, topic: &str) {
        self.send(Op::DeleteRetained {
            mountpoint: mountpoint.to_owned(),
            topic: topic.to_owned(),
        });
    }

    /// Resolves once every write queued before the call is committed.
    ///
    /// A failed batch is reported by the flushes queued in it or, if it had none, by those of the
    /// next batch that has some. After [`Store::close`] this returns `Ok` (nothing is pending).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.request(|reply| Op::Flush { reply }).await
    }

    /// Commits everything queued, stops the writer and releases the file (node shutdown).
    /// Later writes are ignored with a warning; a second close returns `Ok`.
    pub async fn close(&self) -> Result<(), StoreError> {
        self.inner.shared.closed.store(true, Ordering::SeqCst);
        self.inner.db.store(None);
        self.request(|reply| Op::Close { reply }).await
    }

    /// Whether the last batch failed (for health checks).
    pub fn is_failing(&self) -> bool {
        self.inner.shared.failing.load(Ordering::SeqCst)
    }

    /// Transactions committed since open.
    #[cfg(test)]
    fn commits(&self) -> u64 {
        self.inner.shared.commits.load(Ordering::SeqCst)
    }

    fn send(&self, op: Op) {
        let shared = &self.inner.shared;
        if shared.closed.load(Ordering::SeqCst) || self.inner.ops.send(op).is_err() {
            shared.warn_ignored(1);
        }
    }

    async fn request(&self, op: impl FnOnce(Reply) -> Op) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        if self.inner.ops.send(op(reply)).is_err() {
            return self.inner.shared.gone();
        }
        match answer.await {
            Ok(result) => result,
            Err(_) => self.inner.shared.gone(),
        }
    }
}

impl Shared {
    /// The answer when the writer is no longer there.
    fn gone(&self) -> Result<(), StoreError> {
        if self.stopped.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(StoreError::WriterStopped)
        }
    }

    fn warn_ignored(&self, count: usize) {
        if !self.warned.swap(true, Ordering::SeqCst) {
            tracing::warn!(
                count,
                "the message store is closed: writes after close are ignored"
            );
        }
    }
}

fn open_error(path: &Path, problem: &dyn std::fmt::Display) -> StoreError {
    StoreError::Open(format!(
        "could not open the message store {}: {problem}; repair it, or move it away to start \
         with no persistent sessions or retained messages",
        path.display()
    ))
}

/// `DatabaseError::DatabaseAlreadyOpen` gets its own hint.
fn open_db_error(path: &Path, error: &DatabaseError) -> StoreError {
    match error {
        DatabaseError::DatabaseAlreadyOpen => StoreError::Open(format!(
            "the message store {} is already open (by another node?); stop that first",
            path.display()
        )),
        other => open_error(path, other),
    }
}
