//! The `vmq-node` binary as a real process: `--print-config`, env overrides, config and data errors with their exit codes, start, serve and SIGTERM.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a process may take to start, fail or stop on a loaded machine.
const DEADLINE: Duration = Duration::from_secs(30);
/// A bootstrap key (`DOCKER_VERNEMQ_API_KEY`) so that a started binary can be asked something.
const KEY: &str = "binariesTestKey0123456789abcdefXY";

/// `vmq-node` in `cwd` with a clean environment: no inherited `DOCKER_VERNEMQ_*`, info logs
/// without colours.
fn vmq_node(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vmq-node"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("DOCKER_VERNEMQ_") {
            command.env_remove(name);
        }
    }
    command
        .current_dir(cwd)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A child process that is killed and reaped when this is dropped, even if the test failed.
/// The temp dir (config, data) outlives the process.
struct Guard {
    child: Child,
    _dir: Option<TempDir>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Guard {
    /// Waits for the process to exit, polling until `DEADLINE`.
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the process did not exit within {DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// What a short run printed and how it ended.
#[derive(Debug)]
struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn read_all(stream: impl std::io::Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stream).read_to_string(&mut text);
        text
    })
}

/// Runs `command` to its end (killing it after `DEADLINE`).
fn run_to_exit(mut command: Command) -> Finished {
    let mut child = command.spawn().expect("vmq-node starts");
    let stdout = read_all(child.stdout.take().expect("stdout piped"));
    let stderr = read_all(child.stderr.take().expect("stderr piped"));
    let mut guard = Guard { child, _dir: None };
    let status = guard.wait_exit();
    Finished {
        code: status.code(),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// A temp dir holding `vernemq.conf` with `text`; returns the dir and the file's path.
fn config_file(text: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("vernemq.conf");
    std::fs::write(&path, text).expect("write config");
    (dir, path)
}

/// Runs `vmq-node --config <text>` with extra env vars to its end.
fn run_config(text: &str, env: &[(&str, &str)]) -> Finished {
    let (dir, path) = config_file(text);
    let mut command = vmq_node(dir.path());
    command.arg("--config").arg(&path).envs(env.iter().copied());
    run_to_exit(command)
}

/// A `vmq-node` serving in the background, its stderr lines arriving on a channel.
struct Running {
    guard: Guard,
    lines: Receiver<String>,
    seen: Vec<String>,
    data_dir: PathBuf,
}

impl Running {
    /// Starts `vmq-node --config` with `platform_data_dir = <tmp>/<data_subdir>`.
    fn start(data_subdir: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join(data_subdir);
        Self::start_in(dir, &data_dir)
    }

    /// Starts `vmq-node` with its config in `dir` and its data in `data_dir`.
    fn start_in(dir: TempDir, data_dir: &Path) -> Self {
        let data_dir = data_dir.to_path_buf();
        let text = format!(
            "platform_data_dir = {}\nlistener.http.default = 127.0.0.1:0\nlistener.tcp.default = 127.0.0.1:0\n",
            data_dir.display()
        );
        let path = dir.path().join("vernemq.conf");
        std::fs::write(&path, text).expect("write config");
        let mut command = vmq_node(dir.path());
        command
            .arg("--config")
            .arg(&path)
            .env("DOCKER_VERNEMQ_API_KEY", KEY)
            .stdout(Stdio::null());
        let mut child = command.spawn().expect("vmq-node starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(strip_ansi(&line)).is_err() {
                    break;
                }
            }
        });
        Self {
            guard: Guard {
                child,
                _dir: Some(dir),
            },
            lines,
            seen: Vec::new(),
            data_dir,
        }
    }

    /// The first stderr line (from the start) containing `needle`, waiting up to `DEADLINE`.
    fn wait_for_line(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no stderr line with {needle:?} within {DEADLINE:?}: {:#?}",
                        self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "vmq-node closed stderr before logging {needle:?} (status {:?}): {:#?}",
                    self.guard.child.try_wait(),
                    self.seen
                ),
            }
        }
    }

    /// Waits until the node is serving and returns its HTTP address (from the log).
    fn wait_serving(&mut self) -> SocketAddr {
        let bound = self.wait_for_line("HTTP listener bound");
        self.wait_for_line("node running");
        parse_addr(&bound)
    }

    /// Sends SIGTERM.
    fn terminate(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.guard.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed: {status}");
    }
}

