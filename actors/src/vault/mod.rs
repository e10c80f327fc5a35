//! The api-key vault: the keys live in the replicated cluster metadata (`replicated.rs`).
//!
//! Writes (`create`, `add`, `delete`) check the key rules (`policy.rs`), then are raft writes;
//! reads (`snapshot`, `authorize`, used by HTTP authentication) derive a snapshot from the state
//! applied on this node and never wait for a write. At start, the api-key file of the previous
//! version (`legacy_file.rs`) is imported once.

mod error;
mod legacy_file;
mod policy;
mod replicated;
mod snapshot;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::raft::MetaMember;
use crate::{ApiKey, Scope};
pub use error::VaultError;
pub use policy::{KeyPolicy, GENERATED_KEY_LENGTH};
use replicated::Replicated;
pub use snapshot::{KeyRow, VaultSnapshot};

/// What callers hold: changes go to the cluster metadata, reads to the snapshot of what this
/// node applied.
#[derive(Clone)]
pub struct VaultHandle {
    replicated: Arc<Replicated>,
}

impl std::fmt::Debug for VaultHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VaultHandle({} keys)", self.snapshot().len())
    }
}

impl VaultHandle {
    /// The vault on the cluster metadata `meta`. The keys of `legacy_file` (the api-key file of
    /// the previous version) are imported first, once; an unreadable one is
    /// [`VaultError::Corrupt`] and is left untouched.
    pub async fn replicated(meta: MetaMember, legacy_file: &Path) -> Result<Self, VaultError> {
        let replicated = Replicated::new(meta);
        replicated.import(legacy_file).await?;
        let replicated = Arc::new(replicated);
        Ok(VaultHandle { replicated })
    }

    /// Generates a key for `scope` and returns it: the only time the whole key is seen.
    pub async fn create(
        &self,
        scope: Scope,
        expires: Option<DateTime<Utc>>,
        policy: KeyPolicy,
    ) -> Result<ApiKey, VaultError> {
        self.replicated.create(scope, expires, policy).await
    }

    /// Stores a key chosen by the user in `scope`.
    pub async fn add(
        &self,
        key: ApiKey,
        scope: Scope,
        expires: Option<DateTime<Utc>>,
        policy: KeyPolicy,
    ) -> Result<(), VaultError> {
        self.replicated.add(&key, scope, expires, policy).await
    }

    /// Removes `key` from `scope`.
    pub async fn delete(&self, key: ApiKey, scope: Scope) -> Result<(), VaultError> {
        self.replicated.delete(&key, scope).await
    }

    /// The keys as applied on this node: a lock-free read, no message.
    pub fn snapshot(&self) -> Arc<VaultSnapshot> {
        self.replicated.snapshot()
    }

    /// Whether `key` opens `scope` now. The hot path of every authenticated request: it reads
    /// the snapshot, never waiting for a write.
    pub fn authorize(&self, key: &[u8], scope: Scope, now: DateTime<Utc>) -> bool {
        self.replicated.snapshot().authorize(key, scope, now)
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
