//! The vault's data and rules: the current keys and their file, policy checks, key generation.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::policy::{check_add, check_expiry, generate_key};
use super::snapshot::{Entry, VaultSnapshot};
use super::store;
use super::{KeyPolicy, GENERATED_KEY_LENGTH};
use crate::raft::MetaError;
use crate::{ApiKey, CallError, Scope};

/// Why a vault request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The key is already in that scope.
    #[error("this key already exists in scope {scope}")]
    KeyExists {
        /// The scope asked for.
        scope: Scope,
    },
    /// The key is not in that scope.
    #[error("no such key in scope {scope}")]
    KeyNotFound {
        /// The scope asked for.
        scope: Scope,
    },
    /// The key is shorter than `min_apikey_length`.
    #[error("the key must have at least {min_length} characters (min_apikey_length)")]
    KeyTooShort {
        /// The configured minimum.
        min_length: usize,
    },
    /// The key is the empty string.
    #[error("the key must not be empty")]
    EmptyKey,
    /// The expiry is now or in the past.
    #[error("the expiry date must be in the future")]
    ExpiryNotInFuture,
    /// The expiry is further ahead than `max_apikey_expiry_days`.
    #[error("the expiry date must be at most {max_days} days ahead (max_apikey_expiry_days)")]
    ExpiryTooLate {
        /// The configured maximum.
        max_days: u32,
    },
    /// No expiry was given although `max_apikey_expiry_days` is set.
    #[error("an expiry date is required because max_apikey_expiry_days = {max_days}")]
    ExpiryRequired {
        /// The configured maximum.
        max_days: u32,
    },
    /// The cluster metadata did not take the change (no quorum, not ready, stopped).
    #[error(transparent)]
    Cluster(#[from] MetaError),
    /// The change could not be saved (or no key could be generated); nothing was changed.
    #[error("{0}")]
    Storage(String),
    /// At start: the api-key file exists but cannot be read.
    #[error("{0}")]
    Corrupt(String),
    /// The vault actor did not answer.
    #[error(transparent)]
    Unavailable(#[from] CallError),
}

/// The vault actor's state: the current keys and the file that holds them.
#[derive(Debug)]
pub(super) struct VaultState {
    file: PathBuf,
    current: Arc<VaultSnapshot>,
}

impl VaultState {
    /// Reads `file`; a missing file is an empty vault.
    pub(super) fn load(file: PathBuf) -> Result<Self, VaultError> {
        let entries = store::load(&file)?;
        let current = Arc::new(VaultSnapshot::from_entries(entries));
        Ok(Self { file, current })
    }

    /// Picks up `current`, the keys as last saved to `file` (after an actor restart).
    pub(super) fn resume(file: PathBuf, current: Arc<VaultSnapshot>) -> Self {
        Self { file, current }
    }

    /// The keys as they are now (what the actor publishes).
    pub(super) fn snapshot(&self) -> Arc<VaultSnapshot> {
        Arc::clone(&self.current)
    }

    /// Generates a key of max(32, `min_length`) characters and stores it in `scope`.
    pub(super) fn create(
        &mut self,
        scope: Scope,
        expires: Option<DateTime<Utc>>,
        policy: KeyPolicy,
        now: DateTime<Utc>,
    ) -> Result<ApiKey, VaultError> {
        check_expiry(expires, policy, now)?;
        let key = generate_key(policy.min_length.max(GENERATED_KEY_LENGTH))?;
        self.insert(&key, scope, expires)?;
        Ok(key)
    }

    /// Stores a key given by the user.
    pub(super) fn add(
        &mut self,
        key: &ApiKey,
        scope: Scope,
        expires: Option<DateTime<Utc>>,
        policy: KeyPolicy,
        now: DateTime<Utc>,
    ) -> Result<(), VaultError> {
        check_add(&self.current, key, scope, expires, policy, now)?;
        self.insert(key, scope, expires)
    }

    /// Removes `key` from `scope` (its entries in other scopes stay).
    pub(super) fn delete(&mut self, key: &ApiKey, scope: Scope) -> Result<(), VaultError> {
        let index = self
            .current
            .position(&key.digest(), scope)
            .ok_or(VaultError::KeyNotFound { scope })?;
        let mut entries = self.current.entries().to_vec();
        entries.remove(index);
        self.save(entries)
    }

    fn insert(
        &mut self,
        key: &ApiKey,
        scope: Scope,
        expires: Option<DateTime<Utc>>,
    ) -> Result<(), VaultError> {
        if self.current.position(&key.digest(), scope).is_some() {
            return Err(VaultError::KeyExists { scope });
        }
        let mut entries = self.current.entries().to_vec();
        entries.push(Entry::new(key, scope, expires));
        self.save(entries)
    }

    /// Disk first: memory changes only once the file holds the new list.
    fn save(&mut self, entries: Vec<Entry>) -> Result<(), VaultError> {
        store::save(&self.file, &entries)?;
        self.current = Arc::new(VaultSnapshot::from_entries(entries));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("valid timestamp")
    }

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = 86_400;
    const OPEN: KeyPolicy = KeyPolicy {
        min_length: 0,
        max_expiry_days: None,
    };

    fn vault() -> (tempfile::TempDir, VaultState) {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = VaultState::load(dir.path().join("api_keys.json")).expect("load");
        (dir, state)
    }

    fn add(state: &mut VaultState, key: &str, scope: Scope, expires: Option<i64>) {
        let expires = expires.map(at);
        state
            .add(&ApiKey::new(key), scope, expires, OPEN, at(NOW))
            .expect("add");
    }

    #[test]
    fn generated_keys_are_alphanumeric_32_characters_or_min_length() {
        let (_dir, mut state) = vault();
        let key = state
            .create(Scope::Mgmt, None, OPEN, at(NOW))
            .expect("create");
        assert_eq!(key.len(), 32);
        assert!(key.expose().bytes().all(|b| b.is_ascii_alphanumeric()));
        let policy = KeyPolicy {
            min_length: 50,
            ..OPEN
        };
        let long = state
            .create(Scope::Mgmt, None, policy, at(NOW))
            .expect("create");
        assert_eq!(long.len(), 50);
        assert_ne!(key, long);
        assert!(state
            .snapshot()
            .authorize(long.expose().as_bytes(), Scope::Mgmt, at(NOW)));
    }

    #[test]
    fn one_key_may_be_in_several_scopes_but_once_per_scope() {
        let (_dir, mut state) = vault();
        add(&mut state, "shared-key", Scope::Mgmt, None);
        add(&mut state, "shared-key", Scope::Metrics, None);
        let again = state.add(&ApiKey::new("shared-key"), Scope::Mgmt, None, OPEN, at(NOW));
        assert_eq!(again, Err(VaultError::KeyExists { scope: Scope::Mgmt }));
        assert_eq!(state.snapshot().len(), 2);
    }

    #[test]
    fn add_checks_exists_before_length_and_rejects_the_empty_key() {
        let (_dir, mut state) = vault();
        add(&mut state, "short", Scope::Mgmt, None);
        let strict = KeyPolicy {
            min_length: 10,
            ..OPEN
        };
        let short = ApiKey::new("short");
        let exists = state.add(&short, Scope::Mgmt, None, strict, at(NOW));
        assert_eq!(exists, Err(VaultError::KeyExists { scope: Scope::Mgmt }));
        let too_short = state.add(&short, Scope::Status, None, strict, at(NOW));
        assert_eq!(too_short, Err(VaultError::KeyTooShort { min_length: 10 }));
        let empty = state.add(&ApiKey::new(""), Scope::Mgmt, None, OPEN, at(NOW));
        assert_eq!(empty, Err(VaultError::EmptyKey));
    }

    #[test]
    fn create_applies_the_expiry_policy_too() {
        let (_dir, mut state) = vault();
        let limited = KeyPolicy {
            min_length: 0,
            max_expiry_days: Some(7),
        };
        let missing = state.create(Scope::Mgmt, None, limited, at(NOW));
        assert_eq!(
            missing.map(|_| ()),
            Err(VaultError::ExpiryRequired { max_days: 7 })
        );
        let past = state.create(Scope::Mgmt, Some(at(NOW - 1)), OPEN, at(NOW));
        assert_eq!(past.map(|_| ()), Err(VaultError::ExpiryNotInFuture));
        assert!(state.snapshot().is_empty());
    }

    #[test]
    fn delete_removes_one_scope_and_reports_absent_keys() {
        let (_dir, mut state) = vault();
        add(&mut state, "shared-key", Scope::Mgmt, None);
        add(&mut state, "shared-key", Scope::Health, None);
        let key = ApiKey::new("shared-key");
        state.delete(&key, Scope::Mgmt).expect("delete");
        let snapshot = state.snapshot();
        assert!(!snapshot.authorize(b"shared-key", Scope::Mgmt, at(NOW)));
        assert!(snapshot.authorize(b"shared-key", Scope::Health, at(NOW)));
        let again = state.delete(&key, Scope::Mgmt);
        assert_eq!(again, Err(VaultError::KeyNotFound { scope: Scope::Mgmt }));
    }

    #[test]
    fn keys_survive_a_reload_and_never_reach_the_file() {
        let (dir, mut state) = vault();
        add(&mut state, "plain-secret-one", Scope::Mgmt, Some(NOW + DAY));
        let created = state
            .create(Scope::Api2, None, OPEN, at(NOW))
            .expect("create");
        let file = dir.path().join("api_keys.json");
        let text = fs::read_to_string(&file).expect("read");
        assert!(!text.contains("plain-secret-one"));
        assert!(!text.contains(created.expose()));
        let reloaded = VaultState::load(file).expect("reload").snapshot();
        assert!(reloaded.authorize(b"plain-secret-one", Scope::Mgmt, at(NOW)));
        assert!(!reloaded.authorize(b"plain-secret-one", Scope::Mgmt, at(NOW + DAY)));
        assert!(reloaded.authorize(created.expose().as_bytes(), Scope::Api2, at(NOW)));
        assert_eq!(
            reloaded.rows(None, at(NOW)),
            state.snapshot().rows(None, at(NOW))
        );
    }

    #[test]
    fn a_failed_write_changes_nothing() {
        let (dir, mut state) = vault();
        add(&mut state, "kept-key", Scope::Mgmt, None);
        let file = dir.path().join("api_keys.json");
        let before = fs::read(&file).expect("read");
        fs::create_dir(dir.path().join("api_keys.json.tmp")).expect("tmp as a directory");
        let old = state.snapshot();
        let added = state.add(&ApiKey::new("new-key"), Scope::Mgmt, None, OPEN, at(NOW));
        assert!(matches!(added, Err(VaultError::Storage(_))), "{added:?}");
        let deleted = state.delete(&ApiKey::new("kept-key"), Scope::Mgmt);
        assert!(
            matches!(deleted, Err(VaultError::Storage(_))),
            "{deleted:?}"
        );
        assert!(Arc::ptr_eq(&old, &state.snapshot()));
        assert!(state
            .snapshot()
            .authorize(b"kept-key", Scope::Mgmt, at(NOW)));
        assert!(!state.snapshot().authorize(b"new-key", Scope::Mgmt, at(NOW)));
        assert_eq!(fs::read(&file).expect("read"), before);
    }

    #[test]
    fn messages_say_what_is_wrong() {
        let exists = VaultError::KeyExists {
            scope: Scope::Status,
        };
        assert_eq!(
            exists.to_string(),
            "this key already exists in scope status"
        );
        let short = VaultError::KeyTooShort { min_length: 16 };
        assert_eq!(
            short.to_string(),
            "the key must have at least 16 characters (min_apikey_length)"
        );
        let required = VaultError::ExpiryRequired { max_days: 3 };
        assert_eq!(
            required.to_string(),
            "an expiry date is required because max_apikey_expiry_days = 3"
        );
    }
}
