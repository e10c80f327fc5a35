//! The API-key lifecycle end to end (contract §7 `api-key`): create, use, delete, scopes, expiry, runtime policy, restarts, storage at rest, bootstrap.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use hyper::Method;
use serde_json::{json, Value};
use vmq_node::admin::api_key;
use vmq_node::config::{Config, HttpScheme};
use vmq_node::node::{self, RunningNode, StartError};

use crate::support::{
    assert_alert, assert_ok, assert_unauthorized, config_text, eventually, http1_request,
    listener_addr, utc_in, Reply, TestNode, CLUSTER_SHOW, DONE,
};

const SHOW: &str = "/api/v1/cluster/show";

/// `api-key create<query>` over HTTP; returns the key.
async fn create(node: &TestNode, query: &str) -> String {
    let reply = node.get(&format!("/api/v1/api-key/create{query}")).await;
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    let key = reply.json()["text"].as_str().expect("a text").to_owned();
    assert_eq!(
        reply.body,
        json!({ "text": key, "type": "text" }).to_string()
    );
    key
}

/// `api-key <command>?<query>` over HTTP.
async fn api_key(node: &TestNode, command: &str, query: &str) -> Reply {
    node.get(&format!("/api/v1/api-key/{command}?{query}"))
        .await
}

/// The rows of `api-key show?<query>`.
async fn show(node: &TestNode, query: &str) -> Vec<Value> {
    let reply = api_key(node, "show", query).await;
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    reply.json()["table"].as_array().expect("a table").clone()
}

/// One row of `api-key show`, as the contract says it looks.
fn row(key: &str, scope: &str, expires: &str, expired: bool) -> Value {
    let masked = format!("{}…", key.chars().take(6).collect::<String>());
    json!({ "Key": masked, "Scope": scope, "Expires (UTC)": expires, "has expired": expired })
}

async fn works(node: &TestNode, key: &str) -> bool {
    node.get_with_key(SHOW, key).await.status == 200
}

fn set_text(key: &str, value: &str) -> String {
    json!({ "text": format!("{key} set to \"{value}\""), "type": "text" }).to_string()
}

#[tokio::test]
async fn a_created_key_works_until_it_is_deleted() {
    let node = TestNode::start().await;
    let mut keys = Vec::new();
    for _ in 0..10 {
        let key = create(&node, "").await;
        assert_eq!(key.len(), 32, "{key}");
        assert!(key.bytes().all(|b| b.is_ascii_alphanumeric()), "{key}");
        assert!(!keys.contains(&key), "a key was generated twice");
        keys.push(key);
    }
    let key = keys.swap_remove(0);
    assert_ok(&node.get_with_key(SHOW, &key).await, CLUSTER_SHOW);
    assert_ok(&api_key(&node, "delete", &format!("key={key}")).await, DONE);
    assert_unauthorized(&node.get_with_key(SHOW, &key).await);
    assert!(works(&node, &node.key).await, "other keys still work");
    node.stop().await;
}

#[tokio::test]
async fn scopes_keep_keys_apart() {
    let node = TestNode::start().await;
    for scope in ["status", "metrics", "health", "api2"] {
        let key = create(&node, &format!("?scope={scope}")).await;
        assert!(!works(&node, &key).await, "a {scope} key opened /api/v1");
        let rows = show(&node, &format!("scope={scope}")).await;
        assert_eq!(rows, vec![row(&key, scope, "never", false)]);
    }
    let mgmt = create(&node, "?scope=mgmt").await;
    assert!(works(&node, &mgmt).await);
    // The same key in a second scope is a separate entry; deleting one leaves the other.
    assert_ok(
        &api_key(&node, "add", &format!("key={mgmt}&scope=health")).await,
        DONE,
    );
    assert_ok(
        &api_key(&node, "delete", &format!("key={mgmt}")).await,
        DONE,
    );
    assert!(!works(&node, &mgmt).await);
    let health = show(&node, "scope=health").await;
    assert!(
        health.contains(&row(&mgmt, "health", "never", false)),
        "{health:?}"
    );
    node.stop().await;
}

