//! The `vmq-node` binary as a real process: `--print-config`, env overrides, config and data errors with their exit codes, start, serve and SIGTERM.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::process::{
    run_to_exit, serving_config, vmq_node, vmq_node_with_config, write_config, Finished, Running,
    DEADLINE, KEY,
};
use crate::raw::blocking_get;
use crate::support::CLUSTER_SHOW;

/// `vmq-node <args…>` in `cwd` with extra env vars, to its end.
fn run_args(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut command = vmq_node(cwd);
    command.args(args).envs(env.iter().copied());
    run_to_exit(command)
}

/// `vmq-node --config <a file holding text> <args…>` with extra env vars, to its end.
fn run_config(text: &str, args: &[&str], env: &[(&str, &str)]) -> Finished {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_config(dir.path(), text);
    let mut command = vmq_node_with_config(dir.path(), &path);
    command.args(args).envs(env.iter().copied());
    run_to_exit(command)
}

/// A `GET` with the bootstrap key: (status, body).
fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    blocking_get(addr, path, KEY, DEADLINE)
}

fn assert_config_error(run: &Finished, needles: &[&str]) {
    assert_eq!(run.code, Some(78), "{run:?}");
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "stderr names {needle:?}: {run:?}"
        );
    }
}

#[test]
fn print_config_prints_the_embedded_defaults() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = run_args(dir.path(), &["--print-config"], &[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    for line in [
        "listener.http.default = 127.0.0.1:8888",
        "nodename = VerneMQ@127.0.0.1",
        "platform_data_dir = ./data",
    ] {
        assert!(lines.contains(&line), "{line:?} in {run:?}");
    }
    // Printing the config starts nothing: no data dir was created.
    assert!(
        !dir.path().join("data").exists(),
        "--print-config created ./data"
    );
}

#[test]
fn env_overrides_show_in_print_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let listener = ("DOCKER_VERNEMQ_LISTENER__HTTP__DEFAULT", "127.0.0.1:9999");
    let env = [listener, ("DOCKER_VERNEMQ_MIN_APIKEY_LENGTH", "20")];
    let run = run_args(dir.path(), &["--print-config"], &env);
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines.contains(&"listener.http.default = 127.0.0.1:9999"),
        "{run:?}"
    );
    assert!(
        !lines.contains(&"listener.http.default = 127.0.0.1:8888"),
        "{run:?}"
    );
    assert!(lines.contains(&"min_apikey_length = 20"), "{run:?}");

    // The environment wins over the file.
    let file = "listener.http.default = 127.0.0.1:7777\n";
    let run = run_config(file, &["--print-config"], &[listener]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout
            .lines()
            .any(|l| l == "listener.http.default = 127.0.0.1:9999"),
        "{run:?}"
    );
}

#[test]
fn print_config_output_reads_back_as_the_same_config() {
    let text = "min_apikey_length = 12\nlistener.http.admin = 127.0.0.1:0\n";
    let first = run_config(text, &["--print-config"], &[]);
    assert_eq!(first.code, Some(0), "{first:?}");
    let second = run_config(&first.stdout, &["--print-config"], &[]);
    assert_eq!(second.code, Some(0), "{second:?}");
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn an_unknown_key_exits_78_naming_the_key_and_line() {
    let run = run_config(
        "## a comment\nnodename = VerneMQ@127.0.0.1\nno_such_key = 1\n",
        &[],
        &[],
    );
    assert_config_error(&run, &["line 3", "no_such_key", "vernemq.conf"]);
}

#[test]
fn a_malformed_value_exits_78_naming_the_key_and_line() {
    let run = run_config(
        "nodename = VerneMQ@127.0.0.1\nlistener.http.default = not-an-address\n",
        &[],
        &[],
    );
    assert_config_error(&run, &["line 2", "listener.http.default", "not-an-address"]);

    let run = run_config("min_apikey_length = many\n", &[], &[]);
    assert_config_error(&run, &["line 1", "min_apikey_length"]);

    let run = run_config("this is not a config line\n", &[], &[]);
    assert_config_error(&run, &["line 1"]);
}

#[test]
fn an_unknown_docker_vernemq_variable_exits_78_naming_it() {
    let run = run_config("", &[], &[("DOCKER_VERNEMQ_FOO", "1")]);
    assert_config_error(&run, &["DOCKER_VERNEMQ_FOO"]);

    let run = run_config(
        "",
        &[],
        &[("DOCKER_VERNEMQ_LISTENER__HTTP__DEFAULT", "nowhere")],
    );
    assert_config_error(&run, &["DOCKER_VERNEMQ_LISTENER__HTTP__DEFAULT", "nowhere"]);
}

#[test]
fn a_missing_config_file_exits_78() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-such.conf");
    let run = run_to_exit(vmq_node_with_config(dir.path(), &missing));
    assert_config_error(&run, &[&missing.display().to_string()]);

    let flag = format!("--config={}", missing.display());
    let run = run_args(dir.path(), &[&flag], &[]);
    assert_config_error(&run, &["no-such.conf"]);
}

