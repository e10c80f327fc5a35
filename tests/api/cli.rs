//! The `vmq-admin` binary against an in-process node: output formats, exit codes, usage, data-dir selection and the admin socket.

use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use vmq_node::config::Config;
use vmq_node::node;

use crate::support::{basic, config_text, TestNode};

/// How long one `vmq-admin` run may take on a loaded machine before the test gives up.
const RUN_DEADLINE: Duration = Duration::from_secs(30);

/// What one `vmq-admin` run printed and returned.
#[derive(Debug)]
struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `vmq-admin` with a clean environment: no `VMQ_DATA_DIR`, run from an empty directory so that
/// the default `./data` never reaches a real node.
fn admin_command(cwd: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_vmq-admin"));
    command
        .env_remove("VMQ_DATA_DIR")
        .current_dir(cwd)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

async fn run(mut command: tokio::process::Command) -> Output {
    let output = tokio::time::timeout(RUN_DEADLINE, command.output())
        .await
        .expect("vmq-admin finished within the deadline")
        .expect("vmq-admin could be run");
    Output {
        code: output
            .status
            .code()
            .expect("vmq-admin exited (not killed by a signal)"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// `vmq-admin --data-dir <node's data dir> <args…>`.
async fn admin(node: &TestNode, args: &[&str]) -> Output {
    let mut command = admin_command(node.dir.path());
    command.arg("--data-dir").arg(node.data_dir()).args(args);
    run(command).await
}

fn assert_success(output: &Output, what: &str) {
    assert_eq!(output.code, 0, "{what}: {output:?}");
    assert!(output.stderr.is_empty(), "{what}: {output:?}");
}

fn assert_failure(output: &Output, what: &str) {
    assert_eq!(output.code, 1, "{what}: {output:?}");
    assert!(
        output.stdout.is_empty(),
        "{what}: nothing on stdout: {output:?}"
    );
}

/// The alert text an HTTP error body carries, lines joined.
fn alert_texts(body: &serde_json::Value) -> String {
    body["alert"]
        .as_array()
        .expect("an alert array")
        .iter()
        .map(|e| e["text"].as_str().expect("alert text").to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn api_key_create_prints_a_key_that_authenticates() {
    let node = TestNode::start().await;
    let out = admin(&node, &["api-key", "create"]).await;
    assert_success(&out, "api-key create");
    let key = out
        .stdout
        .strip_suffix('\n')
        .expect("one line ending in \\n");
    assert_eq!(key.len(), 32, "{out:?}");
    assert!(key.chars().all(|c| c.is_ascii_alphanumeric()), "{key}");

    let reply = node
        .request(
            Method::GET,
            "/api/v1/cluster/show",
            &[("authorization", &basic(key))],
            Bytes::new(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let reply = node
        .request(
            Method::GET,
            "/api/v1/cluster/show",
            &[("x-api-key", key)],
            Bytes::new(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");

    // A status-scope key does not open /api/v1.
    let out = admin(&node, &["api-key", "create", "scope=status"]).await;
    assert_success(&out, "api-key create scope=status");
    let status_key = out.stdout.trim_end();
    assert_eq!(status_key.len(), 32, "{out:?}");
    let reply = node
        .request(
            Method::GET,
            "/api/v1/cluster/show",
            &[("x-api-key", status_key)],
            Bytes::new(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    node.stop().await;
}

#[tokio::test]
async fn concurrent_creates_give_distinct_working_keys() {
    let node = TestNode::start().await;
    let runs: Vec<_> = (0..8)
        .map(|_| admin(&node, &["api-key", "create"]))
        .collect();
    let mut keys = Vec::new();
    for out in futures_util::future::join_all(runs).await {
        assert_success(&out, "api-key create");
        keys.push(out.stdout.trim_end().to_owned());
    }
    let mut distinct = keys.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), keys.len(), "{keys:?}");
    for key in &keys {
        let reply = node
            .request(
                Method::GET,
                "/api/v1/cluster/show",
                &[("x-api-key", key)],
                Bytes::new(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{key}: {reply:?}");
    }
    node.stop().await;
}

#[tokio::test]
async fn the_data_dir_comes_from_the_flag_or_vmq_data_dir() {
    let node = TestNode::start().await;
    let empty = tempfile::tempdir().expect("temp dir");

    let mut command = admin_command(empty.path());
    command
        .env("VMQ_DATA_DIR", node.data_dir())
        .args(["cluster", "show"]);
    let out = run(command).await;
    assert_success(&out, "VMQ_DATA_DIR");
    assert!(out.stdout.contains("VerneMQ@127.0.0.1"), "{out:?}");

    let mut command = admin_command(empty.path());
    command
        .arg(format!("--data-dir={}", node.data_dir().display()))
        .args(["cluster", "show"]);
    let out = run(command).await;
    assert_success(&out, "--data-dir=DIR");
    assert!(out.stdout.contains("VerneMQ@127.0.0.1"), "{out:?}");

    // The flag wins over the variable, wherever it appears in argv.
    let mut command = admin_command(empty.path());
    command
        .env("VMQ_DATA_DIR", empty.path())
        .args(["cluster", "show", "--data-dir"])
        .arg(node.data_dir());
    let out = run(command).await;
    assert_success(&out, "--data-dir after the command over VMQ_DATA_DIR");

    // And the variable pointing nowhere is used when there is no flag.
    let mut command = admin_command(empty.path());
    command
        .env("VMQ_DATA_DIR", empty.path())
        .args(["cluster", "show"]);
    let out = run(command).await;
    assert_failure(&out, "VMQ_DATA_DIR to an empty dir");
    assert!(out.stderr.contains("cannot reach the node"), "{out:?}");
    node.stop().await;
}

#[tokio::test]
async fn cluster_show_prints_a_human_table() {
    let node = TestNode::start().await;
    let out = admin(&node, &["cluster", "show"]).await;
    assert_success(&out, "cluster show");
    let expected = "\
+-------------------+---------+
| Node              | Running |
+-------------------+---------+
| VerneMQ@127.0.0.1 | true    |
+-------------------+---------+
";
    assert_eq!(out.stdout, expected);
    node.stop().await;
}

#[tokio::test]
async fn format_json_prints_exactly_the_http_body() {
    let node = TestNode::start().await;
    for (argv, path) in [
        (&["cluster", "show"][..], "/api/v1/cluster/show"),
        (&["api-key", "show"][..], "/api/v1/api-key/show"),
        (
            &["show", "min_apikey_length", "nodename"][..],
            "/api/v1/show/min_apikey_length/nodename",
        ),
        (
            &["cluster", "show", "--help"][..],
            "/api/v1/cluster/show?--help",
        ),
    ] {
        let reply = node.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {reply:?}");
        let mut with_format: Vec<&str> = argv.to_vec();
        with_format.push("--format=json");
        let out = admin(&node, &with_format).await;
        assert_success(&out, &with_format.join(" "));
        assert_eq!(
            out.stdout,
            format!("{}\n", reply.body),
            "{argv:?} vs {path}"
        );
    }

    // An error: the alert body goes to stderr, byte for byte, and nothing to stdout.
    let reply = node.get("/api/v1/api-key/create?bogus=1").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    let out = admin(&node, &["api-key", "create", "bogus=1", "--format=json"]).await;
    assert_failure(&out, "bad param with --format=json");
    assert_eq!(out.stderr, format!("{}\n", reply.body));

    // `--format=human` is the default.
    let human = admin(&node, &["cluster", "show", "--format=human"]).await;
    let default = admin(&node, &["cluster", "show"]).await;
    assert_success(&human, "--format=human");
    assert_eq!(human.stdout, default.stdout);
    node.stop().await;
}

#[tokio::test]
async fn a_format_without_equals_is_not_silently_ignored() {
    let node = TestNode::start().await;
    let json = node.get("/api/v1/cluster/show").await;
    let out = admin(&node, &["cluster", "show", "--format", "json"]).await;
    if out.code == 0 {
        assert_eq!(out.stdout, format!("{}\n", json.body), "{out:?}");
    } else {
        assert_failure(&out, "--format json");
        assert!(out.stderr.contains("format"), "{out:?}");
    }
    let out = admin(&node, &["cluster", "show", "--format=xml"]).await;
    assert_failure(&out, "--format=xml");
    assert!(out.stderr.contains("unknown format 'xml'"), "{out:?}");
    node.stop().await;
}

#[tokio::test]
async fn usage_errors_exit_1_with_the_usage_on_stderr() {
    let node = TestNode::start().await;
    let top = "Usage: vmq-admin <sub-command>";
    let api_key_group = "Usage: vmq-admin api-key <sub-command>";
    for (argv, usage) in [
        (&[][..], top),
        (&["nope"][..], top),
        (&["nope", "show"][..], top),
        (&["api-key"][..], api_key_group),
        (&["api-key", "nope"][..], api_key_group),
        (&["cluster"][..], "Usage: vmq-admin cluster <sub-command>"),
    ] {
        let out = admin(&node, argv).await;
        assert_failure(&out, &format!("{argv:?}"));
        assert!(out.stderr.contains(usage), "{argv:?}: {out:?}");
        assert!(out.stderr.contains("Unknown command"), "{argv:?}: {out:?}");
    }
    node.stop().await;
}

#[tokio::test]
async fn bad_arguments_exit_1_with_the_alert_and_usage_on_stderr() {
    let node = TestNode::start().await;
    let create_usage = "Usage: vmq-admin api-key create";
    for (argv, alert, usage) in [
        (
            &["api-key", "create", "bogus=1"][..],
            "unknown parameter 'bogus'",
            create_usage,
        ),
        (
            &["api-key", "create", "scope="][..],
            "empty value",
            create_usage,
        ),
        (
            &["api-key", "create", "scope=mgmt", "stray"][..],
            "unexpected argument 'stray'",
            create_usage,
        ),
        (
            &["api-key", "add"][..],
            "missing parameter key=<value>",
            "Usage: vmq-admin api-key add",
        ),
        (
            &["cluster", "show", "--nope"][..],
            "unknown flag '--nope'",
            "Usage: vmq-admin cluster show",
        ),
        (
            &["listener", "show", "-x"][..],
            "unknown flag '-x'",
            "Usage: vmq-admin listener show",
        ),
        (
            &["set", "min_apikey_length=abc"][..],
            "invalid value 'abc' for min_apikey_length",
            "Usage: vmq-admin set",
        ),
        (
            &["set", "no_such_key=1"][..],
            "unknown config keys: no_such_key",
            "Usage: vmq-admin set",
        ),
    ] {
        let out = admin(&node, argv).await;
        assert_failure(&out, &format!("{argv:?}"));
        assert!(out.stderr.contains(alert), "{argv:?}: {out:?}");
        assert!(out.stderr.contains(usage), "{argv:?}: {out:?}");
        let alert_at = out.stderr.find(alert).expect("alert present");
        let usage_at = out.stderr.find(usage).expect("usage present");
        assert!(
            alert_at < usage_at,
            "the alert comes before the usage: {out:?}"
        );
    }
    // Deleting a key that does not exist is an error too (404 over HTTP).
    let out = admin(
        &node,
        &["api-key", "delete", "key=nosuchkeynosuchkeynosuchkey00"],
    )
    .await;
    assert_failure(&out, "api-key delete of an unknown key");
    assert!(!out.stderr.is_empty(), "{out:?}");
    node.stop().await;
}

#[tokio::test]
async fn help_exits_0_with_the_usage_on_stdout() {
    let node = TestNode::start().await;
    for (argv, usage) in [
        (&["--help"][..], "Usage: vmq-admin <sub-command>"),
        (&["-h"][..], "Usage: vmq-admin <sub-command>"),
        (
            &["api-key", "--help"][..],
            "Usage: vmq-admin api-key <sub-command>",
        ),
        (
            &["api-key", "create", "--help"][..],
            "Usage: vmq-admin api-key create",
        ),
        (
            &["cluster", "show", "-h"][..],
            "Usage: vmq-admin cluster show",
        ),
        (
            &["listener", "show", "--help"][..],
            "Usage: vmq-admin listener show",
        ),
        (&["set", "--help"][..], "Usage: vmq-admin set"),
    ] {
        let out = admin(&node, argv).await;
        assert_success(&out, &format!("{argv:?}"));
        assert!(out.stdout.starts_with(usage), "{argv:?}: {out:?}");
    }
    node.stop().await;
}

#[tokio::test]
async fn set_then_show_and_the_new_value_takes_effect() {
    let node = TestNode::start().await;
    let out = admin(&node, &["set", "min_apikey_length=40"]).await;
    assert_success(&out, "set");
    assert_eq!(out.stdout, "min_apikey_length set to \"40\"\n");

    let out = admin(&node, &["show", "min_apikey_length"]).await;
    assert_success(&out, "show");
    let expected = "\
+-------------------+-------------------+
| node              | min_apikey_length |
+-------------------+-------------------+
| VerneMQ@127.0.0.1 | 40                |
+-------------------+-------------------+
";
    assert_eq!(out.stdout, expected);

    let reply = node.get("/api/v1/show/min_apikey_length").await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(
        reply.json()["table"][0]["min_apikey_length"],
        "40",
        "{reply:?}"
    );

    // New keys honour the new minimum length.
    let out = admin(&node, &["api-key", "create"]).await;
    assert_success(&out, "api-key create after set");
    assert_eq!(out.stdout.trim_end().len(), 40, "{out:?}");

    // A refused set changes nothing.
    let out = admin(&node, &["set", "min_apikey_length=abc"]).await;
    assert_failure(&out, "bad set");
    let out = admin(&node, &["show", "min_apikey_length", "--format=json"]).await;
    assert_success(&out, "show after a refused set");
    assert!(
        out.stdout.contains("\"min_apikey_length\":\"40\""),
        "{out:?}"
    );
    node.stop().await;
}

#[tokio::test]
async fn listener_show_takes_short_and_long_flags() {
    let node = TestNode::start().await;
    let plain = admin(&node, &["listener", "show"]).await;
    assert_success(&plain, "listener show");
    let header = plain.stdout.lines().nth(1).expect("a header line");
    assert!(header.starts_with("| type "), "{plain:?}");
    assert!(!header.contains("tls_version"), "{plain:?}");
    assert!(
        plain.stdout.contains(&node.addr.port().to_string()),
        "{plain:?}"
    );

    for flag in ["-t", "--tls"] {
        let out = admin(&node, &["listener", "show", flag]).await;
        assert_success(&out, flag);
        let header = out.stdout.lines().nth(1).expect("a header line");
        for column in ["tls_version", "certfile", "keyfile", "require_certificate"] {
            assert!(header.contains(column), "{flag}: {column}: {out:?}");
        }
    }

    let out = admin(&node, &["listener", "show", "-t", "-m", "--format=json"]).await;
    assert_success(&out, "listener show -t -m --format=json");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    let http_row = json["table"]
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["type"] == "http"));
    let row = http_row.expect("the HTTP listener's row");
    for column in ["tls_version", "allowed_protocol_versions", "port", "type"] {
        assert!(row.get(column).is_some(), "{column}: {json}");
    }
    assert_eq!(row["port"], node.addr.port().to_string(), "{json}");

    // `--tls` takes no value: a bare word after it is refused, not swallowed.
    let out = admin(&node, &["listener", "show", "--tls", "yes"]).await;
    assert_failure(&out, "--tls yes");
    assert!(out.stderr.contains("takes no value"), "{out:?}");
    node.stop().await;
}

#[tokio::test]
async fn the_admin_socket_is_private() {
    let node = TestNode::start().await;
    let path = node.running().admin_socket().to_path_buf();
    assert_eq!(path, node.data_dir().join("vmq-admin.sock"));
    let metadata = std::fs::metadata(&path).expect("socket exists");
    assert!(metadata.file_type().is_socket(), "{path:?} is a socket");
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600, "{path:?}");
    node.stop().await;
}

#[tokio::test]
async fn without_a_node_it_says_it_cannot_reach_it() {
    let empty = tempfile::tempdir().expect("temp dir");
    let mut command = admin_command(empty.path());
    command
        .arg("--data-dir")
        .arg(empty.path())
        .args(["cluster", "show"]);
    let out = run(command).await;
    assert_failure(&out, "no node");
    assert!(out.stderr.contains("cannot reach the node"), "{out:?}");
    let socket = empty.path().join("vmq-admin.sock");
    assert!(
        out.stderr.contains(&socket.display().to_string()),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("--data-dir"),
        "says how to point at a node: {out:?}"
    );
}

#[tokio::test]
async fn after_stop_the_socket_is_gone() {
    let node = TestNode::start().await;
    let socket = node.running().admin_socket().to_path_buf();
    let data = node.data_dir();
    let TestNode { running, dir, .. } = node;
    running.expect("running").stop().await;
    assert!(!socket.exists(), "{socket:?} removed on stop");
    let mut command = admin_command(dir.path());
    command
        .arg("--data-dir")
        .arg(&data)
        .args(["cluster", "show"]);
    let out = run(command).await;
    assert_failure(&out, "after stop");
    assert!(out.stderr.contains("cannot reach the node"), "{out:?}");
}

#[tokio::test]
async fn a_second_node_on_the_same_data_dir_does_not_start() {
    let node = TestNode::start().await;
    let config =
        Config::from_text(&config_text(node.dir.path(), ""), "second", &[]).expect("valid config");
    let error = node::start(config, &[])
        .await
        .expect_err("a second node on the same data dir must not start");
    assert!(error.to_string().contains("another node"), "{error}");
    assert_ne!(error.exit_code(), 0);

    // The first node keeps its socket.
    let out = admin(&node, &["cluster", "show"]).await;
    assert_success(&out, "first node after the refused second start");
    node.stop().await;
}

#[tokio::test]
async fn a_stale_socket_file_is_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let socket = data.join("vmq-admin.sock");
    // A socket file whose server is gone (a node that was killed).
    drop(std::os::unix::net::UnixListener::bind(&socket).expect("bind"));
    assert!(socket.exists());

    let config =
        Config::from_text(&config_text(dir.path(), ""), "stale", &[]).expect("valid config");
    let running = node::start(config, &[])
        .await
        .expect("starts over a stale socket");
    let mut command = admin_command(dir.path());
    command
        .arg("--data-dir")
        .arg(&data)
        .args(["cluster", "show"]);
    let out = run(command).await;
    running.stop().await;
    assert_success(&out, "over a replaced socket");
}

#[tokio::test]
async fn malformed_socket_requests_get_an_error_frame() {
    let node = TestNode::start().await;
    for request in [
        &b"not json\n"[..],
        b"{\"argv\":\"cluster\"}\n",
        b"\xff\xfe\n",
        b"\n",
    ] {
        let stream = tokio::net::UnixStream::connect(node.running().admin_socket())
            .await
            .expect("connect to the admin socket");
        let (read, mut write) = stream.into_split();
        write.write_all(request).await.expect("write");
        let mut lines = BufReader::new(read).lines();
        let mut frames = Vec::new();
        while let Some(line) = tokio::time::timeout(RUN_DEADLINE, lines.next_line())
            .await
            .expect("an answer within the deadline")
            .expect("readable")
        {
            frames.push(serde_json::from_str::<serde_json::Value>(&line).expect("a JSON frame"));
        }
        let last = frames.last().expect("at least one frame");
        assert_eq!(last["exit"], 1, "{request:?}: {frames:?}");
        assert!(
            frames.iter().any(|f| f.get("stderr").is_some()),
            "{request:?}: {frames:?}"
        );
    }
    let out = admin(&node, &["cluster", "show"]).await;
    assert_success(&out, "after malformed socket requests");
    node.stop().await;
}

#[tokio::test]
async fn http_and_cli_agree_on_errors() {
    let node = TestNode::start().await;
    let reply = node.get("/api/v1/api-key/nope").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    let out = admin(&node, &["api-key", "nope"]).await;
    assert_failure(&out, "api-key nope");
    assert_eq!(out.stderr.trim_end(), alert_texts(&reply.json()).trim_end());
    node.stop().await;
}