#[tokio::test]
async fn an_expired_key_stops_working_and_shows_as_expired() {
    let node = TestNode::start().await;
    let key = "expires-soon-0123456789";
    let (expires, at) = utc_in(3);
    let add = format!("key={key}&scope=status&expires={expires}");
    assert_ok(&api_key(&node, "add", &add).await, DONE);
    let shown = at.format("%Y-%m-%d %H:%M:%S").to_string();
    // Only meaningful while the key is surely still valid; a slow machine skips this check.
    if chrono::Utc::now() + chrono::TimeDelta::milliseconds(500) < at {
        let rows = show(&node, "scope=status").await;
        assert_eq!(rows, vec![row(key, "status", &shown, false)]);
    }
    let expired = eventually(Duration::from_secs(10), || async {
        show(&node, "scope=status").await == vec![row(key, "status", &shown, true)]
    })
    .await;
    assert!(expired, "not shown as expired after {expires}");
    node.stop().await;
}

#[tokio::test]
async fn an_expiry_in_local_time_is_shown_in_utc() {
    let node = TestNode::start().await;
    let local = "2099-06-15T12:30:00";
    let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S").expect("valid");
    let utc = chrono::TimeZone::from_local_datetime(&chrono::Local, &naive)
        .earliest()
        .expect("exists locally")
        .with_timezone(&chrono::Utc);
    let key = create(&node, &format!("?scope=api2&expires={local}")).await;
    let expires = utc.format("%Y-%m-%d %H:%M:%S").to_string();
    let rows = show(&node, "scope=api2").await;
    assert_eq!(rows, vec![row(&key, "api2", &expires, false)]);
    node.stop().await;
}

#[tokio::test]
async fn min_apikey_length_set_at_run_time_changes_what_add_accepts() {
    let node = TestNode::start().await;
    let add = |key: String| {
        let node = &node;
        async move { api_key(node, "add", &format!("key={key}")).await }
    };
    assert_ok(&add("ten-chars1".to_owned()).await, DONE);
    let set = node.get("/api/v1/set?min_apikey_length=40").await;
    assert_ok(&set, &set_text("min_apikey_length", "40"));
    let shown = node.get("/api/v1/show/min_apikey_length").await;
    let table = json!({"table": [{"min_apikey_length": "40", "node": "VerneMQ@127.0.0.1"}], "type": "table"});
    assert_ok(&shown, &table.to_string());
    let too_short = "the key must have at least 40 characters (min_apikey_length)";
    for short in ["ten-chars2".to_owned(), "x".repeat(39)] {
        assert_alert(&add(short).await, 400, &[too_short, api_key::ADD_USAGE]);
    }
    assert_ok(&add("y".repeat(40)).await, DONE);
    assert_eq!(
        create(&node, "").await.len(),
        40,
        "generated keys follow the minimum"
    );
    assert!(
        works(&node, "ten-chars1").await,
        "the policy applies to new keys only"
    );
    let reset = node.get("/api/v1/set?min_apikey_length=0").await;
    assert_ok(&reset, &set_text("min_apikey_length", "0"));
    assert_ok(&add("ten-chars2".to_owned()).await, DONE);
    node.stop().await;
}

#[tokio::test]
async fn max_apikey_expiry_days_set_at_run_time_requires_a_near_expiry() {
    let node = TestNode::start().await;
    let set = node.get("/api/v1/set?max_apikey_expiry_days=1").await;
    assert_ok(&set, &set_text("max_apikey_expiry_days", "1"));
    let usage = api_key::CREATE_USAGE;
    let required = "an expiry date is required because max_apikey_expiry_days = 1";
    assert_alert(&api_key(&node, "create", "").await, 400, &[required, usage]);
    let (too_late, _) = utc_in(2 * 86_400);
    let reply = api_key(&node, "create", &format!("expires={too_late}")).await;
    let problem = "the expiry date must be at most 1 days ahead (max_apikey_expiry_days)";
    assert_alert(&reply, 400, &[problem, usage]);
    let (soon, _) = utc_in(3600);
    let key = create(&node, &format!("?expires={soon}")).await;
    assert!(works(&node, &key).await);
    node.stop().await;
}

