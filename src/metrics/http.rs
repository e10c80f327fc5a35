//! `http_requests`: the HTTP API's own requests by command (or endpoint path) and status,
//! counted in a fixed table of atomics, so counting takes no lock.

use std::sync::atomic::{AtomicU64, Ordering};

use vmq_actors::metrics::{Families, Kind, Value};

/// The endpoints outside `/api/v1`, as labelled; anything else is `unknown`.
const PATHS: &[&str] = &[
    "/api/v1",
    "/api/v2/client",
    "/api/v2/disconnect",
    "/metrics",
    "/status",
    "/status.json",
    "/health",
    "/health/ping",
    "/health/listeners",
    "/health/listeners_full_cluster",
];

/// Statuses counted by their code; others count as `other`.
const STATUSES: &[u16] = &[
    200, 204, 400, 401, 403, 404, 405, 409, 413, 415, 431, 500, 503,
];

/// Where a request went: an index into the endpoint labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint(usize);

/// Request counts per (endpoint, status).
#[derive(Debug)]
pub struct HttpRequests {
    /// Admin commands (`session show`), then [`PATHS`], then `unknown`.
    labels: Vec<String>,
    commands: usize,
    counts: Vec<AtomicU64>,
}

impl HttpRequests {
    /// Counters for the admin commands at `command_paths` (in the command table's order).
    pub fn new<'a>(command_paths: impl Iterator<Item = &'a [&'a str]>) -> Self {
        let mut labels: Vec<String> = command_paths.map(|path| path.join(" ")).collect();
        let commands = labels.len();
        labels.extend(PATHS.iter().map(|path| (*path).to_owned()));
        labels.push("unknown".to_owned());
        let counts = (0..labels.len() * (STATUSES.len() + 1))
            .map(|_| AtomicU64::new(0))
            .collect();
        Self {
            labels,
            commands,
            counts,
        }
    }

    /// The admin command at `index` of the command table (`None`: no such command).
    pub fn command(&self, index: Option<usize>) -> Endpoint {
        match index {
            Some(index) if index < self.commands => Endpoint(index),
            _ => self.unknown(),
        }
    }

    /// The endpoint serving `path`: `/api/v1` for any command path (until its command is
    /// known), the path itself for the other endpoints, `unknown` for anything else.
    pub fn path(&self, path: &str) -> Endpoint {
        let path = match path.strip_prefix("/api/v1/") {
            Some(_) => "/api/v1",
            None => path,
        };
        PATHS
            .iter()
            .position(|known| *known == path)
            .map_or(self.unknown(), |i| Endpoint(self.commands + i))
    }

    fn unknown(&self) -> Endpoint {
        Endpoint(self.labels.len() - 1)
    }

    /// Counts one request to `endpoint` answered with `status`.
    pub fn count(&self, endpoint: Endpoint, status: u16) {
        let status = STATUSES
            .iter()
            .position(|s| *s == status)
            .unwrap_or(STATUSES.len());
        let index = endpoint.0 * (STATUSES.len() + 1) + status;
        if let Some(counter) = self.counts.get(index) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        for counter in &self.counts {
            counter.store(0, Ordering::Relaxed);
        }
    }

    /// The requests seen so far, one series per (command, status).
    pub fn families(&self) -> Families {
        let mut families = Families::default();
        let spec = (
            "http_requests",
            "The number of HTTP requests answered, by admin command (or endpoint) and status.",
            Kind::Counter,
        );
        let per_endpoint = STATUSES.len() + 1;
        for (index, counter) in self.counts.iter().enumerate() {
            let count = counter.load(Ordering::Relaxed);
            if count == 0 {
                continue;
            }
            let status = STATUSES
                .get(index % per_endpoint)
                .map_or("other".to_owned(), ToString::to_string);
            let labels = vec![
                ("command", self.labels[index / per_endpoint].clone().into()),
                ("status", status.into()),
            ];
            families.push(spec, labels, Value::Int(count));
        }
        families
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_command_and_status() {
        let paths: [&[&str]; 2] = [&["cluster", "show"], &["session", "show"]];
        let requests = HttpRequests::new(paths.into_iter());
        requests.count(requests.command(Some(1)), 200);
        requests.count(requests.command(Some(1)), 200);
        requests.count(requests.command(None), 400);
        requests.count(requests.path("/metrics"), 401);
        requests.count(requests.path("/nope"), 404);
        requests.count(requests.command(Some(0)), 418);
        let families = requests.families().into_vec();
        let series: Vec<(String, String, Value)> = families[0]
            .series
            .iter()
            .map(|s| {
                (
                    s.labels[0].1.to_string(),
                    s.labels[1].1.to_string(),
                    s.value,
                )
            })
            .collect();
        let row = |c: &str, s: &str, n| (c.to_owned(), s.to_owned(), Value::Int(n));
        assert_eq!(
            series,
            [
                row("cluster show", "other", 1),
                row("session show", "200", 2),
                row("/metrics", "401", 1),
                row("unknown", "400", 1),
                row("unknown", "404", 1),
            ]
        );
        requests.reset();
        assert!(requests.families().into_vec().is_empty());
    }
}
