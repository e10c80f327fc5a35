//! Plain tests of `PluginsState`: enabling, disabling, pointing at files and re-reading them.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::*;
use crate::plugins::rules::{AuthVerdict, PluginConfig};

const PASSWD: &str = include_str!("testdata/passwd");

fn state_with(config: PluginConfig) -> PluginsState {
    let mut state = PluginsState::resume(Arc::new(AuthRules::new(config)));
    for file in AuthFile::ALL {
        state.reload(file, true);
    }
    state
}

/// Writes `text` to `path` and stamps it with `seconds` after the epoch, so that a change is
/// seen even on file systems with coarse timestamps.
fn write(path: &Path, text: &str, seconds: u64) {
    std::fs::write(path, text).expect("write");
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(seconds);
    File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(at))
        .expect("set mtime");
}

fn alice_ok(state: &PluginsState) -> bool {
    state
        .rules()
        .authenticate(false, "c", Some("alice"), Some(b"alice-secret"))
        == AuthVerdict::Accepted
}

fn files(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("vmq.passwd"), dir.join("vmq.acl"))
}

#[test]
fn enable_and_disable_known_plugins_only() {
    let mut state = state_with(PluginConfig::default());
    assert_eq!(
        state.enable("vmq_acl"),
        Err(PluginError::AlreadyEnabled("vmq_acl".into()))
    );
    assert_eq!(state.disable("vmq_acl"), Ok(()));
    assert!(!state.rules().config().vmq_acl);
    assert!(!state.rules().may_publish("c", None, "a"));
    assert_eq!(
        state.disable("vmq_acl"),
        Err(PluginError::NotEnabled("vmq_acl".into()))
    );
    assert_eq!(state.enable("vmq_acl"), Ok(()));
    assert!(state.rules().may_publish("c", None, "a"));
    let unknown = state.enable("vmq_diversity").expect_err("unknown");
    assert_eq!(unknown.reason(), "unknown_plugin");
    assert!(unknown.to_string().contains("vmq_passwd and vmq_acl"));
    assert!(state.disable("nope").is_err());
}

#[test]
fn a_file_is_read_again_only_when_it_changes() {
    let dir = tempfile::tempdir().expect("dir");
    let (passwd, acl) = files(dir.path());
    write(&passwd, "", 1_000);
    write(&acl, "topic a/#\n", 1_000);
    let mut state = state_with(PluginConfig {
        password_file: Some(passwd.clone()),
        acl_file: Some(acl.clone()),
        ..PluginConfig::default()
    });
    assert!(!alice_ok(&state));
    assert!(state.rules().has_acl());
    let before = state.rules();
    state.reload(AuthFile::Passwords, false);
    assert!(
        Arc::ptr_eq(&before, &state.rules()),
        "unchanged: not re-read"
    );
    write(&passwd, PASSWD, 2_000);
    state.reload(AuthFile::Passwords, false);
    assert!(alice_ok(&state), "new mtime: re-read");
    assert!(state.rules().may_publish("c", None, "a/b"));
    write(&acl, "topic b/#\n", 2_000);
    state.reload(AuthFile::Acl, false);
    assert!(!state.rules().may_publish("c", None, "a/b"));
    assert!(state.rules().may_publish("c", None, "b/c"));
}

#[test]
fn an_unreadable_file_keeps_the_last_rules() {
    let dir = tempfile::tempdir().expect("dir");
    let (passwd, acl) = files(dir.path());
    write(&passwd, PASSWD, 1_000);
    write(&acl, "topic a/#\n", 1_000);
    let mut state = state_with(PluginConfig {
        password_file: Some(passwd.clone()),
        acl_file: Some(acl.clone()),
        ..PluginConfig::default()
    });
    std::fs::remove_file(&passwd).expect("rm");
    std::fs::remove_file(&acl).expect("rm");
    for file in AuthFile::ALL {
        state.reload(file, false);
        state.reload(file, true);
    }
    assert!(alice_ok(&state));
    assert!(!state.rules().may_publish("c", None, "b"), "ACL kept");
    state.set_path(AuthFile::Passwords, Some(dir.path().join("missing")));
    assert!(alice_ok(&state), "a bad new path keeps the old users too");
    state.set_path(AuthFile::Passwords, Some(passwd.clone()));
    write(&passwd, "", 1_000);
    state.reload(AuthFile::Passwords, false);
    assert!(!alice_ok(&state), "a file that comes back is read");
}

#[test]
fn missing_files_from_the_start_and_no_path() {
    let dir = tempfile::tempdir().expect("dir");
    let (passwd, acl) = files(dir.path());
    let mut state = state_with(PluginConfig {
        password_file: Some(passwd.clone()),
        acl_file: Some(acl.clone()),
        ..PluginConfig::default()
    });
    assert!(!alice_ok(&state));
    assert!(!state.rules().has_acl(), "no ACL read: everything allowed");
    assert!(state.rules().may_subscribe("c", None, "#"));
    write(&passwd, PASSWD, 1_000);
    write(&acl, "topic x\n", 1_000);
    state.reload(AuthFile::Passwords, false);
    state.reload(AuthFile::Acl, false);
    assert!(alice_ok(&state));
    assert!(!state.rules().may_subscribe("c", None, "#"));
    state.set_path(AuthFile::Acl, None);
    state.set_path(AuthFile::Passwords, None);
    assert!(!alice_ok(&state), "no file, no users");
    assert!(
        state.rules().may_subscribe("c", None, "#"),
        "no file, no rules"
    );
}

#[test]
fn enabling_reads_the_file_and_intervals_bump_the_generation() {
    let dir = tempfile::tempdir().expect("dir");
    let (passwd, _) = files(dir.path());
    let mut state = state_with(PluginConfig {
        vmq_passwd: false,
        password_file: Some(passwd.clone()),
        ..PluginConfig::default()
    });
    write(&passwd, PASSWD, 1_000);
    state.enable("vmq_passwd").expect("enabled");
    assert!(alice_ok(&state));
    let first = state.generation(AuthFile::Acl);
    let next = state.set_interval(AuthFile::Acl, Duration::from_secs(3));
    assert_eq!(next, first + 1);
    assert_eq!(state.generation(AuthFile::Acl), next);
    assert_eq!(state.generation(AuthFile::Passwords), 0);
    assert_eq!(
        state.rules().config().interval(AuthFile::Acl),
        Duration::from_secs(3)
    );
}
