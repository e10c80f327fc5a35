//! The vault on the replicated cluster metadata: changes are raft writes (linearizable, forwarded to the leader), reads use a snapshot of the state applied on this node.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};

use super::legacy_file;
use super::policy::{check_add, check_expiry, generate_key};
use super::snapshot::VaultSnapshot;
use super::{KeyPolicy, VaultError, GENERATED_KEY_LENGTH};
use crate::raft::{Command, MetaMember, MetaState, Response};
use crate::{ApiKey, Scope};

/// The keys as [`VaultSnapshot`] of one applied [`MetaState`].
struct Derived {
    source: Arc<MetaState>,
    snapshot: Arc<VaultSnapshot>,
}

/// The vault's view of the cluster metadata.
pub(super) struct Replicated {
    meta: MetaMember,
    derived: ArcSwap<Derived>,
}

impl Replicated {
    pub(super) fn new(meta: MetaMember) -> Self {
        let source = meta.state();
        let snapshot = Arc::new(VaultSnapshot::from_meta(&source));
        Self {
            meta,
            derived: ArcSwap::from_pointee(Derived { source, snapshot }),
        }
    }

    /// The keys as applied on this node. Derived again only when raft applied something since,
    /// and synchronously: once a delete has answered, no read here sees the key.
    pub(super) fn snapshot(&self) -> Arc<VaultSnapshot> {
        let source = self.meta.state();
        let derived = self.derived.load();
        if Arc::ptr_eq(&derived.source, &source) {
            return Arc::clone(&derived.snapshot);
        }
        let snapshot = Arc::new(VaultSnapshot::from_meta(&source));
        let fresh = Derived {
            source,
            snapshot: Arc::clone(&snapshot),
        };
        self.derived.store(Arc::new(fresh));
        snapshot
    }

    pub(super) async fn create(
        &self,
        scope: Scope,
        expires: Option<DateTime<Utc>>,
        policy: KeyPolicy,
    ) -> Result<ApiKey, VaultError> {
        check_expiry(expires, policy, Utc::now())?;
        let key = generate_key(policy.min_length.max(GENERATED_KEY_LENGTH))?;
        self.insert(&key, scope, expires).await?;
        Ok(key)
    }

    pub(super) async fn add(
        &self,
        key: &ApiKey,
        scope: Scope,
        expires: Option<DateTime<Utc>>,
        policy: KeyPolicy,
    ) -> Result<(), VaultError> {
        check_add(&self.snapshot(), key, scope, expires, policy, Utc::now())?;
        self.insert(key, scope, expires).await
    }

    pub(super) async fn delete(&self, key: &ApiKey, scope: Scope) -> Result<(), VaultError> {
        let command = Command::DeleteKey {
            digest: key.digest(),
            scope,
        };
        match self.meta.write(command).await? {
            Response::KeyNotFound { scope } => Err(VaultError::KeyNotFound { scope }),
            Response::Done | Response::KeyExists { .. } => Ok(()),
        }
    }

    async fn insert(
        &self,
        key: &ApiKey,
        scope: Scope,
        expires: Option<DateTime<Utc>>,
    ) -> Result<(), VaultError> {
        let command = Command::AddKey {
            digest: key.digest(),
            scope,
            expires,
            masked: key.masked(),
        };
        match self.meta.write(command).await? {
            Response::KeyExists { scope } => Err(VaultError::KeyExists { scope }),
            Response::Done | Response::KeyNotFound { .. } => Ok(()),
        }
    }

    /// Writes the keys of `file`, the api-key file of the previous version, into the metadata,
    /// then renames it to `<file>.imported` so that it is imported once (a key deleted later
    /// does not come back). A missing file imports nothing; an unreadable one is an error.
    pub(super) async fn import(&self, file: &Path) -> Result<usize, VaultError> {
        if !file.exists() {
            return Ok(0);
        }
        let entries = legacy_file::load(file)?;
        for entry in &entries {
            let command = Command::AddKey {
                digest: entry.digest,
                scope: entry.scope,
                expires: entry.expires,
                masked: entry.masked.clone(),
            };
            self.meta.write(command).await?;
        }
        let imported = imported_path(file);
        std::fs::rename(file, &imported).map_err(|e| {
            VaultError::Storage(format!(
                "imported the api-key file {} but could not rename it to {}: {e}; move it away",
                file.display(),
                imported.display()
            ))
        })?;
        tracing::info!(file = %imported.display(), keys = entries.len(), "api keys imported into the cluster metadata");
        Ok(entries.len())
    }
}

fn imported_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".imported");
    PathBuf::from(name)
}
