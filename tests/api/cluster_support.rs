//! Clusters of real `vmq-node` processes for the multi-node tests: a [`Member`] is one node
//! process with the addresses it logged, and the calls the tests make on it.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::process::{Running, DEADLINE, KEY};
use crate::raw::blocking_get;
use crate::support::DONE;

/// How long a silent member may take to show `Running = false` (the bound).
pub const DOWN_WITHIN: Duration = Duration::from_secs(10);

/// A node process and the addresses it logged.
pub struct Member {
    /// The name before `@127.0.0.1`.
    pub name: String,
    /// The process.
    pub process: Running,
    /// Its HTTP listener.
    pub http: SocketAddr,
    /// Its MQTT listener.
    pub mqtt: SocketAddr,
    /// Its cluster listener.
    pub cluster: SocketAddr,
}

impl Member {
    /// Starts `name@127.0.0.1` with its data in `root/<name>` and `extra` config lines.
    pub fn start(root: &Path, name: &str, extra: &str) -> Self {
        Self::start_with_env(root, name, extra, &[])
    }

    /// [`Self::start`] with `env` variables set for the process.
    pub fn start_with_env(root: &Path, name: &str, extra: &str, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("config dir");
        let config = format!("nodename = {name}@127.0.0.1\n{extra}");
        let mut process = Running::start_with_env(dir, &root.join(name), &config, env);
        let cluster = process.logged_addr("cluster listener bound");
        let mqtt = process.logged_addr("MQTT listener bound");
        let http = process.wait_serving();
        Self {
            name: name.to_owned(),
            process,
            http,
            mqtt,
            cluster,
        }
    }

    pub fn node(&self) -> String {
        format!("{}@127.0.0.1", self.name)
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        blocking_get(self.http, path, KEY, DEADLINE)
    }

    /// The sum of the series of `/metrics` counter `name` (without the `vernemq_` prefix).
    pub fn counter(&self, name: &str) -> f64 {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200, "{body}");
        let lines = body.lines().map(|line| Ok(line.to_owned()));
        let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text");
        let name = format!("vernemq_{name}");
        let samples = scrape.samples.iter().filter(|s| s.metric == name);
        samples.map(crate::metrics::value).sum()
    }

    /// `cluster join discovery-node=<other>` with its real cluster port.
    pub fn join(&self, other: &Member) -> (u16, String) {
        let port = other.cluster.port();
        self.get(&format!(
            "/api/v1/cluster/join?discovery-node={}:{port}",
            other.node()
        ))
    }

    /// `cluster show` as (node, running) pairs.
    pub fn show(&self) -> Vec<(String, bool)> {
        let (status, body) = self.get("/api/v1/cluster/show");
        assert_eq!(status, 200, "{body}");
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        json["table"]
            .as_array()
            .expect("a table")
            .iter()
            .map(|row| {
                let node = row["Node"].as_str().expect("Node").to_owned();
                (node, row["Running"].as_bool().expect("Running"))
            })
            .collect()
    }

    /// Polls `cluster show` until it is `expected`; panics after `within`.
    pub fn wait_show(&self, expected: &[(String, bool)], within: Duration) -> Duration {
        let start = Instant::now();
        loop {
            let shown = self.show();
            if shown == expected {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < within,
                "{} shows {shown:?}, not {expected:?}, after {within:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// An MQTT CONNECT gets a CONNACK: the node still serves MQTT.
    pub fn serves_mqtt(&self) {
        let mut stream = TcpStream::connect(self.mqtt).expect("mqtt connect");
        stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
        // CONNECT, MQTT 3.1.1, clean session, keep-alive 60, client id "c".
        let connect = [
            0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 1, b'c',
        ];
        stream.write_all(&connect).expect("send CONNECT");
        let mut connack = [0u8; 4];
        stream.read_exact(&mut connack).expect("a CONNACK");
        assert_eq!(connack[0], 0x20, "CONNACK from {}", self.name);
    }
}

pub fn all(members: &[&Member], running: bool) -> Vec<(String, bool)> {
    members.iter().map(|m| (m.node(), running)).collect()
}

/// Joins the second and third member to the first; returns them once each shows all three
/// running.
pub fn joined(members: [Member; 3]) -> [Member; 3] {
    let [n1, n2, n3] = &members;
    assert_eq!(n2.join(n1), (200, DONE.to_owned()));
    assert_eq!(n3.join(n1), (200, DONE.to_owned()));
    let everyone = all(&[n1, n2, n3], true);
    for member in &members {
        member.wait_show(&everyone, DEADLINE);
    }
    members
}

/// Three members `<prefix>1`…`<prefix>3` with `extra` config lines, [`joined`].
pub fn three_joined(root: &Path, prefix: &str, extra: &str) -> [Member; 3] {
    joined([1, 2, 3].map(|n| Member::start(root, &format!("{prefix}{n}"), extra)))
}
