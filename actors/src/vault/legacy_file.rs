//! The api-key file of the previous version (`api_keys.json`: versioned JSON of digests, never keys), read once to import its keys into the cluster metadata.

use std::fmt::Display;
use std::fs;
use std::io;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::snapshot::Entry;
use super::VaultError;
use crate::KeyDigest;

/// The only format the previous version wrote.
const VERSION: u32 = 1;

#[derive(Deserialize)]
struct KeyFile {
    keys: Vec<StoredKey>,
}

#[derive(Deserialize)]
struct StoredKey {
    sha256: String,
    masked: String,
    scope: String,
    /// RFC 3339 in UTC, `null` for a key that never expires.
    expires: Option<String>,
}

/// Read first, so that a future format is reported as a version, not as a parse error.
#[derive(Deserialize)]
struct VersionOnly {
    version: u32,
}

impl StoredKey {
    fn into_entry(self) -> Result<Entry, String> {
        let digest = KeyDigest::from_hex(&self.sha256)
            .ok_or_else(|| "sha256 is not 64 hexadecimal digits".to_owned())?;
        let scope = self.scope.parse()?;
        let expires = match self.expires {
            None => None,
            Some(text) => Some(
                DateTime::parse_from_rfc3339(&text)
                    .map_err(|e| format!("expires '{text}' is not an RFC 3339 date ({e})"))?
                    .with_timezone(&Utc),
            ),
        };
        Ok(Entry {
            digest,
            masked: self.masked,
            scope,
            expires,
        })
    }
}

/// Reads the entries, oldest first. A missing file has none.
pub(super) fn load(file: &Path) -> Result<Vec<Entry>, VaultError> {
    let bytes = match fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(corrupt(file, &e)),
    };
    decode(&bytes).map_err(|problem| corrupt(file, &problem))
}

fn corrupt(file: &Path, problem: &dyn Display) -> VaultError {
    VaultError::Corrupt(format!(
        "could not read the api-key file {}: {problem}; repair it, or move it away to start with no api keys",
        file.display()
    ))
}

fn decode(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let VersionOnly { version } =
        serde_json::from_slice(bytes).map_err(|e| format!("not a versioned JSON object ({e})"))?;
    if version != VERSION {
        return Err(format!(
            "unsupported version {version} (this node reads version {VERSION})"
        ));
    }
    let file: KeyFile =
        serde_json::from_slice(bytes).map_err(|e| format!("unexpected content ({e})"))?;
    let mut entries: Vec<Entry> = Vec::with_capacity(file.keys.len());
    for (index, stored) in file.keys.into_iter().enumerate() {
        let entry = stored
            .into_entry()
            .map_err(|problem| format!("entry {}: {problem}", index + 1))?;
        if entries
            .iter()
            .any(|e| e.digest == entry.digest && e.scope == entry.scope)
        {
            return Err(format!(
                "entry {}: the same key appears twice in scope {}",
                index + 1,
                entry.scope
            ));
        }
        entries.push(entry);
    }
    Ok(entries)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::{ApiKey, Scope};
    use chrono::SecondsFormat;

    /// The text the previous version wrote for `keys`.
    pub(in crate::vault) fn file_text(keys: &[(&str, Scope, Option<DateTime<Utc>>)]) -> String {
        let keys: Vec<serde_json::Value> = keys
            .iter()
            .map(|(key, scope, expires)| {
                let key = ApiKey::new(*key);
                serde_json::json!({
                    "sha256": key.digest().to_hex(),
                    "masked": key.masked(),
                    "scope": scope.to_string(),
                    "expires": expires.map(|at| at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
                })
            })
            .collect();
        serde_json::json!({ "version": VERSION, "keys": keys }).to_string()
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("valid timestamp")
    }

    #[test]
    fn the_entries_of_a_version_1_file_are_read_oldest_first() {
        let keys = [
            ("first-key-abcdefgh", Scope::Mgmt, None),
            ("second-key-abcdefg", Scope::Status, Some(at(1_900_000_000))),
            (
                "first-key-abcdefgh",
                Scope::Metrics,
                Some(at(1_900_000_001)),
            ),
        ];
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("api_keys.json");
        fs::write(&file, file_text(&keys)).expect("write");
        let expected: Vec<Entry> = keys
            .iter()
            .map(|&(key, scope, expires)| Entry::new(&ApiKey::new(key), scope, expires))
            .collect();
        assert_eq!(load(&file), Ok(expected));
    }

    #[test]
    fn a_missing_file_has_no_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(load(&dir.path().join("api_keys.json")), Ok(Vec::new()));
    }

    fn corrupt_message(content: &str) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("api_keys.json");
        fs::write(&file, content).expect("write");
        match load(&file) {
            Err(VaultError::Corrupt(message)) => {
                assert!(message.contains(&file.display().to_string()), "{message}");
                assert!(message.contains("move it away"), "{message}");
                message
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    fn with_key(sha256: &str, scope: &str, expires: &str) -> String {
        format!(
            r#"{{"version":1,"keys":[{{"sha256":"{sha256}","masked":"abc…","scope":"{scope}","expires":{expires}}}]}}"#
        )
    }

    #[test]
    fn unreadable_files_are_corrupt_and_named() {
        let hex = ApiKey::new("k").digest().to_hex();
        assert!(corrupt_message("{not json").contains("not a versioned JSON object"));
        assert!(corrupt_message(r#"{"version":2,"entries":[]}"#).contains("unsupported version 2"));
        assert!(corrupt_message(r#"{"version":1}"#).contains("unexpected content"));
        assert!(corrupt_message(&with_key("xyz", "mgmt", "null")).contains("sha256"));
        assert!(corrupt_message(&with_key(&hex, "root", "null")).contains("unknown scope 'root'"));
        assert!(corrupt_message(&with_key(&hex, "mgmt", r#""tomorrow""#)).contains("expires"));
        let twice = format!(
            r#"{{"version":1,"keys":[{0},{0}]}}"#,
            format_args!(r#"{{"sha256":"{hex}","masked":"","scope":"mgmt","expires":null}}"#)
        );
        assert!(corrupt_message(&twice).contains("twice"));
    }
}