#[tokio::test]
async fn keys_survive_a_restart() {
    let node = TestNode::start().await;
    let status = create(&node, "?scope=status").await;
    let (expires, _) = utc_in(86_400);
    let add = format!("key=api2-key-0123456789&scope=api2&expires={expires}");
    assert_ok(&api_key(&node, "add", &add).await, DONE);
    let deleted = create(&node, "").await;
    assert_ok(
        &api_key(&node, "delete", &format!("key={deleted}")).await,
        DONE,
    );
    let before = show(&node, "").await;
    assert_eq!(before.len(), 3, "{before:?}");
    let node = node.restart().await;
    assert!(
        works(&node, &node.key).await,
        "the mgmt key works after a restart"
    );
    assert!(!works(&node, &deleted).await, "a deleted key stays deleted");
    assert_eq!(show(&node, "").await, before);
    let status_rows = show(&node, "scope=status").await;
    assert_eq!(status_rows, vec![row(&status, "status", "never", false)]);
    node.stop().await;
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let entry = entry.expect("dir entry");
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            found.extend(files_under(&entry.path()));
        } else if kind.is_file() {
            found.push(entry.path());
        }
    }
    found
}

/// A digest as the metadata stores it: a CBOR array of 32 unsigned integers.
fn cbor_digest(digest: &[u8; 32]) -> Vec<u8> {
    let mut out = vec![0x98, 32];
    for &byte in digest {
        if byte >= 24 {
            out.push(0x18);
        }
        out.push(byte);
    }
    out
}

#[tokio::test]
async fn no_key_is_stored_in_plain_text() {
    let node = TestNode::start().await;
    let chosen = "plain-text-must-not-be-stored-42";
    assert_ok(
        &api_key(&node, "add", &format!("key={chosen}&scope=api2")).await,
        DONE,
    );
    let keys = [
        node.key.clone(),
        create(&node, "?scope=status").await,
        chosen.to_owned(),
    ];
    let files = files_under(node.dir.path());
    assert!(!files.is_empty());
    for file in &files {
        let bytes = std::fs::read(file).expect("readable file");
        for key in &keys {
            let found = bytes.windows(key.len()).any(|w| w == key.as_bytes());
            assert!(!found, "{} holds a key in plain text", file.display());
        }
    }
    // The keys are there, as digests: the walk above did look at the right file.
    let stored = std::fs::read(node.data_dir().join("meta.redb")).expect("file");
    for key in &keys {
        let digest = cbor_digest(&vmq_actors::ApiKey::new(key.as_str()).digest().0);
        let found = stored.windows(digest.len()).any(|w| w == digest);
        assert!(found, "a digest is missing from the cluster metadata");
    }
    node.stop().await;
}

#[tokio::test]
async fn show_masks_keys_and_lists_every_scope_by_default() {
    let node = TestNode::start().await;
    let chosen = "abcdefghijklmnopqrstuvwxyz";
    assert_ok(
        &api_key(&node, "add", &format!("key={chosen}&scope=status")).await,
        DONE,
    );
    let mgmt = row(&node.key, "mgmt", "never", false);
    let status = row(chosen, "status", "never", false);
    let all = json!({ "table": [mgmt, status.clone()], "type": "table" }).to_string();
    assert_ok(&api_key(&node, "show", "").await, &all);
    assert_ok(&api_key(&node, "show", "scope=all").await, &all);
    let only = json!({ "table": [status], "type": "table" }).to_string();
    assert_ok(&api_key(&node, "show", "scope=status").await, &only);
    let empty = r#"{"table":[],"type":"table"}"#;
    assert_ok(&api_key(&node, "show", "scope=metrics").await, empty);
    node.stop().await;
}

