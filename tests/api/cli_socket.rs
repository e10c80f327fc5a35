//! How `vmq-admin` finds and talks to a node: the data dir from `--data-dir` or `VMQ_DATA_DIR`, the private admin socket, no node, a stopped node, a second node, a stale socket and malformed socket requests.

use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use vmq_node::config::Config;
use vmq_node::node;

use crate::process::{admin, admin_from, admin_in, assert_failure, assert_success, DEADLINE};
use crate::support::{config_text, TestNode};

#[tokio::test]
async fn the_data_dir_comes_from_the_flag_or_vmq_data_dir() {
    let node = TestNode::start().await;
    let empty = tempfile::tempdir().expect("temp dir");

    let (cwd, data) = (empty.path(), node.data_dir());
    let data_text = data.to_str().expect("a UTF-8 temp path");
    let show = ["cluster", "show"];

    let out = admin_from(cwd, Some(&data), &show).await;
    assert_success(&out, "VMQ_DATA_DIR");
    assert!(out.stdout.contains("VerneMQ@127.0.0.1"), "{out:?}");

    let flag = format!("--data-dir={data_text}");
    let out = admin_from(cwd, None, &[&flag, "cluster", "show"]).await;
    assert_success(&out, "--data-dir=DIR");
    assert!(out.stdout.contains("VerneMQ@127.0.0.1"), "{out:?}");

    // The flag wins over the variable, wherever it appears in argv.
    let argv = ["cluster", "show", "--data-dir", data_text];
    let out = admin_from(cwd, Some(cwd), &argv).await;
    assert_success(&out, "--data-dir after the command over VMQ_DATA_DIR");

    // And the variable pointing nowhere is used when there is no flag.
    let out = admin_from(cwd, Some(cwd), &show).await;
    assert_failure(&out, "VMQ_DATA_DIR to an empty dir");
    assert!(out.stderr.contains("cannot reach the node"), "{out:?}");
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
    let out = admin_in(empty.path(), empty.path(), &["cluster", "show"]).await;
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
    let out = admin_in(dir.path(), &data, &["cluster", "show"]).await;
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
    let out = admin_in(dir.path(), &data, &["cluster", "show"]).await;
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
        while let Some(line) = tokio::time::timeout(DEADLINE, lines.next_line())
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
