//! The api-key file on disk: its versioned JSON format (digests, never keys) and its atomic replacement.

use std::fmt::Display;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::snapshot::Entry;
use super::VaultError;
use crate::KeyDigest;

/// The format this node writes and the only one it reads.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    keys: Vec<StoredKey>,
}

#[derive(Serialize, Deserialize)]
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
    fn from_entry(entry: &Entry) -> Self {
        Self {
            sha256: entry.digest.to_hex(),
            masked: entry.masked.clone(),
            scope: entry.scope.to_string(),
            expires: entry
                .expires
                .map(|at| at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }

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

/// Reads the entries, oldest first. A missing file is an empty vault.
pub(super) fn load(file: &Path) -> Result<Vec<Entry>, VaultError> {
    let bytes = match fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(corrupt(file, &e)),
    };
    decode(&bytes).map_err(|problem| corrupt(file, &problem))
}

/// Replaces the file with `entries`; on error the old file is left as it was.
pub(super) fn save(file: &Path, entries: &[Entry]) -> Result<(), VaultError> {
    let storage = |e: &dyn Display| {
        VaultError::Storage(format!(
            "could not save the api-key file {}: {e}; nothing was changed",
            file.display()
        ))
    };
    let bytes = encode(entries).map_err(|e| storage(&e))?;
    write_atomic(file, &bytes).map_err(|e| storage(&e))
}

fn corrupt(file: &Path, problem: &dyn Display) -> VaultError {
    VaultError::Corrupt(format!(
        "could not read the api-key file {}: {problem}; repair it, or move it away to start with no api keys",
        file.display()
    ))
}

fn encode(entries: &[Entry]) -> serde_json::Result<Vec<u8>> {
    let file = KeyFile {
        version: VERSION,
        keys: entries.iter().map(StoredKey::from_entry).collect(),
    };
    let mut bytes = serde_json::to_vec_pretty(&file)?;
    bytes.push(b'\n');
    Ok(bytes)
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

fn tmp_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Write `<file>.tmp` (mode 0600), fsync it, rename it over `file`, fsync the directory.
pub(crate) fn write_atomic(file: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = tmp_path(file);
    // A stale tmp file left by a crash would keep its old mode; anything that cannot be
    // unlinked (a directory, say) makes `create_new` fail below, which is the error we report.
    let _ = fs::remove_file(&tmp);
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    let written = out
        .write_all(bytes)
        .and_then(|()| out.sync_all())
        .and_then(|()| fs::rename(&tmp, file));
    drop(out);
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // After the rename the new file is what every reader sees; reporting a failure now would
    // leave memory disagreeing with the disk (a deleted key still accepted), so only warn:
    // at worst a power loss brings back the previous file.
    if let Err(e) = sync_dir(file) {
        tracing::warn!(file = %file.display(), error = %e, "could not fsync the directory of a data file");
    }
    Ok(())
}

fn sync_dir(file: &Path) -> io::Result<()> {
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApiKey, Scope};
    use std::os::unix::fs::PermissionsExt;

    fn entry(key: &str, scope: Scope, expires: Option<i64>) -> Entry {
        let key = ApiKey::new(key);
        Entry {
            digest: key.digest(),
            masked: key.masked(),
            scope,
            expires: expires.map(|s| DateTime::from_timestamp(s, 0).expect("valid timestamp")),
        }
    }

    fn sample() -> Vec<Entry> {
        vec![
            entry("first-key-abcdefgh", Scope::Mgmt, None),
            entry("second-key-abcdefg", Scope::Status, Some(1_900_000_000)),
            entry("first-key-abcdefgh", Scope::Metrics, Some(1_900_000_001)),
        ]
    }

    #[test]
    fn entries_round_trip_through_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("api_keys.json");
        save(&file, &sample()).expect("save");
        assert_eq!(load(&file).expect("load"), sample());
        assert!(!tmp_path(&file).exists());
    }

    #[test]
    fn a_missing_file_is_an_empty_vault() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(load(&dir.path().join("api_keys.json")), Ok(Vec::new()));
    }

    #[test]
    fn the_file_is_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("api_keys.json");
        fs::write(tmp_path(&file), b"stale").expect("stale tmp");
        fs::set_permissions(tmp_path(&file), fs::Permissions::from_mode(0o644)).expect("chmod");
        save(&file, &sample()).expect("save");
        let mode = fs::metadata(&file).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_byte_identical() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("api_keys.json");
        save(&file, &sample()[..1]).expect("save");
        let before = fs::read(&file).expect("read");
        fs::create_dir(tmp_path(&file)).expect("tmp as a directory");
        let err = save(&file, &sample()).expect_err("the tmp path is a directory");
        assert!(matches!(&err, VaultError::Storage(m)
            if m.starts_with("could not save the api-key file") && m.contains("api_keys.json")));
        assert_eq!(fs::read(&file).expect("read"), before);
        assert!(
            tmp_path(&file).is_dir(),
            "a tmp we did not create is left alone"
        );
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