#[test]
fn bad_command_line_arguments_exit_64_with_the_usage() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = run_args(dir.path(), &["--bogus"], &[]);
    assert_eq!(run.code, Some(64), "{run:?}");
    assert!(run.stderr.contains("Usage: vmq-node"), "{run:?}");

    let run = run_args(dir.path(), &["--help"], &[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains("Usage: vmq-node"),
        "{run:?}"
    );
}

#[test]
fn an_address_in_use_exits_78_naming_the_listener() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind a port to occupy");
    let port = taken.local_addr().expect("local addr").port();
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let text = format!(
        "platform_data_dir = {}\nlistener.tcp.default = 127.0.0.1:0\nlistener.http.alpha = 127.0.0.1:0\nlistener.http.busy = 127.0.0.1:{port}\n",
        data.display()
    );
    let path = write_config(dir.path(), &text);
    let run = run_to_exit(vmq_node_with_config(dir.path(), &path));
    assert_config_error(&run, &["listener.http.busy", &port.to_string()]);
    // It stopped before serving: no admin socket was left behind.
    assert!(!data.join("vmq-admin.sock").exists(), "{run:?}");
    // The occupied port is still ours.
    assert_eq!(taken.local_addr().expect("still bound").port(), port);
}

#[test]
fn starts_serves_and_stops_cleanly_on_sigterm() {
    // A data dir two levels below one that exists: the node creates it.
    let mut node = Running::start("missing/data");
    let addr = node.wait_serving();
    assert!(node.data_dir.is_dir(), "platform_data_dir was created");
    let socket = node.data_dir.join("vmq-admin.sock");
    assert!(socket.exists(), "admin socket {socket:?}");

    let (status, body) = http_get(addr, "/api/v1/cluster/show");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, CLUSTER_SHOW);
    let (status, body) = http_get(addr, "/health");
    assert_eq!(status, 200, "{body}");

    // The CLI reaches the real process too.
    let cli = Command::new(env!("CARGO_BIN_EXE_vmq-admin"))
        .arg("--data-dir")
        .arg(&node.data_dir)
        .args(["cluster", "show", "--format=json"])
        .env_remove("VMQ_DATA_DIR")
        .output()
        .expect("vmq-admin runs");
    assert_eq!(cli.status.code(), Some(0), "{cli:?}");
    assert_eq!(
        String::from_utf8_lossy(&cli.stdout),
        CLUSTER_SHOW.to_owned() + "\n"
    );

    node.terminate_cleanly();
    assert!(!socket.exists(), "the admin socket is removed on shutdown");
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
        "nothing listens on {addr} after the exit"
    );
}

#[test]
fn sigterm_while_a_client_is_connected_still_exits() {
    let mut node = Running::start("data");
    let addr = node.wait_serving();
    // An idle keep-alive connection after one request must not hold the shutdown forever.
    let mut idle = TcpStream::connect_timeout(&addr, DEADLINE).expect("connect");
    idle.write_all(format!("GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .expect("write");
    let mut buf = [0u8; 12];
    idle.set_read_timeout(Some(DEADLINE)).expect("read timeout");
    idle.read_exact(&mut buf).expect("a response");
    assert_eq!(&buf, b"HTTP/1.1 200");

    node.terminate_cleanly();
}

#[test]
fn a_second_process_on_the_same_data_dir_exits_non_zero() {
    let mut first = Running::start("data");
    let addr = first.wait_serving();

    let second = run_config(&serving_config(&first.data_dir), &[], &[]);
    assert_ne!(second.code, Some(0), "{second:?}");
    assert!(second.code.is_some(), "exited by itself: {second:?}");
    assert!(second.stderr.contains("another node"), "{second:?}");

    // The first one still serves, CLI socket included.
    let (status, _) = http_get(addr, "/api/v1/cluster/show");
    assert_eq!(status, 200);
    assert!(first.data_dir.join("vmq-admin.sock").exists());
}

#[test]
fn a_corrupt_api_key_file_stops_the_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let keys = data.join("api_keys.json");
    let corrupt = "{not json";
    std::fs::write(&keys, corrupt).expect("write api_keys.json");
    let path = write_config(dir.path(), &serving_config(&data));
    let run = run_to_exit(vmq_node_with_config(dir.path(), &path));
    assert_eq!(run.code, Some(65), "{run:?}");
    assert!(run.stderr.contains("api_keys.json"), "{run:?}");
    // The file is left as it was for the operator to repair, not replaced by an empty vault.
    assert_eq!(
        std::fs::read_to_string(&keys).expect("still there"),
        corrupt
    );
    // A later start (with the file repaired) is not blocked by anything this one left.
    std::fs::remove_file(&keys).expect("move the file away");
    let mut node = Running::start_in(dir, &data);
    node.wait_serving();
}
