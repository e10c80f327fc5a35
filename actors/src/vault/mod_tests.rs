//! The vault handle over the replicated metadata: the import of the previous version's file, created and added keys, scopes, expiry, restarts.

use super::*;
use chrono::TimeDelta;

const OPEN: KeyPolicy = KeyPolicy {
    min_length: 0,
    max_expiry_days: None,
};

/// A one-node cluster metadata stored in `dir`.
async fn metadata(dir: &Path) -> MetaMember {
    let name = crate::NodeName::parse("solo@127.0.0.1").expect("name");
    let peers = crate::cluster::Peers::new(name.clone());
    let local = crate::raft::MetaNode::new(name.as_str(), "127.0.0.1:44053");
    let config = crate::raft::MetaConfig::default();
    MetaMember::start(peers, local, dir.join("meta.redb"), config)
        .await
        .expect("metadata starts")
}

async fn replicated(dir: &Path) -> (MetaMember, VaultHandle) {
    let meta = metadata(dir).await;
    let vault = VaultHandle::replicated(meta.clone(), &dir.join("api_keys.json"))
        .await
        .expect("vault starts");
    (meta, vault)
}

async fn add(vault: &VaultHandle, key: &str, scope: Scope, expires: Option<DateTime<Utc>>) {
    vault
        .add(ApiKey::new(key), scope, expires, OPEN)
        .await
        .expect("add");
}

#[tokio::test]
async fn a_replicated_vault_imports_the_old_file_once_and_keeps_its_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("api_keys.json");
    let old = ApiKey::new("key-of-the-previous-version");
    let text = legacy_file::tests::file_text(&[(old.expose(), Scope::Mgmt, None)]);
    std::fs::write(&file, text).expect("old file");
    let (meta, vault) = replicated(dir.path()).await;
    assert!(!file.exists(), "the old file is renamed once imported");
    let now = Utc::now();
    assert!(vault.authorize(old.expose().as_bytes(), Scope::Mgmt, now));
    let created = vault
        .create(Scope::Status, None, OPEN)
        .await
        .expect("create");
    assert!(vault.authorize(created.expose().as_bytes(), Scope::Status, now));
    let again = vault.add(old.clone(), Scope::Mgmt, None, OPEN).await;
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

#[tokio::test]
async fn a_corrupt_old_file_stops_the_start_and_is_left_as_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("api_keys.json");
    std::fs::write(&file, "{").expect("write");
    let meta = metadata(dir.path()).await;
    let started = VaultHandle::replicated(meta.clone(), &file).await;
    assert!(
        matches!(started, Err(VaultError::Corrupt(_))),
        "{started:?}"
    );
    assert_eq!(std::fs::read(&file).expect("read"), b"{");
    meta.shutdown().await;
}

#[tokio::test]
async fn created_keys_are_32_alphanumeric_characters_or_min_length() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (meta, vault) = replicated(dir.path()).await;
    let key = vault.create(Scope::Mgmt, None, OPEN).await.expect("create");
    assert_eq!(key.len(), GENERATED_KEY_LENGTH);
    assert!(key.expose().bytes().all(|b| b.is_ascii_alphanumeric()));
    let policy = KeyPolicy {
        min_length: 50,
        ..OPEN
    };
    let long = vault
        .create(Scope::Mgmt, None, policy)
        .await
        .expect("create");
    assert_eq!(long.len(), 50);
    assert_ne!(key, long);
    assert!(vault.authorize(long.expose().as_bytes(), Scope::Mgmt, Utc::now()));
    meta.shutdown().await;
}

#[tokio::test]
async fn one_key_may_be_in_several_scopes_once_each_and_is_deleted_per_scope() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (meta, vault) = replicated(dir.path()).await;
    add(&vault, "shared-key", Scope::Mgmt, None).await;
    add(&vault, "shared-key", Scope::Health, None).await;
    let key = ApiKey::new("shared-key");
    let again = vault.add(key.clone(), Scope::Mgmt, None, OPEN).await;
    assert_eq!(again, Err(VaultError::KeyExists { scope: Scope::Mgmt }));
    assert_eq!(vault.snapshot().len(), 2);
    vault
        .delete(key.clone(), Scope::Mgmt)
        .await
        .expect("delete");
    let now = Utc::now();
    assert!(!vault.authorize(b"shared-key", Scope::Mgmt, now));
    assert!(vault.authorize(b"shared-key", Scope::Health, now));
    let absent = vault.delete(key, Scope::Mgmt).await;
    assert_eq!(absent, Err(VaultError::KeyNotFound { scope: Scope::Mgmt }));
    meta.shutdown().await;
}

#[tokio::test]
async fn create_applies_the_expiry_policy_and_stores_nothing_it_refuses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (meta, vault) = replicated(dir.path()).await;
    let limited = KeyPolicy {
        min_length: 0,
        max_expiry_days: Some(7),
    };
    let missing = vault.create(Scope::Mgmt, None, limited).await;
    assert_eq!(
        missing.map(|_| ()),
        Err(VaultError::ExpiryRequired { max_days: 7 })
    );
    let past = Utc::now() - TimeDelta::seconds(1);
    let refused = vault.create(Scope::Mgmt, Some(past), OPEN).await;
    assert_eq!(refused.map(|_| ()), Err(VaultError::ExpiryNotInFuture));
    let short = KeyPolicy {
        min_length: 10,
        ..OPEN
    };
    let too_short = vault
        .add(ApiKey::new("short"), Scope::Mgmt, None, short)
        .await;
    assert_eq!(too_short, Err(VaultError::KeyTooShort { min_length: 10 }));
    assert!(vault.snapshot().is_empty());
    meta.shutdown().await;
}

#[tokio::test]
async fn keys_survive_a_restart_and_never_reach_the_metadata_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (meta, vault) = replicated(dir.path()).await;
    let expires = Utc::now() + TimeDelta::days(1);
    add(&vault, "plain-secret-one", Scope::Mgmt, Some(expires)).await;
    let created = vault.create(Scope::Api2, None, OPEN).await.expect("create");
    let before = vault.snapshot().rows(None, Utc::now());
    meta.shutdown().await;

    let stored = std::fs::read(dir.path().join("meta.redb")).expect("read");
    let holds = |text: &str| stored.windows(text.len()).any(|w| w == text.as_bytes());
    assert!(
        holds(&ApiKey::new("plain-secret-one").masked()),
        "the masked key is stored"
    );
    for key in ["plain-secret-one", created.expose()] {
        assert!(!holds(key), "the key {key} is in meta.redb");
    }
    let (meta, vault) = replicated(dir.path()).await;
    let now = Utc::now();
    assert!(vault.authorize(b"plain-secret-one", Scope::Mgmt, now));
    assert!(!vault.authorize(b"plain-secret-one", Scope::Mgmt, expires));
    assert!(vault.authorize(created.expose().as_bytes(), Scope::Api2, now));
    assert_eq!(vault.snapshot().rows(None, now), before);
    meta.shutdown().await;
}
