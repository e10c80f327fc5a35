//! The rules for new keys (`min_apikey_length`, `max_apikey_expiry_days`) and key generation.

use chrono::{DateTime, TimeDelta, Utc};

use super::snapshot::VaultSnapshot;
use super::VaultError;
use crate::{ApiKey, Scope};

/// Length of a generated key unless `min_apikey_length` asks for more.
pub const GENERATED_KEY_LENGTH: usize = 32;

const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The configured limits checked when a key is created or added (never on existing keys).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyPolicy {
    /// `min_apikey_length`.
    pub min_length: usize,
    /// `max_apikey_expiry_days`; when set, every new key needs an expiry at most this far ahead.
    pub max_expiry_days: Option<u32>,
}

/// Whether `key` may be added to `scope` of `current`. "Exists" is checked before the length,
/// as VerneMQ does.
pub(super) fn check_add(
    current: &VaultSnapshot,
    key: &ApiKey,
    scope: Scope,
    expires: Option<DateTime<Utc>>,
    policy: KeyPolicy,
    now: DateTime<Utc>,
) -> Result<(), VaultError> {
    if key.is_empty() {
        return Err(VaultError::EmptyKey);
    }
    if current.position(&key.digest(), scope).is_some() {
        return Err(VaultError::KeyExists { scope });
    }
    if key.len() < policy.min_length {
        return Err(VaultError::KeyTooShort {
            min_length: policy.min_length,
        });
    }
    check_expiry(expires, policy, now)
}

pub(super) fn check_expiry(
    expires: Option<DateTime<Utc>>,
    policy: KeyPolicy,
    now: DateTime<Utc>,
) -> Result<(), VaultError> {
    let Some(at) = expires else {
        return match policy.max_expiry_days {
            Some(max_days) => Err(VaultError::ExpiryRequired { max_days }),
            None => Ok(()),
        };
    };
    if at <= now {
        return Err(VaultError::ExpiryNotInFuture);
    }
    if let Some(max_days) = policy.max_expiry_days {
        // A limit beyond chrono's range is no limit.
        let latest =
            TimeDelta::try_days(i64::from(max_days)).and_then(|d| now.checked_add_signed(d));
        if latest.is_some_and(|latest| at > latest) {
            return Err(VaultError::ExpiryTooLate { max_days });
        }
    }
    Ok(())
}

/// `length` characters drawn uniformly from `[A-Za-z0-9]` with the OS's CSPRNG.
pub(super) fn generate_key(length: usize) -> Result<ApiKey, VaultError> {
    let mut key = String::with_capacity(length);
    let mut pool = [0u8; 64];
    while key.len() < length {
        getrandom::fill(&mut pool).map_err(|e| {
            VaultError::Storage(format!(
                "could not generate a key: the system random source failed ({e}); try again"
            ))
        })?;
        // 248 = 4 × 62: taking larger bytes modulo 62 would favour the first characters.
        for byte in pool.iter().filter(|&&b| b < 248).take(length - key.len()) {
            key.push(char::from(ALPHABET[usize::from(byte % 62)]));
        }
    }
    Ok(ApiKey::new(key))
}

#[cfg(test)]
mod tests {
    use super::super::snapshot::Entry;
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("valid timestamp")
    }

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = 86_400;
    const OPEN: KeyPolicy = KeyPolicy {
        min_length: 0,
        max_expiry_days: None,
    };

    #[test]
    fn generated_keys_use_the_whole_alphabet() {
        let key = generate_key(4000).expect("generate");
        let mut seen = [false; 62];
        for byte in key.expose().bytes() {
            let index = ALPHABET
                .iter()
                .position(|&a| a == byte)
                .expect("in alphabet");
            seen[index] = true;
        }
        assert!(seen.iter().all(|&s| s), "4000 draws miss a character");
    }

    #[test]
    fn expiry_must_be_future_and_within_the_policy() {
        let limited = KeyPolicy {
            min_length: 0,
            max_expiry_days: Some(30),
        };
        let check = |expires: Option<i64>, policy| check_expiry(expires.map(at), policy, at(NOW));
        assert_eq!(check(Some(NOW), OPEN), Err(VaultError::ExpiryNotInFuture));
        assert_eq!(
            check(Some(NOW - 1), limited),
            Err(VaultError::ExpiryNotInFuture)
        );
        assert_eq!(check(Some(NOW + 1), OPEN), Ok(()));
        assert_eq!(check(None, OPEN), Ok(()));
        assert_eq!(check(Some(NOW + 30 * DAY), limited), Ok(()));
        let late = check(Some(NOW + 30 * DAY + 1), limited);
        assert_eq!(late, Err(VaultError::ExpiryTooLate { max_days: 30 }));
        assert_eq!(
            check(None, limited),
            Err(VaultError::ExpiryRequired { max_days: 30 })
        );
        let huge = KeyPolicy {
            min_length: 0,
            max_expiry_days: Some(u32::MAX),
        };
        assert_eq!(check(Some(NOW + 1), huge), Ok(()));
    }

    #[test]
    fn add_checks_exists_before_length_and_rejects_the_empty_key() {
        let short = ApiKey::new("short");
        let current = VaultSnapshot::from_entries(vec![Entry::new(&short, Scope::Mgmt, None)]);
        let strict = KeyPolicy {
            min_length: 10,
            ..OPEN
        };
        let add =
            |key: &ApiKey, scope, policy| check_add(&current, key, scope, None, policy, at(NOW));
        let exists = add(&short, Scope::Mgmt, strict);
        assert_eq!(exists, Err(VaultError::KeyExists { scope: Scope::Mgmt }));
        let too_short = add(&short, Scope::Status, strict);
        assert_eq!(too_short, Err(VaultError::KeyTooShort { min_length: 10 }));
        assert_eq!(add(&short, Scope::Status, OPEN), Ok(()));
        let empty = add(&ApiKey::new(""), Scope::Mgmt, OPEN);
        assert_eq!(empty, Err(VaultError::EmptyKey));
    }

    #[test]
    fn add_applies_the_expiry_policy_too() {
        let current = VaultSnapshot::default();
        let limited = KeyPolicy {
            min_length: 0,
            max_expiry_days: Some(7),
        };
        let key = ApiKey::new("a-new-key");
        let add = |expires: Option<i64>, policy| {
            check_add(
                &current,
                &key,
                Scope::Mgmt,
                expires.map(at),
                policy,
                at(NOW),
            )
        };
        assert_eq!(
            add(None, limited),
            Err(VaultError::ExpiryRequired { max_days: 7 })
        );
        assert_eq!(add(Some(NOW - 1), OPEN), Err(VaultError::ExpiryNotInFuture));
        assert_eq!(add(Some(NOW + DAY), limited), Ok(()));
    }
}
