//! Tests of the store against real files in a temporary directory.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::backends::FileBackend;
use redb::StorageBackend;

use super::{LoadedRetained, SessionKey, Store, StoreError};

fn key(mountpoint: &str, client_id: &str) -> SessionKey {
    SessionKey {
        mountpoint: mountpoint.to_owned(),
        client_id: client_id.to_owned(),
    }
}

fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("mqtt.redb")
}

/// Opens the file, polling while a dropped store's writer still holds it.
fn reopen(path: &Path) -> Store {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Store::open(path) {
            Ok(store) => return store,
            Err(e) if Instant::now() < deadline && e.to_string().contains("already open") => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("reopen failed: {e}"),
        }
    }
}

fn messages_of(store: &Store, wanted: &SessionKey) -> Vec<(u64, Vec<u8>)> {
    let loaded = store.load().expect("load");
    let session = loaded.sessions.into_iter().find(|s| &s.key == wanted);
    session.expect("session stored").messages
}

#[tokio::test]
async fn round_trip_across_close_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&db_path(&dir)).expect("open");
    let (a, b) = (key("", "a"), key("mp", "b"));
    store.put_session(&a, b"a1".to_vec());
    store.put_session(&a, b"a2".to_vec());
    store.put_session(&b, b"b1".to_vec());
    for seq in [5, 1, 3, 2, 4] {
        store.push_message(&a, seq, vec![seq as u8]);
        store.push_message(&b, seq, vec![seq as u8]);
    }
    store.remove_messages(&a, 2);
    store.clear_messages(&b);
    store.put_retained("", "t/1", b"old".to_vec());
    store.put_retained("", "t/1", b"new".to_vec());
    store.put_retained("", "t/2", b"gone".to_vec());
    store.put_retained("mp", "t/1", b"other".to_vec());
    store.delete_retained("", "t/2");
    store.close().await.expect("close");

    let store = Store::open(&db_path(&dir)).expect("reopen");
    let loaded = store.load().expect("load");
    assert_eq!(loaded.sessions.len(), 2);
    let (first, second) = (&loaded.sessions[0], &loaded.sessions[1]);
    assert_eq!((&first.key, first.record.as_slice()), (&a, &b"a2"[..]));
    assert_eq!(
        first.messages,
        vec![(3, vec![3]), (4, vec![4]), (5, vec![5])]
    );
    assert_eq!((&second.key, second.record.as_slice()), (&b, &b"b1"[..]));
    assert!(second.messages.is_empty());
    let retained = |mountpoint: &str, record: &[u8]| LoadedRetained {
        mountpoint: mountpoint.to_owned(),
        topic: "t/1".to_owned(),
        record: record.to_vec(),
    };
    assert_eq!(
        loaded.retained,
        vec![retained("", b"new"), retained("mp", b"other")]
    );
    assert!(!store.is_failing());
}

#[tokio::test]
async fn delete_session_removes_only_its_own_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&db_path(&dir)).expect("open");
    let target = key("", "a");
    let others = [
        key("", "ab"),
        key("", ""),
        key("a", ""),
        key("x", "a"),
        key("", "a\0"),
    ];
    for session in others.iter().chain([&target]) {
        store.put_session(session, b"s".to_vec());
        store.push_message(session, 0, b"m0".to_vec());
        store.push_message(session, u64::MAX, b"max".to_vec());
    }
    store.delete_session(&target);
    store.flush().await.expect("flush");
    drop(store);

    let store = reopen(&db_path(&dir));
    let loaded = store.load().expect("load");
    let mut keys: Vec<_> = loaded.sessions.iter().map(|s| s.key.clone()).collect();
    let mut expected = others.to_vec();
    keys.sort();
    expected.sort();
    assert_eq!(keys, expected);
    for session in &loaded.sessions {
        let seqs: Vec<u64> = session.messages.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(seqs, vec![0, u64::MAX], "{:?}", session.key);
    }
}

#[tokio::test]
async fn queued_writes_commit_in_few_batches_and_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&db_path(&dir)).expect("open");
    let session = key("", "c");
    store.put_session(&session, b"s".to_vec());
    store.flush().await.expect("flush");

    let single = Instant::now();
    store.push_message(&session, 0, vec![0; 100]);
    store.flush().await.expect("flush");
    let single = single.elapsed();

    let commits_before = store.commits();
    let queued = Instant::now();
    for seq in 1..=1000u64 {
        store.push_message(&session, seq, seq.to_be_bytes().to_vec());
    }
    store.push_message(&session, 1000, b"last write wins".to_vec());
    store.flush().await.expect("flush");
    let queued = queued.elapsed();
    let batches = store.commits() - commits_before;
    eprintln!(
        "flush of 1 push_message: {single:?}; of 1000 queued: {queued:?} in {batches} commits"
    );
    assert!(batches < 100, "{batches} commits for 1001 queued writes");
    drop(store);

    let messages = messages_of(&reopen(&db_path(&dir)), &session);
    assert_eq!(messages.len(), 1001);
    assert!(messages.windows(2).all(|w| w[0].0 + 1 == w[1].0));
    assert_eq!(messages[1].1, 1u64.to_be_bytes().to_vec());
    assert_eq!(messages[1000], (1000, b"last write wins".to_vec()));
}

