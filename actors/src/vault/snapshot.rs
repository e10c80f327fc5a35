//! The published view of the keys: constant-time authorization and the rows of `api-key show`.

use chrono::{DateTime, Utc};
use subtle::{Choice, ConstantTimeEq};

use crate::raft::MetaState;
use crate::{KeyDigest, Scope};

/// One row of `api-key show`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRow {
    /// The first characters of the key, then `…`.
    pub masked: String,
    /// The scope the key opens.
    pub scope: Scope,
    /// When the key stops working; `None` = never.
    pub expires: Option<DateTime<Utc>>,
    /// Whether `expires` has passed.
    pub expired: bool,
}

/// A stored key: its digest, never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) digest: KeyDigest,
    pub(super) masked: String,
    pub(super) scope: Scope,
    pub(super) expires: Option<DateTime<Utc>>,
}

impl Entry {
    /// The entry under which `key` is stored in `scope`.
    #[cfg(test)]
    pub(super) fn new(key: &crate::ApiKey, scope: Scope, expires: Option<DateTime<Utc>>) -> Self {
        Self {
            digest: key.digest(),
            masked: key.masked(),
            scope,
            expires,
        }
    }

    fn valid_at(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|at| now < at)
    }
}

/// The keys as of one moment, published by the vault for lock-free reads.
#[derive(Debug, Default)]
pub struct VaultSnapshot {
    /// Oldest first.
    entries: Vec<Entry>,
}

impl VaultSnapshot {
    pub(super) fn from_entries(entries: Vec<Entry>) -> Self {
        Self { entries }
    }

    /// The keys of the replicated metadata as applied on this node.
    pub(super) fn from_meta(state: &MetaState) -> Self {
        let entries = state.keys().iter().map(|key| Entry {
            digest: key.digest,
            masked: key.masked.clone(),
            scope: key.scope,
            expires: key.expires,
        });
        Self::from_entries(entries.collect())
    }

    /// True when `key` exists in `scope` and has not expired at `now`.
    /// Every entry is compared in constant time, so the answer's timing tells nothing.
    pub fn authorize(&self, key: &[u8], scope: Scope, now: DateTime<Utc>) -> bool {
        let presented = KeyDigest::of(key);
        let mut found = Choice::from(0);
        for entry in &self.entries {
            let usable = Choice::from(u8::from(entry.scope == scope && entry.valid_at(now)));
            found |= entry.digest.0[..].ct_eq(&presented.0[..]) & usable;
        }
        found.into()
    }

    /// Rows for `api-key show`, oldest first; `scope: None` = all scopes.
    pub fn rows(&self, scope: Option<Scope>, now: DateTime<Utc>) -> Vec<KeyRow> {
        self.entries
            .iter()
            .filter(|entry| scope.is_none_or(|s| s == entry.scope))
            .map(|entry| KeyRow {
                masked: entry.masked.clone(),
                scope: entry.scope,
                expires: entry.expires,
                expired: !entry.valid_at(now),
            })
            .collect()
    }

    /// Number of (key, scope) entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no keys at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(super) fn position(&self, digest: &KeyDigest, scope: Scope) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.digest == *digest && e.scope == scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiKey;

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = 86_400;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("valid timestamp")
    }

    fn snapshot(keys: &[(&str, Scope, Option<i64>)]) -> VaultSnapshot {
        let entries = keys
            .iter()
            .map(|&(key, scope, expires)| Entry::new(&ApiKey::new(key), scope, expires.map(at)))
            .collect();
        VaultSnapshot::from_entries(entries)
    }

    #[test]
    fn a_key_opens_its_scope_until_it_expires() {
        let snapshot = snapshot(&[
            ("forever-key", Scope::Mgmt, None),
            ("expiring-key", Scope::Status, Some(NOW + DAY)),
        ]);
        assert!(snapshot.authorize(b"forever-key", Scope::Mgmt, at(NOW + 1000 * DAY)));
        assert!(!snapshot.authorize(b"forever-key", Scope::Status, at(NOW)));
        assert!(snapshot.authorize(b"expiring-key", Scope::Status, at(NOW + DAY - 1)));
        assert!(!snapshot.authorize(b"expiring-key", Scope::Status, at(NOW + DAY)));
        assert!(!snapshot.authorize(b"expiring-key", Scope::Status, at(NOW + 2 * DAY)));
        assert!(!snapshot.authorize(b"unknown-key", Scope::Mgmt, at(NOW)));
        assert!(!snapshot.authorize(b"forever-ke", Scope::Mgmt, at(NOW)));
        assert!(!snapshot.authorize(b"", Scope::Mgmt, at(NOW)));
        assert!(!VaultSnapshot::default().authorize(b"forever-key", Scope::Mgmt, at(NOW)));
    }

    #[test]
    fn a_key_in_several_scopes_opens_each_of_them() {
        let snapshot = snapshot(&[
            ("shared-key", Scope::Metrics, Some(NOW - 1)),
            ("shared-key", Scope::Health, None),
        ]);
        assert!(!snapshot.authorize(b"shared-key", Scope::Metrics, at(NOW)));
        assert!(snapshot.authorize(b"shared-key", Scope::Health, at(NOW)));
        assert_eq!(snapshot.len(), 2);
        assert!(!snapshot.is_empty());
    }

    #[test]
    fn rows_are_oldest_first_masked_and_filtered_by_scope() {
        let snapshot = snapshot(&[
            ("abcdefghijklmnop", Scope::Mgmt, Some(NOW + DAY)),
            ("qrstuvwxyz123456", Scope::Status, None),
            ("0123456789abcdef", Scope::Mgmt, None),
        ]);
        let rows = snapshot.rows(None, at(NOW + 2 * DAY));
        let masked: Vec<&str> = rows.iter().map(|r| r.masked.as_str()).collect();
        assert_eq!(masked, ["abcdef…", "qrstuv…", "012345…"]);
        assert_eq!(rows[0].expires, Some(at(NOW + DAY)));
        assert!(rows[0].expired);
        assert!(!rows[1].expired);
        let mgmt = snapshot.rows(Some(Scope::Mgmt), at(NOW));
        assert_eq!(mgmt.len(), 2);
        assert!(mgmt.iter().all(|r| r.scope == Scope::Mgmt && !r.expired));
        assert!(snapshot.rows(Some(Scope::Api2), at(NOW)).is_empty());
    }
}
