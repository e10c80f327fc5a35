//! The built binaries as child processes: `vmq-node` under a guard that kills and reaps it on drop, its stderr lines read with a deadline, and the `vmq-admin` runner with its exit-code checks.

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::support::TestNode;

/// How long a process may take to start, fail, answer or stop on a loaded machine.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// A bootstrap key (`DOCKER_VERNEMQ_API_KEY`) so that a started binary can be asked something.
pub const KEY: &str = "binariesTestKey0123456789abcdefXY";

/// What a run printed and how it ended (`code` is `None` when a signal ended it).
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// `vmq-node` in `cwd` with a clean environment: no inherited `DOCKER_VERNEMQ_*`, info logs
/// without colours.
pub fn vmq_node(cwd: &Path) -> Command {
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

/// `vmq-node --config <config>` in `cwd`.
pub fn vmq_node_with_config(cwd: &Path, config: &Path) -> Command {
    let mut command = vmq_node(cwd);
    command.arg("--config").arg(config);
    command
}

/// Writes `text` as `vernemq.conf` in `dir`; returns the file's path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("vernemq.conf");
    std::fs::write(&path, text).expect("write config");
    path
}

/// The config of a serving node: its data in `data`, one HTTP and one MQTT listener on port 0.
pub fn serving_config(data: &Path) -> String {
    format!(
        "platform_data_dir = {}\nlistener.http.default = 127.0.0.1:0\nlistener.tcp.default = 127.0.0.1:0\nlistener.vmq.clustering = 127.0.0.1:0\n",
        data.display()
    )
}

/// A child process that is killed and reaped when this is dropped, even if the test failed.
/// The temp dir (config, data) outlives the process.
pub struct Guard {
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
    pub fn wait_exit(&mut self) -> ExitStatus {
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

fn read_all(stream: impl std::io::Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stream).read_to_string(&mut text);
        text
    })
}

/// Runs `command` to its end (killing it after `DEADLINE`).
pub fn run_to_exit(mut command: Command) -> Finished {
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

/// A `vmq-node` serving in the background, its stderr lines arriving on a channel.
pub struct Running {
    guard: Guard,
    lines: Receiver<String>,
    seen: Vec<String>,
    pub data_dir: PathBuf,
}

impl Running {
    /// Starts `vmq-node --config` with `platform_data_dir = <tmp>/<data_subdir>`.
    pub fn start(data_subdir: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join(data_subdir);
        Self::start_in(dir, &data_dir)
    }

    /// Starts `vmq-node` with its config in `dir` and its data in `data_dir`.
    pub fn start_in(dir: TempDir, data_dir: &Path) -> Self {
        Self::start_with(dir, data_dir, "")
    }

    /// [`Self::start_in`] with `extra` config lines after the serving config.
    pub fn start_with(dir: TempDir, data_dir: &Path, extra: &str) -> Self {
        Self::start_with_env(dir, data_dir, extra, &[])
    }

    /// [`Self::start_with`] with `env` variables set for the process.
    pub fn start_with_env(
        dir: TempDir,
        data_dir: &Path,
        extra: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let data_dir = data_dir.to_path_buf();
        let text = format!("{}{extra}\n", serving_config(&data_dir));
        let path = write_config(dir.path(), &text);
        let mut command = vmq_node_with_config(dir.path(), &path);
        command
            .env("DOCKER_VERNEMQ_API_KEY", KEY)
            .envs(env.iter().copied())
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
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        self.wait_for_line_since(0, needle)
    }

    /// How many stderr lines were read so far: a mark for `wait_for_line_since`, `seen_since`.
    pub fn mark(&self) -> usize {
        self.seen.len()
    }

    /// The stderr lines read after `mark` (each `wait_*` reads up to the line it returns).
    pub fn seen_since(&self, mark: usize) -> &[String] {
        self.seen.get(mark..).unwrap_or_default()
    }

    /// The first stderr line after `mark` containing `needle`, waiting up to `DEADLINE`.
    pub fn wait_for_line_since(&mut self, mark: usize, needle: &str) -> String {
        if let Some(line) = self.seen_since(mark).iter().find(|l| l.contains(needle)) {
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
    pub fn wait_serving(&mut self) -> SocketAddr {
        let bound = self.wait_for_line("HTTP listener bound");
        self.wait_for_line("node running");
        parse_addr(&bound)
    }

    /// The address logged on the first line containing `needle` (e.g. "cluster listener bound").
    pub fn logged_addr(&mut self, needle: &str) -> SocketAddr {
        parse_addr(&self.wait_for_line(needle))
    }

    /// Sends the signal `name` (`STOP`, `CONT`, …) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.guard.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed: {status}");
    }

    /// Waits (up to `DEADLINE`) for the process to exit by itself; returns its status.
    pub fn wait_exit(&mut self) -> ExitStatus {
        self.guard.wait_exit()
    }

    /// Sends SIGTERM and asserts a clean exit (code 0) within `DEADLINE`.
    pub fn terminate_cleanly(&mut self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.guard.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed: {status}");
        let status = self.guard.wait_exit();
        assert_eq!(
            status.code(),
            Some(0),
            "exit after SIGTERM: {:#?}",
            self.seen
        );
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

/// `vmq-admin` with a clean environment: no `VMQ_DATA_DIR`, run from `cwd` (an empty directory,
/// so that the default `./data` never reaches a real node).
pub fn admin_command(cwd: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_vmq-admin"));
    command
        .env_remove("VMQ_DATA_DIR")
        .current_dir(cwd)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Runs a `vmq-admin` command to its end within `DEADLINE`; it must exit by itself.
pub async fn run_admin(mut command: tokio::process::Command) -> Finished {
    let output = tokio::time::timeout(DEADLINE, command.output())
        .await
        .expect("vmq-admin finished within the deadline")
        .expect("vmq-admin could be run");
    let code = output
        .status
        .code()
        .expect("vmq-admin exited (not killed by a signal)");
    Finished {
        code: Some(code),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// `vmq-admin --data-dir <data> <args…>` run from `cwd`.
pub async fn admin_in(cwd: &Path, data: &Path, args: &[&str]) -> Finished {
    let mut command = admin_command(cwd);
    command.arg("--data-dir").arg(data).args(args);
    run_admin(command).await
}

/// `vmq-admin --data-dir <node's data dir> <args…>`.
pub async fn admin(node: &TestNode, args: &[&str]) -> Finished {
    admin_in(node.dir.path(), &node.data_dir(), args).await
}

/// `vmq-admin <args…>` run from `cwd`, with `VMQ_DATA_DIR` set if `vmq_data_dir` is given.
pub async fn admin_from(cwd: &Path, vmq_data_dir: Option<&Path>, args: &[&str]) -> Finished {
    let mut command = admin_command(cwd);
    if let Some(dir) = vmq_data_dir {
        command.env("VMQ_DATA_DIR", dir);
    }
    command.args(args);
    run_admin(command).await
}

/// Exit 0 and nothing on stderr.
pub fn assert_success(output: &Finished, what: &str) {
    assert_eq!(output.code, Some(0), "{what}: {output:?}");
    assert!(output.stderr.is_empty(), "{what}: {output:?}");
}

/// Exit 1 and nothing on stdout.
pub fn assert_failure(output: &Finished, what: &str) {
    assert_eq!(output.code, Some(1), "{what}: {output:?}");
    assert!(
        output.stdout.is_empty(),
        "{what}: nothing on stdout: {output:?}"
    );
}
