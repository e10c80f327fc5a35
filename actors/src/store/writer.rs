//! The writer thread: drains the queue, applies each batch in one transaction, wakes waiters.
//!
//! A dedicated thread, not a tokio task, because a commit fsyncs. A failed batch is aborted as a
//! whole (redb is copy-on-write: earlier commits stay intact), logged once, and reported to the
//! next flush.

use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use redb::Database;
use tokio::sync::oneshot;

use super::tables::{DbError, Tables};
use super::{SessionKey, Shared, StoreError};

/// Most ops applied in one transaction, so that a long queue still commits in steps.
const MAX_BATCH: usize = 10_000;

/// The answer to a flush or close.
pub(super) type Reply = oneshot::Sender<Result<(), StoreError>>;

/// One queued request, in call order.
pub(super) enum Op {
    PutSession {
        key: SessionKey,
        record: Vec<u8>,
    },
    DeleteSession {
        key: SessionKey,
    },
    PushMessage {
        key: SessionKey,
        seq: u64,
        record: Vec<u8>,
    },
    RemoveMessages {
        key: SessionKey,
        up_to_seq: u64,
    },
    ClearMessages {
        key: SessionKey,
    },
    PutRetained {
        mountpoint: String,
        topic: String,
        record: Vec<u8>,
    },
    DeleteRetained {
        mountpoint: String,
        topic: String,
    },
    Flush {
        reply: Reply,
    },
    Close {
        reply: Reply,
    },
}

/// What one drain of the queue collected.
#[derive(Default)]
struct Batch {
    writes: Vec<Op>,
    flushes: Vec<Reply>,
    /// Set when the batch ends with a close.
    close: Option<Reply>,
}

impl Batch {
    /// Takes `first` and whatever else is queued, up to a close or `MAX_BATCH` ops.
    fn collect(first: Op, queue: &Receiver<Op>) -> Batch {
        let mut batch = Batch::default();
        let mut next = Some(first);
        while let Some(op) = next.take() {
            match op {
                Op::Flush { reply } => batch.flushes.push(reply),
                Op::Close { reply } => {
                    batch.close = Some(reply);
                    break;
                }
                write => batch.writes.push(write),
            }
            if batch.writes.len() + batch.flushes.len() < MAX_BATCH {
                next = queue.try_recv().ok();
            }
        }
        batch
    }
}

/// Runs until a close, or until every `Store` is dropped (then the queue is drained first).
pub(super) fn run(db: Arc<Database>, queue: &Receiver<Op>, shared: &Shared) {
    let mut unreported: Option<StoreError> = None;
    let mut close = None;
    while let Ok(first) = queue.recv() {
        let batch = Batch::collect(first, queue);
        if let Err(error) = commit(&db, &batch.writes, shared) {
            unreported = Some(error);
        }
        if !batch.flushes.is_empty() || batch.close.is_some() {
            let result = unreported.take().map_or(Ok(()), Err);
            for reply in batch.flushes {
                let _ = reply.send(result.clone());
            }
            if let Some(reply) = batch.close {
                close = Some((reply, result));
                break;
            }
        }
    }
    drop(db);
    shared.stopped.store(true, Ordering::SeqCst);
    if let Some((reply, result)) = close {
        let _ = reply.send(result);
    }
    drain_after_close(queue, shared);
}

/// Answers what was queued behind a close: writes are ignored, flushes and closes succeed.
fn drain_after_close(queue: &Receiver<Op>, shared: &Shared) {
    let mut ignored = 0;
    while let Ok(op) = queue.try_recv() {
        match op {
            Op::Flush { reply } | Op::Close { reply } => {
                let _ = reply.send(Ok(()));
            }
            _ => ignored += 1,
        }
    }
    if ignored > 0 {
        shared.warn_ignored(ignored);
    }
}

/// Applies the writes in one transaction and commits it; logs a failure once.
fn commit(db: &Database, writes: &[Op], shared: &Shared) -> Result<(), StoreError> {
    if writes.is_empty() {
        return Ok(());
    }
    let result = apply(db, writes);
    shared.failing.store(result.is_err(), Ordering::SeqCst);
    match result {
        Ok(()) => {
            shared.commits.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        Err(e) => {
            let path = shared.path.display();
            let message = format!(
                "could not write the message store {path}: {e}; {} writes are lost, check the disk",
                writes.len()
            );
            tracing::error!("{message}");
            Err(StoreError::Write(message))
        }
    }
}

fn apply(db: &Database, writes: &[Op]) -> Result<(), DbError> {
    let txn = db.begin_write()?;
    {
        let mut tables = Tables::open(&txn)?;
        for op in writes {
            tables.apply(op)?;
        }
    }
    txn.commit()?;
    Ok(())
}
