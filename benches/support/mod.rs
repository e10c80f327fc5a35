//! What the MQTT benches share: brokers as child processes (the built `vmq-node`, Debian's
//! `mosquitto` when installed), their resident memory, medians, and the raw MQTT wire helpers of
//! the integration tests.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tempfile::TempDir;

#[path = "../../tests/api/mqtt_wire.rs"]
pub mod wire;

/// Where Debian installs mosquitto (`apt-get install mosquitto`).
pub const MOSQUITTO: &str = "/usr/sbin/mosquitto";
/// How long a broker may take to start on a loaded machine.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// A broker process, killed and reaped on drop; its temp dir (config, data) outlives it.
pub struct Broker {
    pub name: &'static str,
    pub addr: SocketAddr,
    /// Its cluster listener (`vmq-node` only).
    pub cluster: Option<SocketAddr>,
    child: Child,
    _dir: TempDir,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Broker {
    /// The built `vmq-node` (release under `cargo bench`) with an MQTT listener on port 0; the
    /// bound port is read from its log.
    pub fn node() -> Self {
        Self::node_with("vmq-node", "")
    }

    /// The built `vmq-node`, called `name` in reports, with `extra` config lines.
    pub fn node_with(name: &'static str, extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("vernemq.conf");
        let text = format!(
            "platform_data_dir = {}\nlistener.tcp.default = 127.0.0.1:0\nlistener.http.default = 127.0.0.1:0\nlistener.vmq.clustering = 127.0.0.1:0\n{extra}",
            dir.path().join("data").display()
        );
        std::fs::write(&config, text).expect("write the node config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_vmq-node"))
            .arg("--config")
            .arg(&config)
            .current_dir(dir.path())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("vmq-node starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, lines) = mpsc::channel();
        // Reads the log for the bound port, then keeps draining it so the node never blocks.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut cluster = None;
        let addr = loop {
            let line = lines
                .recv_timeout(START_DEADLINE)
                .expect("vmq-node logs its MQTT listener");
            if line.contains("cluster listener bound") {
                cluster = Some(parse_addr(&line));
            }
            if line.contains("MQTT listener bound") {
                break parse_addr(&line);
            }
        };
        let broker = Self {
            name,
            addr,
            cluster,
            child,
            _dir: dir,
        };
        broker.wait_ready();
        broker
    }

    /// Debian's mosquitto on a free loopback port, if it is installed.
    pub fn mosquitto() -> Option<Self> {
        if !Path::new(MOSQUITTO).exists() {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let config = dir.path().join("mosquitto.conf");
        let text = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n"
        );
        std::fs::write(&config, text).expect("write the mosquitto config");
        let child = Command::new(MOSQUITTO)
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        let broker = Self {
            name: "mosquitto",
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            cluster: None,
            child,
            _dir: dir,
        };
        broker.wait_ready();
        Some(broker)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the broker process (`VmRSS` in `/proc/<pid>/status`), in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("the broker's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a VmRSS line in kB")
    }

    /// CPU time the broker has used (user + system), in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .expect("the broker's /proc stat");
        // Fields after the command name (which may hold spaces): state is field 3, utime 14.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        after_name
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|field| field.parse::<u64>().ok())
            .sum()
    }

    /// Waits (up to `START_DEADLINE`) until the broker stops burning CPU, so that work left over
    /// from one round (queues draining) does not slow the next one down.
    pub fn settle(&self) {
        let deadline = Instant::now() + START_DEADLINE;
        let mut last = self.cpu_ticks();
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
            let now = self.cpu_ticks();
            // Under 5 % of one core: a tick is 10 ms.
            if now - last < 1 {
                return;
            }
            last = now;
        }
    }

    /// Polls an MQTT handshake until the broker accepts one.
    fn wait_ready(&self) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let deadline = Instant::now() + START_DEADLINE;
        runtime.block_on(async {
            loop {
                if let Ok(mut wire) = wire::Wire::connect(self.addr).await {
                    let ready = wire.handshake(4, "ready", Duration::from_secs(1)).await;
                    if ready.is_ok() {
                        return;
                    }
                }
                assert!(
                    Instant::now() < deadline,
                    "{} did not accept a CONNECT within {START_DEADLINE:?}",
                    self.name
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }
}

/// A port that was free a moment ago (for brokers that cannot report a bound port 0).
fn free_port() -> u16 {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    socket.local_addr().expect("local addr").port()
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

/// The middle value (the upper one of an even count); 0 for none.
pub fn median<T: Copy + PartialOrd + Default>(mut values: Vec<T>) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values.get(values.len() / 2).copied().unwrap_or_default()
}

/// Whether the bench runs for real (`cargo bench` passes `--bench`) rather than as a smoke test
/// under `cargo test --benches`.
pub fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}