/// Removes ANSI colour sequences (in case the logger colours despite `NO_COLOR`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `addr=127.0.0.1:PORT` from a log line.
fn parse_addr(line: &str) -> SocketAddr {
    let start = line.find("addr=").expect("the line has addr=") + "addr=".len();
    let text: String = line[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    text.parse()
        .unwrap_or_else(|e| panic!("bad addr {text:?} in {line:?}: {e}"))
}

/// A curl-like `GET` with the bootstrap key: (status, body).
fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, DEADLINE).expect("connect");
    stream
        .set_read_timeout(Some(DEADLINE))
        .expect("read timeout");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nx-api-key: {KEY}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("write request");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read response");
    let text = String::from_utf8(response).expect("UTF-8 response");
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
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
    let mut command = vmq_node(dir.path());
    command.arg("--print-config");
    let run = run_to_exit(command);
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
    let mut command = vmq_node(dir.path());
    command
        .arg("--print-config")
        .env("DOCKER_VERNEMQ_LISTENER__HTTP__DEFAULT", "127.0.0.1:9999")
        .env("DOCKER_VERNEMQ_MIN_APIKEY_LENGTH", "20");
    let run = run_to_exit(command);
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
    let (dir, path) = config_file("listener.http.default = 127.0.0.1:7777\n");
    let mut command = vmq_node(dir.path());
    command
        .arg("--config")
        .arg(&path)
        .arg("--print-config")
        .env("DOCKER_VERNEMQ_LISTENER__HTTP__DEFAULT", "127.0.0.1:9999");
    let run = run_to_exit(command);
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
    let (dir, path) = config_file("min_apikey_length = 12\nlistener.http.admin = 127.0.0.1:0\n");
    let mut command = vmq_node(dir.path());
    command.arg("--config").arg(&path).arg("--print-config");
    let first = run_to_exit(command);
    assert_eq!(first.code, Some(0), "{first:?}");
    let (dir2, path2) = config_file(&first.stdout);
    let mut command = vmq_node(dir2.path());
    command.arg("--config").arg(&path2).arg("--print-config");
    let second = run_to_exit(command);
    assert_eq!(second.code, Some(0), "{second:?}");
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn an_unknown_key_exits_78_naming_the_key_and_line() {
    let run = run_config(
        "## a comment\nnodename = VerneMQ@127.0.0.1\nno_such_key = 1\n",
        &[],
    );
    assert_config_error(&run, &["line 3", "no_such_key", "vernemq.conf"]);
}

#[test]
fn a_malformed_value_exits_78_naming_the_key_and_line() {
    let run = run_config(
        "nodename = VerneMQ@127.0.0.1\nlistener.http.default = not-an-address\n",
        &[],
    );
    assert_config_error(&run, &["line 2", "listener.http.default", "not-an-address"]);

    let run = run_config("min_apikey_length = many\n", &[]);
    assert_config_error(&run, &["line 1", "min_apikey_length"]);

    let run = run_config("this is not a config line\n", &[]);
    assert_config_error(&run, &["line 1"]);
}

#[test]
fn an_unknown_docker_vernemq_variable_exits_78_naming_it() {
    let run = run_config("", &[("DOCKER_VERNEMQ_FOO", "1")]);
    assert_config_error(&run, &["DOCKER_VERNEMQ_FOO"]);

    let run = run_config("", &[("DOCKER_VERNEMQ_LISTENER__HTTP__DEFAULT", "nowhere")]);
    assert_config_error(&run, &["DOCKER_VERNEMQ_LISTENER__HTTP__DEFAULT", "nowhere"]);
}

#[test]
fn a_missing_config_file_exits_78() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-such.conf");
    let mut command = vmq_node(dir.path());
    command.arg("--config").arg(&missing);
    let run = run_to_exit(command);
    assert_config_error(&run, &[&missing.display().to_string()]);

    let mut command = vmq_node(dir.path());
    command.arg(format!("--config={}", missing.display()));
    let run = run_to_exit(command);
    assert_config_error(&run, &["no-such.conf"]);
}

#[test]
fn bad_command_line_arguments_exit_64_with_the_usage() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = vmq_node(dir.path());
    command.arg("--bogus");
    let run = run_to_exit(command);
    assert_eq!(run.code, Some(64), "{run:?}");
    assert!(run.stderr.contains("Usage: vmq-node"), "{run:?}");

    let mut command = vmq_node(dir.path());
    command.arg("--help");
    let run = run_to_exit(command);
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
    let (dir, path) = config_file("");
    let data = dir.path().join("data");
    let text = format!(
        "platform_data_dir = {}\nlistener.http.alpha = 127.0.0.1:0\nlistener.http.busy = 127.0.0.1:{port}\n",
        data.display()
    );
    std::fs::write(&path, text).expect("write config");
    let mut command = vmq_node(dir.path());
    command.arg("--config").arg(&path);
    let run = run_to_exit(command);
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
    assert_eq!(
        body,
        r#"{"table":[{"Node":"VerneMQ@127.0.0.1","Running":true}],"type":"table"}"#
    );
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
        r#"{"table":[{"Node":"VerneMQ@127.0.0.1","Running":true}],"type":"table"}"#.to_owned()
            + "\n"
    );

    node.terminate();
    let status = node.guard.wait_exit();
    assert_eq!(
        status.code(),
        Some(0),
        "exit after SIGTERM: {:#?}",
        node.seen
    );
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

    node.terminate();
    let status = node.guard.wait_exit();
    assert_eq!(
        status.code(),
        Some(0),
        "exit after SIGTERM: {:#?}",
        node.seen
    );
}

#[test]
fn a_second_process_on_the_same_data_dir_exits_non_zero() {
    let mut first = Running::start("data");
    let addr = first.wait_serving();

    let (dir, path) = config_file("");
    let text = format!(
        "platform_data_dir = {}\nlistener.http.default = 127.0.0.1:0\nlistener.tcp.default = 127.0.0.1:0\n",
        first.data_dir.display()
    );
    std::fs::write(&path, text).expect("write config");
    let mut command = vmq_node(dir.path());
    command.arg("--config").arg(&path);
    let second = run_to_exit(command);
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
    let path = dir.path().join("vernemq.conf");
    let text = format!(
        "platform_data_dir = {}\nlistener.http.default = 127.0.0.1:0\nlistener.tcp.default = 127.0.0.1:0\n",
        data.display()
    );
    std::fs::write(&path, text).expect("write config");
    let mut command = vmq_node(dir.path());
    command.arg("--config").arg(&path);
    let run = run_to_exit(command);
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
