//! The replicated metadata as plain data: API keys, runtime config and members, and how a command changes them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{MetaNode, NodeId};
use crate::{KeyDigest, Scope};

/// A change to the metadata, replicated through the raft log. Keys travel as digests only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Stores a key digest in a scope, with an optional expiry.
    AddKey {
        /// SHA-256 of the key.
        digest: KeyDigest,
        /// The scope it opens.
        scope: Scope,
        /// When it stops working.
        expires: Option<DateTime<Utc>>,
        /// What `api-key show` prints of it (a short prefix, never the key).
        masked: String,
    },
    /// Removes a key digest from a scope (other scopes keep theirs).
    DeleteKey {
        /// SHA-256 of the key.
        digest: KeyDigest,
        /// The scope to remove it from.
        scope: Scope,
    },
    /// Sets a cluster-wide runtime config value.
    SetConfig {
        /// The config key, e.g. `max_inflight_messages`.
        key: String,
        /// Its new value, as text.
        value: String,
    },
}

/// What applying a log entry answered. Domain outcomes are values (as in the vault), not errors.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Response {
    /// The change was made (also the answer to blank and membership entries).
    #[default]
    Done,
    /// `AddKey` of a digest that is already in that scope: nothing changed.
    KeyExists {
        /// The scope asked for.
        scope: Scope,
    },
    /// `DeleteKey` of a digest that is not in that scope: nothing changed.
    KeyNotFound {
        /// The scope asked for.
        scope: Scope,
    },
}

/// One stored key: its digest, scope, expiry and masked form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaKey {
    /// SHA-256 of the key.
    pub digest: KeyDigest,
    /// The scope it opens.
    pub scope: Scope,
    /// When it stops working.
    pub expires: Option<DateTime<Utc>>,
    /// What `api-key show` prints of it.
    pub masked: String,
}

/// The metadata as applied on this node: what local reads see.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaState {
    /// Oldest first, as `api-key show` lists them; at most one per (digest, scope).
    keys: Vec<MetaKey>,
    config: BTreeMap<String, String>,
    members: BTreeMap<NodeId, MetaNode>,
}

impl MetaState {
    /// Applies one command; the same command on the same state answers the same on every node.
    pub fn apply(&mut self, command: &Command) -> Response {
        match command {
            Command::AddKey {
                digest,
                scope,
                expires,
                masked,
            } => {
                if self.position(digest, *scope).is_some() {
                    return Response::KeyExists { scope: *scope };
                }
                self.keys.push(MetaKey {
                    digest: *digest,
                    scope: *scope,
                    expires: *expires,
                    masked: masked.clone(),
                });
                Response::Done
            }
            Command::DeleteKey { digest, scope } => match self.position(digest, *scope) {
                Some(index) => {
                    self.keys.remove(index);
                    Response::Done
                }
                None => Response::KeyNotFound { scope: *scope },
            },
            Command::SetConfig { key, value } => {
                self.config.insert(key.clone(), value.clone());
                Response::Done
            }
        }
    }

    /// Replaces the member list (from a membership entry or a snapshot).
    pub fn set_members(&mut self, members: BTreeMap<NodeId, MetaNode>) {
        self.members = members;
    }

    fn position(&self, digest: &KeyDigest, scope: Scope) -> Option<usize> {
        self.keys
            .iter()
            .position(|key| key.digest == *digest && key.scope == scope)
    }

    /// Whether `digest` opens `scope` at `now` (present and not expired).
    pub fn authenticates(&self, digest: &KeyDigest, scope: Scope, now: DateTime<Utc>) -> bool {
        self.key(digest, scope)
            .is_some_and(|key| key.expires.is_none_or(|at| at > now))
    }

    /// The stored key for (`digest`, `scope`), expired or not.
    pub fn key(&self, digest: &KeyDigest, scope: Scope) -> Option<&MetaKey> {
        self.position(digest, scope).map(|index| &self.keys[index])
    }

    /// Every stored key, oldest first.
    pub fn keys(&self) -> &[MetaKey] {
        &self.keys
    }

