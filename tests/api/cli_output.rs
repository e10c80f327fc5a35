//! What `vmq-admin` prints and returns against an in-process node: human tables and `--format=json`, exit codes, usage and help, and that its answers and effects match the HTTP API.

use hyper::StatusCode;

use crate::process::{admin, assert_failure, assert_success};
use crate::support::{alert_lines, TestNode};

const SHOW: &str = "/api/v1/cluster/show";

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

    let reply = node.get_with_basic(SHOW, key).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let reply = node.get_with_key(SHOW, key).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");

    // A status-scope key does not open /api/v1.
    let out = admin(&node, &["api-key", "create", "scope=status"]).await;
    assert_success(&out, "api-key create scope=status");
    let status_key = out.stdout.trim_end();
    assert_eq!(status_key.len(), 32, "{out:?}");
    let reply = node.get_with_key(SHOW, status_key).await;
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
        let reply = node.get_with_key(SHOW, key).await;
        assert_eq!(reply.status, StatusCode::OK, "{key}: {reply:?}");
    }
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
        (&["cluster", "show"][..], SHOW),
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
    let json = node.get(SHOW).await;
    let out = admin(&node, &["cluster", "show", "--format", "json"]).await;
    if out.code == Some(0) {
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

const CREATE_USAGE: &str = "Usage: vmq-admin api-key create";
const SET_USAGE: &str = "Usage: vmq-admin set";

/// Refused argv, the alert it names and the usage that follows the alert.
const BAD_ARGUMENTS: [(&[&str], &str, &str); 8] = [
    (
        &["api-key", "create", "bogus=1"],
        "unknown parameter 'bogus'",
        CREATE_USAGE,
    ),
    (
        &["api-key", "create", "scope="],
        "empty value",
        CREATE_USAGE,
    ),
    (
        &["api-key", "create", "scope=mgmt", "stray"],
        "unexpected argument 'stray'",
        CREATE_USAGE,
    ),
    (
        &["api-key", "add"],
        "missing parameter key=<value>",
        "Usage: vmq-admin api-key add",
    ),
    (
        &["cluster", "show", "--nope"],
        "unknown flag '--nope'",
        "Usage: vmq-admin cluster show",
    ),
    (
        &["listener", "show", "-x"],
        "unknown flag '-x'",
        "Usage: vmq-admin listener show",
    ),
    (
        &["set", "min_apikey_length=abc"],
        "invalid value 'abc' for min_apikey_length",
        SET_USAGE,
    ),
    (
        &["set", "no_such_key=1"],
        "unknown config keys: no_such_key",
        SET_USAGE,
    ),
];

#[tokio::test]
async fn bad_arguments_exit_1_with_the_alert_and_usage_on_stderr() {
    let node = TestNode::start().await;
    for (argv, alert, usage) in BAD_ARGUMENTS {
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
async fn http_and_cli_agree_on_errors() {
    let node = TestNode::start().await;
    let reply = node.get("/api/v1/api-key/nope").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    let out = admin(&node, &["api-key", "nope"]).await;
    assert_failure(&out, "api-key nope");
    assert_eq!(out.stderr.trim_end(), alert_lines(&reply.json()).trim_end());
    node.stop().await;
}
