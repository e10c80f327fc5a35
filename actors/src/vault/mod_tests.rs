//! The vault handle over its actor and file: keys through the handle, restarts, corrupt files; and over the replicated metadata.

use super::*;
use std::time::{Duration, Instant};

fn actor(vault: &VaultHandle) -> Arc<ActorRef<VaultMessage>> {
    match &vault.backend {
        Backend::File { slot, .. } => slot.get(),
        Backend::Replicated(_) => panic!("a replicated vault has no actor"),
    }
}

async fn supervised(file: &std::path::Path) -> (SupervisorHandle, VaultHandle) {
    let (supervisor, _join) = SupervisorHandle::start().await.expect("supervisor");
    let vault = VaultHandle::start(file.to_owned(), &supervisor)
        .await
        .expect("start");
    (supervisor, vault)
}

#[tokio::test]
async fn keys_go_through_the_handle_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("api_keys.json");
    let (supervisor, vault) = supervised(&file).await;
    let policy = KeyPolicy::default();
    let key = vault
        .create(Scope::Mgmt, None, policy)
        .await
        .expect("create");
    let user_key = ApiKey::new("user-chosen-key");
    let add = |key: &ApiKey| vault.add(key.clone(), Scope::Status, None, policy);
    add(&user_key).await.expect("add");
    let again = add(&user_key).await;
    assert_eq!(
        again,
        Err(VaultError::KeyExists {
            scope: Scope::Status
        })
    );
    let now = Utc::now();
    assert!(vault
        .snapshot()
        .authorize(key.expose().as_bytes(), Scope::Mgmt, now));
    assert!(vault
        .snapshot()
        .authorize(b"user-chosen-key", Scope::Status, now));

    vault
        .delete(key.clone(), Scope::Mgmt)
        .await
        .expect("delete");
    assert!(!vault
        .snapshot()
        .authorize(key.expose().as_bytes(), Scope::Mgmt, now));
    let absent = vault.delete(key, Scope::Mgmt).await;
    assert_eq!(absent, Err(VaultError::KeyNotFound { scope: Scope::Mgmt }));
    supervisor.shutdown();
    let deadline = Instant::now() + Duration::from_secs(5);
    let absent = ApiKey::new("never-added");
    while !matches!(
        vault.delete(absent.clone(), Scope::Mgmt).await,
        Err(VaultError::Unavailable(_))
    ) {
        assert!(Instant::now() < deadline, "the vault still answers");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let (supervisor, restarted) = supervised(&file).await;
    let snapshot = restarted.snapshot();
    assert_eq!(snapshot.len(), 1);
    assert!(snapshot.authorize(b"user-chosen-key", Scope::Status, Utc::now()));
    supervisor.shutdown();
}

#[tokio::test]
async fn a_killed_vault_comes_back_with_its_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (supervisor, vault) = supervised(&dir.path().join("api_keys.json")).await;
    let policy = KeyPolicy::default();
    let first = vault
        .create(Scope::Mgmt, None, policy)
        .await
        .expect("create");
    let killed = actor(&vault);
    killed.kill();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Arc::ptr_eq(&killed, &actor(&vault)) {
        assert!(Instant::now() < deadline, "the vault was not restarted");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let second = vault
        .create(Scope::Mgmt, None, policy)
        .await
        .expect("create");
    let snapshot = vault.snapshot();
    assert_eq!(snapshot.len(), 2);
    for key in [first, second] {
        assert!(snapshot.authorize(key.expose().as_bytes(), Scope::Mgmt, Utc::now()));
    }
    supervisor.shutdown();
}

#[tokio::test]
async fn a_corrupt_file_stops_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("api_keys.json");
    std::fs::write(&file, "{").expect("write");
    let (supervisor, _join) = SupervisorHandle::start().await.expect("supervisor");
    let started = VaultHandle::start(file, &supervisor).await;
    assert!(
        matches!(started, Err(VaultError::Corrupt(_))),
        "{started:?}"
    );
    supervisor.shutdown();
}

async fn replicated(dir: &std::path::Path) -> (MetaMember, VaultHandle) {
    let name = crate::NodeName::parse("solo@127.0.0.1").expect("name");
    let peers = crate::cluster::Peers::new(name.clone());
    let local = crate::raft::MetaNode::new(name.as_str(), "127.0.0.1:44053");
    let config = crate::raft::MetaConfig::default();
    let meta = MetaMember::start(peers, local, dir.join("meta.redb"), config)
        .await
        .expect("metadata starts");
    let vault = VaultHandle::replicated(meta.clone(), &dir.join("api_keys.json"))
        .await
        .expect("vault starts");
    (meta, vault)
}

#[tokio::test]
async fn a_replicated_vault_imports_the_old_file_once_and_keeps_its_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("api_keys.json");
    let old = ApiKey::new("key-of-the-previous-version");
    store::save(&file, &[snapshot::Entry::new(&old, Scope::Mgmt, None)]).expect("old file");
    let (meta, vault) = replicated(dir.path()).await;
    assert!(!file.exists(), "the old file is renamed once imported");
    let now = Utc::now();
    assert!(vault.authorize(old.expose().as_bytes(), Scope::Mgmt, now));
    let policy = KeyPolicy::default();
    let created = vault
        .create(Scope::Status, None, policy)
        .await
        .expect("create");
    assert!(vault.authorize(created.expose().as_bytes(), Scope::Status, now));
    let again = vault.add(old.clone(), Scope::Mgmt, None, policy).await;
    assert_eq!(again, Err(VaultError::KeyExists { scope: Scope::Mgmt }));
    vault
        .delete(old.clone(), Scope::Mgmt)
        .await
        .expect("delete");
    assert!(!vault.authorize(old.expose().as_bytes(), Scope::Mgmt, now));
    let absent = vault.delete(old.clone(), Scope::Mgmt).await;
    assert_eq!(absent, Err(VaultError::KeyNotFound { scope: Scope::Mgmt }));
    meta.shutdown().await;

    // The renamed file is not imported again: the deleted key stays deleted.
    let (meta, vault) = replicated(dir.path()).await;
    let rows = vault.snapshot().rows(None, now);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].masked, created.masked());
    assert!(!vault.authorize(old.expose().as_bytes(), Scope::Mgmt, now));
    meta.shutdown().await;
}