    /// A cluster-wide config value.
    pub fn config(&self, key: &str) -> Option<&str> {
        self.config.get(key).map(String::as_str)
    }

    /// Every cluster-wide config value, by key.
    pub fn config_entries(&self) -> &BTreeMap<String, String> {
        &self.config
    }

    /// The members (voters and learners) as of the last applied membership.
    pub fn members(&self) -> &BTreeMap<NodeId, MetaNode> {
        &self.members
    }

    /// The state as CBOR (a snapshot's data).
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        ciborium::into_writer(self, &mut out).map_err(|e| format!("cannot encode state: {e}"))?;
        Ok(out)
    }

    /// Reads a snapshot's data; anything malformed is an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        ciborium::from_reader(bytes).map_err(|e| format!("malformed metadata snapshot: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn digest(n: u8) -> KeyDigest {
        KeyDigest([n; 32])
    }

    fn add(n: u8, scope: Scope, expires: Option<DateTime<Utc>>) -> Command {
        Command::AddKey {
            digest: digest(n),
            scope,
            expires,
            masked: format!("{n}…"),
        }
    }

    #[test]
    fn add_then_add_again_is_key_exists() {
        let mut state = MetaState::default();
        assert_eq!(state.apply(&add(1, Scope::Mgmt, None)), Response::Done);
        assert_eq!(
            state.apply(&add(1, Scope::Mgmt, None)),
            Response::KeyExists { scope: Scope::Mgmt }
        );
        assert_eq!(state.apply(&add(1, Scope::Status, None)), Response::Done);
        assert_eq!(state.keys().len(), 2);
    }

    #[test]
    fn delete_removes_one_scope_and_missing_is_not_found() {
        let mut state = MetaState::default();
        state.apply(&add(1, Scope::Mgmt, None));
        state.apply(&add(1, Scope::Status, None));
        let delete = Command::DeleteKey {
            digest: digest(1),
            scope: Scope::Mgmt,
        };
        assert_eq!(state.apply(&delete), Response::Done);
        assert_eq!(
            state.apply(&delete),
            Response::KeyNotFound { scope: Scope::Mgmt }
        );
        assert!(state.key(&digest(1), Scope::Mgmt).is_none());
        assert!(state.key(&digest(1), Scope::Status).is_some());
    }

    #[test]
    fn expiry_is_checked_against_now() {
        let now = Utc::now();
        let mut state = MetaState::default();
        state.apply(&add(1, Scope::Mgmt, Some(now + TimeDelta::seconds(10))));
        state.apply(&add(2, Scope::Mgmt, None));
        assert!(state.authenticates(&digest(1), Scope::Mgmt, now));
        assert!(!state.authenticates(&digest(1), Scope::Mgmt, now + TimeDelta::seconds(10)));
        assert!(state.authenticates(&digest(2), Scope::Mgmt, now + TimeDelta::days(999)));
        assert!(!state.authenticates(&digest(3), Scope::Mgmt, now));
        assert!(!state.authenticates(&digest(2), Scope::Status, now));
    }

    #[test]
    fn set_config_overwrites() {
        let mut state = MetaState::default();
        let set = |value: &str| Command::SetConfig {
            key: "max_inflight_messages".into(),
            value: value.into(),
        };
        assert_eq!(state.apply(&set("10")), Response::Done);
        assert_eq!(state.apply(&set("20")), Response::Done);
        assert_eq!(state.config("max_inflight_messages"), Some("20"));
        assert_eq!(state.config("other"), None);
    }

    #[test]
    fn encode_decode_round_trips_and_garbage_is_an_error() {
        let mut state = MetaState::default();
        state.apply(&add(7, Scope::Api2, Some(Utc::now())));
        state.apply(&Command::SetConfig {
            key: "a".into(),
            value: "b".into(),
        });
        state.set_members(BTreeMap::from([(1, MetaNode::new("A@h", "h:1"))]));
        let bytes = state.encode().expect("encodable");
        assert_eq!(MetaState::decode(&bytes), Ok(state));
        assert!(MetaState::decode(b"\xff\x00garbage").is_err());
        assert!(MetaState::decode(&bytes[..bytes.len() / 2]).is_err());
    }
}
