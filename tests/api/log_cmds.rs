//! `log show config` and `log level` (in process and on the running binary, whose stderr shows
//! the change), and the audit lines of state-changing commands, secrets redacted.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use vmq_node::admin::log::LEVEL_USAGE;

use crate::process::{admin, assert_failure, assert_success, Running, DEADLINE, KEY};
use crate::raw::blocking_get;
use crate::support::{alert_text, assert_alert, assert_ok, TestNode, CLUSTER_SHOW, DONE};

/// The debug line every admin command writes (target `vmq_node::admin`).
const DEBUG_LINE: &str = "running an admin command";

fn console_row(level: &str) -> String {
    format!(r#"{{"file":"-","level":"{level}","logger":"console","type":"stderr"}}"#)
}

#[tokio::test]
async fn log_show_config_lists_the_console_and_every_level_set() {
    let node = TestNode::start().await;
    let table = |rows: &[String]| format!(r#"{{"table":[{}],"type":"table"}}"#, rows.join(","));
    assert_ok(
        &node.get("/api/v1/log/show/config").await,
        &table(&[console_row("info")]),
    );
    let set = node
        .get("/api/v1/log/level?logger=vmq_node::http&level=debug")
        .await;
    assert_ok(&set, DONE);
    // VerneMQ's order is logger then level; the other order works too.
    let set = node
        .get("/api/v1/log/level?level=warn&logger=console")
        .await;
    assert_ok(&set, DONE);
    let target = r#"{"file":"-","level":"debug","logger":"vmq_node::http","type":"target"}"#;
    assert_ok(
        &node.get("/api/v1/log/show/config").await,
        &table(&[console_row("warning"), target.to_owned()]),
    );

    let out = admin(&node, &["log", "show", "config"]).await;
    assert_success(&out, "log show config");
    for word in ["logger", "console", "warning", "vmq_node::http", "target"] {
        assert!(out.stdout.contains(word), "{word}: {out:?}");
    }
    node.stop().await;
}

#[tokio::test]
async fn log_level_refuses_bad_input_with_the_usage() {
    let node = TestNode::start().await;
    let cases = [
        (
            "logger=console&level=loud",
            "unknown level 'loud': use debug, info, warning, error, none (or trace, warn, off)",
        ),
        ("logger=console", "missing parameter level=<value>"),
        ("level=debug", "missing parameter logger=<value>"),
        (
            "logger=vmq-node&level=debug",
            "invalid logger 'vmq-node': use console or a module path such as vmq_actors::sessions",
        ),
        (
            "logger=console&level=debug&extra=1",
            "unknown parameter 'extra'",
        ),
    ];
    for (query, message) in cases {
        let reply = node.get(&format!("/api/v1/log/level?{query}")).await;
        assert_alert(&reply, 400, &[message, LEVEL_USAGE]);
    }
    let reply = node.get("/api/v1/log/level").await;
    assert_alert(
        &reply,
        400,
        &["missing parameter logger=<value>", LEVEL_USAGE],
    );
    let reply = node.get("/api/v1/log/show").await;
    assert_eq!(reply.status.as_u16(), 400, "{reply:?}");
    assert!(
        alert_text(&reply.body).contains("vmq-admin log <sub-command>"),
        "{reply:?}"
    );
    // Nothing was applied.
    let config = node.get("/api/v1/log/show/config").await;
    assert!(config.body.contains(&console_row("info")), "{config:?}");

    let out = admin(&node, &["log", "level", "logger=console"]).await;
    assert_failure(&out, "log level without a level");
    assert!(
        out.stderr
            .contains(LEVEL_USAGE.lines().next().unwrap_or("-")),
        "{out:?}"
    );
    node.stop().await;
}

/// A `GET` with the bootstrap key that must answer 200: the body.
fn get_ok(addr: SocketAddr, path: &str) -> String {
    let (status, body) = blocking_get(addr, path, KEY, DEADLINE);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// Sets a level over HTTP and waits for its audit line; returns the mark after it.
fn set_level(node: &mut Running, addr: SocketAddr, logger: &str, level: &str) -> usize {
    let mark = node.mark();
    let body = get_ok(
        addr,
        &format!("/api/v1/log/level?logger={logger}&level={level}"),
    );
    assert_eq!(body, DONE);
    let params = format!("params=\"logger={logger} level={level}\"");
    node.wait_for_line_since(mark, &params);
    node.mark()
}

fn debug_lines(node: &Running, mark: usize) -> Vec<&String> {
    node.seen_since(mark)
        .iter()
        .filter(|line| line.contains(DEBUG_LINE))
        .collect()
}

#[test]
fn log_level_changes_what_the_running_binary_logs() {
    let mut node = Running::start("data");
    let addr = node.wait_serving();
    // At info (RUST_LOG=info), commands write no debug line.
    let start = node.mark();
    assert_eq!(get_ok(addr, "/api/v1/cluster/show"), CLUSTER_SHOW);
    let mark = set_level(&mut node, addr, "console", "debug");
    assert_eq!(debug_lines(&node, start), Vec::<&String>::new());

    assert_eq!(get_ok(addr, "/api/v1/cluster/show"), CLUSTER_SHOW);
    let line = node.wait_for_line_since(mark, DEBUG_LINE);
    assert!(line.contains("DEBUG vmq_node::admin"), "{line}");
    assert!(line.contains(r#"["cluster", "show"]"#), "{line}");
    let config = get_ok(addr, "/api/v1/log/show/config");
    assert!(config.contains(&console_row("debug")), "{config}");

    // Back to info: silent again. Then debug for one module only: its lines come back.
    let mark = set_level(&mut node, addr, "console", "info");
    assert_eq!(get_ok(addr, "/api/v1/cluster/show"), CLUSTER_SHOW);
    let after = set_level(&mut node, addr, "vmq_node::admin", "debug");
    assert_eq!(debug_lines(&node, mark), Vec::<&String>::new());
    assert_eq!(get_ok(addr, "/api/v1/cluster/show"), CLUSTER_SHOW);
    node.wait_for_line_since(after, DEBUG_LINE);
    let config = get_ok(addr, "/api/v1/log/show/config");
    assert!(config.contains(&console_row("info")), "{config}");
    assert!(
        config
            .contains(r#"{"file":"-","level":"debug","logger":"vmq_node::admin","type":"target"}"#),
        "{config}"
    );
    node.terminate_cleanly();
}

/// `vmq-admin --data-dir <data> <args…>`, to its end.
fn cli(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vmq-admin"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("VMQ_DATA_DIR")
        .output()
        .expect("vmq-admin runs")
}

#[test]
fn state_changing_commands_write_one_audit_line_with_secrets_redacted() {
    const ADDED: &str = "auditAddedKeyABCDEFGHIJKLMNOPQRS";
    let mut node = Running::start("data");
    let addr = node.wait_serving();
    let start = node.mark();

    let add = format!("/api/v1/api-key/add?key={ADDED}&scope=mgmt");
    assert_eq!(get_ok(addr, &add), DONE);
    let line = node.wait_for_line_since(start, r#"command="api-key add""#);
    for part in [
        " INFO vmq_node::audit: admin command ",
        r#"params="key=auditA… scope=mgmt""#,
        r#"caller="binari…""#,
        r#"peer="127.0.0.1:"#,
        r#"outcome="ok""#,
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
    // A failed change is audited with its status.
    let (status, _) = blocking_get(addr, &add, KEY, DEADLINE);
    assert_eq!(status, 409);
    node.wait_for_line_since(
        start,
        r#"outcome="409 this key already exists in scope mgmt""#,
    );

    let out = cli(&node.data_dir, &["set", "allow_anonymous=on"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let line = node.wait_for_line_since(start, r#"command="set""#);
    for part in [
        r#"params="allow_anonymous=on""#,
        r#"caller="local-socket""#,
        r#"peer="local""#,
        r#"outcome="ok""#,
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }

    // Read-only commands are not audited, over either front end.
    let mark = node.mark();
    assert_eq!(get_ok(addr, "/api/v1/cluster/show"), CLUSTER_SHOW);
    let out = cli(&node.data_dir, &["cluster", "show"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = cli(
        &node.data_dir,
        &["log", "level", "logger=console", "level=info"],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    node.wait_for_line_since(mark, r#"command="log level""#);
    let audited: Vec<&String> = node
        .seen_since(mark)
        .iter()
        .filter(|line| line.contains("vmq_node::audit"))
        .collect();
    assert_eq!(audited.len(), 1, "{audited:#?}");

    // No key is ever written whole.
    for line in node.seen_since(0) {
        assert!(!line.contains(ADDED) && !line.contains(KEY), "{line}");
    }
    node.terminate_cleanly();
}
