//! Why a vault request failed: the errors of the key rules, of the cluster metadata and of the import.

use crate::raft::MetaError;
use crate::Scope;

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
    /// No key could be generated, or the imported api-key file could not be renamed.
    #[error("{0}")]
    Storage(String),
    /// At start: the api-key file of the previous version exists but cannot be read.
    #[error("{0}")]
    Corrupt(String),
}

#[cfg(test)]
mod tests {
    use super::*;

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
