//! The plugins actor through its handle: snapshots, enable/disable, files set and re-read on a timer.

use std::time::{Duration, Instant, SystemTime};

use super::*;

const PASSWD: &str = include_str!("testdata/passwd");

fn alice_ok(handle: &PluginsHandle) -> bool {
    handle
        .rules()
        .authenticate(false, "c", Some("alice"), Some(b"alice-secret"))
        == AuthVerdict::Accepted
}

/// Polls `condition` every 10 ms for up to 5 s.
async fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    condition()
}

fn write(path: &std::path::Path, text: &str, seconds: u64) {
    std::fs::write(path, text).expect("write");
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)))
        .expect("set mtime");
}

#[tokio::test]
async fn files_are_read_at_start_when_set_and_when_they_change() {
    let dir = tempfile::tempdir().expect("dir");
    let passwd = dir.path().join("vmq.passwd");
    write(&passwd, PASSWD, 1_000);
    let (supervisor, _join) = SupervisorHandle::start().await.expect("supervisor");
    let config = PluginConfig {
        password_file: Some(passwd.clone()),
        password_reload_interval: Duration::from_millis(20),
        ..PluginConfig::default()
    };
    let handle = PluginsHandle::start(&supervisor, config)
        .await
        .expect("start");
    assert!(alice_ok(&handle), "read before start returns");
    write(&passwd, "", 2_000);
    assert!(eventually(|| !alice_ok(&handle)).await, "re-read on change");
    let other = dir.path().join("other.passwd");
    write(&other, PASSWD, 1_000);
    handle.set_password_file(Some(other)).await.expect("set");
    assert!(alice_ok(&handle), "read at once when set");
    handle
        .set_password_reload_interval(Duration::ZERO)
        .await
        .expect("interval");
    handle.set_password_file(None).await.expect("unset");
    assert!(!alice_ok(&handle));
    supervisor.shutdown();
}

#[tokio::test]
async fn enable_disable_and_show() {
    let (supervisor, _join) = SupervisorHandle::start().await.expect("supervisor");
    let handle = PluginsHandle::start(&supervisor, PluginConfig::default())
        .await
        .expect("start");
    let names = |h: &PluginsHandle| -> Vec<&str> { h.show().iter().map(|p| p.name).collect() };
    assert_eq!(names(&handle), ["vmq_passwd", "vmq_acl"]);
    handle.disable("vmq_passwd").await.expect("disable");
    assert_eq!(names(&handle), ["vmq_acl"]);
    assert_eq!(
        handle.disable("vmq_passwd").await,
        Err(PluginError::NotEnabled("vmq_passwd".into()))
    );
    assert_eq!(
        handle.enable("vmq_bridge").await,
        Err(PluginError::Unknown("vmq_bridge".into()))
    );
    handle.enable("vmq_passwd").await.expect("enable");
    assert_eq!(names(&handle), ["vmq_passwd", "vmq_acl"]);
    handle
        .set_acl_reload_interval(Duration::from_secs(7))
        .await
        .expect("interval");
    assert_eq!(
        handle.rules().config().acl_reload_interval,
        Duration::from_secs(7)
    );
    supervisor.shutdown();
}