#[tokio::test]
async fn a_dropped_store_keeps_what_was_flushed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&db_path(&dir)).expect("open");
    let clone = store.clone();
    let session = key("m", "d");
    store.put_session(&session, b"s".to_vec());
    clone.push_message(&session, 7, b"m".to_vec());
    clone.put_retained("m", "t", b"r".to_vec());
    store.flush().await.expect("flush");
    drop(store);
    drop(clone);

    let loaded = reopen(&db_path(&dir)).load().expect("load");
    assert_eq!(loaded.sessions.len(), 1);
    assert_eq!(loaded.sessions[0].messages, vec![(7, b"m".to_vec())]);
    assert_eq!(loaded.retained.len(), 1);
}

#[tokio::test]
async fn a_garbage_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(&dir);
    let garbage: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &garbage).expect("write garbage");
    let error = Store::open(&path).expect_err("open must fail");
    assert!(matches!(error, StoreError::Open(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("move it away"), "{message}");
    assert_eq!(std::fs::read(&path).expect("read back"), garbage);
}

#[tokio::test]
async fn writes_after_close_are_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&db_path(&dir)).expect("open");
    let session = key("", "e");
    store.put_session(&session, b"kept".to_vec());
    store.close().await.expect("close");
    store.put_session(&session, b"ignored".to_vec());
    store.push_message(&session, 1, b"ignored".to_vec());
    store.delete_session(&session);
    store.put_retained("", "t", b"ignored".to_vec());
    assert_eq!(store.flush().await, Ok(()));
    assert_eq!(store.close().await, Ok(()));
    assert_eq!(store.load(), Err(StoreError::Closed));

    // close released the file: it opens again at once
    let loaded = Store::open(&db_path(&dir))
        .expect("reopen")
        .load()
        .expect("load");
    assert_eq!(loaded.sessions.len(), 1);
    assert_eq!(loaded.sessions[0].record, b"kept");
    assert!(loaded.sessions[0].messages.is_empty());
    assert!(loaded.retained.is_empty());
}

/// A file backend whose writes and syncs fail while `failing` is set.
#[derive(Debug)]
struct FlakyBackend {
    file: FileBackend,
    failing: Arc<AtomicBool>,
}

impl FlakyBackend {
    fn check(&self) -> io::Result<()> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected failure"));
        }
        Ok(())
    }
}

impl StorageBackend for FlakyBackend {
    fn len(&self) -> io::Result<u64> {
        self.file.len()
    }
    fn read(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        self.file.read(offset, len)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.check()?;
        self.file.set_len(len)
    }
    fn sync_data(&self, eventual: bool) -> io::Result<()> {
        self.check()?;
        self.file.sync_data(eventual)
    }
    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.check()?;
        self.file.write(offset, data)
    }
}

#[tokio::test]
async fn a_failed_batch_is_reported_and_earlier_commits_survive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(&dir);
    let failing = Arc::new(AtomicBool::new(false));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .expect("file");
    let backend = FlakyBackend {
        file: FileBackend::new(file).expect("backend"),
        failing: Arc::clone(&failing),
    };
    let db = redb::Builder::new()
        .create_with_file_format_v3(true)
        .create_with_backend(backend)
        .expect("db");
    let store = Store::start(db, &path).expect("start");
    store.put_session(&key("", "kept"), b"s".to_vec());
    store.flush().await.expect("flush");

    failing.store(true, Ordering::SeqCst);
    store.put_session(&key("", "lost"), b"s".to_vec());
    let error = store.flush().await.expect_err("the batch must fail");
    assert!(matches!(error, StoreError::Write(_)), "{error:?}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    assert!(store.is_failing());
    failing.store(false, Ordering::SeqCst);
    let _ = store.close().await;

    let loaded = Store::open(&path).expect("reopen").load().expect("load");
    let keys: Vec<_> = loaded.sessions.iter().map(|s| s.key.clone()).collect();
    assert_eq!(keys, vec![key("", "kept")]);
}