#[tokio::test]
async fn a_corrupt_key_file_stops_the_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let file = data.join("api_keys.json");
    std::fs::write(&file, "this is { not json").expect("garbage");
    let config = Config::from_text(&config_text(dir.path(), ""), "test", &[]).expect("config");
    let error = node::start(config, &[])
        .await
        .expect_err("a corrupt file stops the start");
    let message = error.to_string();
    assert!(matches!(error, StartError::Data(_)), "{error:?}");
    assert!(message.contains(&file.display().to_string()), "{message}");
    let kept = std::fs::read_to_string(&file).expect("still there");
    assert_eq!(
        kept, "this is { not json",
        "the start must not touch the file"
    );
    let socket = data.join("vmq-admin.sock");
    assert!(
        !socket.exists(),
        "a failed start leaves no admin socket behind"
    );
}

/// Starts a node with `env` as its process environment; returns it and its HTTP address.
async fn start_with_env(dir: &Path, env: &[(String, String)]) -> (RunningNode, SocketAddr) {
    let config = Config::from_text(&config_text(dir, ""), "test", &[]).expect("config");
    let running = node::start(config, env).await.expect("node starts");
    let addr = listener_addr(&running, HttpScheme::Http);
    (running, addr)
}

async fn get_with_key(addr: SocketAddr, key: &str) -> Reply {
    http1_request(addr, Method::GET, SHOW, &[("x-api-key", key)], Bytes::new()).await
}

#[tokio::test]
async fn api_key_file_is_imported_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("keys.txt");
    let text = "# bootstrap keys\nfile-mgmt-key-0123456789\n\nfile-status-key-012345 status\n";
    std::fs::write(&file, text).expect("key file");
    let node = TestNode::start_with(&format!("api_key_file = {}", file.display())).await;
    let mgmt = node.get_with_key(SHOW, "file-mgmt-key-0123456789").await;
    assert_ok(&mgmt, CLUSTER_SHOW);
    assert_unauthorized(&node.get_with_key(SHOW, "file-status-key-012345").await);
    let status_rows = show(&node, "scope=status").await;
    let expected = row("file-status-key-012345", "status", "never", false);
    assert_eq!(status_rows, vec![expected]);
    // A second start imports nothing twice and does not fail on keys already there.
    let node = node.restart().await;
    assert_eq!(show(&node, "scope=status").await, status_rows);
    assert!(works(&node, "file-mgmt-key-0123456789").await);
    node.stop().await;
}

#[tokio::test]
async fn docker_vernemq_api_key_is_imported_at_start() {
    let key = "docker-bootstrap-key-0123456789";
    let dir = tempfile::tempdir().expect("temp dir");
    let env = [("DOCKER_VERNEMQ_API_KEY".to_owned(), key.to_owned())];
    let (running, addr) = start_with_env(dir.path(), &env).await;
    assert_ok(&get_with_key(addr, key).await, CLUSTER_SHOW);
    assert_unauthorized(&get_with_key(addr, "some-other-key").await);
    running.stop().await;

    let other = tempfile::tempdir().expect("temp dir");
    let scoped = [
        ("DOCKER_VERNEMQ_API_KEY".to_owned(), key.to_owned()),
        (
            "DOCKER_VERNEMQ_API_KEY_SCOPE".to_owned(),
            "status".to_owned(),
        ),
    ];
    let (running, addr) = start_with_env(other.path(), &scoped).await;
    assert_unauthorized(&get_with_key(addr, key).await);
    let rows = running
        .node()
        .vault
        .snapshot()
        .rows(None, chrono::Utc::now());
    let scopes: Vec<&str> = rows.iter().map(|row| row.scope.as_str()).collect();
    assert_eq!(scopes, ["status"]);
    running.stop().await;
}
