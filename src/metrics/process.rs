//! Process metrics read from `/proc/self` (Prometheus' usual `process_*` names): resident and
//! virtual memory, CPU seconds, open and maximum file descriptors, start time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use vmq_actors::metrics::{Families, Kind, Value};

/// Linux reports CPU time in clock ticks of `USER_HZ`, which is 100 on every architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// How often the open file descriptors are counted.
const FD_REFRESH: Duration = Duration::from_secs(5);

/// The number of open file descriptors, counted in the background: listing `/proc/self/fd`
/// costs about a microsecond per descriptor, too much for every scrape of a node holding
/// 10 000 connections.
#[derive(Debug)]
pub struct OpenFds(AtomicU64);

impl Default for OpenFds {
    fn default() -> Self {
        Self(AtomicU64::new(u64::MAX))
    }
}

impl OpenFds {
    /// Counts them now (blocking: a directory listing).
    fn refresh(&self) {
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            let open = u64::try_from(entries.count()).unwrap_or(u64::MAX - 1);
            self.0.store(open, Ordering::Relaxed);
        }
    }

    /// The last count, if there was one.
    fn get(&self) -> Option<u64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|n| *n != u64::MAX)
    }

    /// Counts every [`FD_REFRESH`] on a blocking thread until `stop` turns true.
    pub fn keep_counting(self: &Arc<Self>, mut stop: watch::Receiver<bool>) {
        let fds = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FD_REFRESH);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let fds = Arc::clone(&fds);
                        let _ = tokio::task::spawn_blocking(move || fds.refresh()).await;
                    }
                    () = crate::accept::stopped(&mut stop) => break,
                }
            }
        });
    }
}

/// The process figures now; what `/proc` does not have (another OS) is left out.
pub fn families(started: SystemTime, fds: &OpenFds) -> Families {
    let mut families = Families::default();
    let mut gauge = |name, help, value| families.single(name, help, Kind::Gauge, value);
    if let Some(status) = read("/proc/self/status") {
        if let Some(kib) = status_kib(&status, "VmRSS:") {
            gauge(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                Value::Int(kib * 1024),
            );
        }
        if let Some(kib) = status_kib(&status, "VmSize:") {
            gauge(
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                Value::Int(kib * 1024),
            );
        }
    }
    if let Some(open) = fds.get() {
        gauge(
            "process_open_fds",
            "Number of open file descriptors (counted every 5 s).",
            Value::Int(open),
        );
    }
    if let Some(max) = read("/proc/self/limits").and_then(|l| max_open_files(&l)) {
        gauge(
            "process_max_fds",
            "Maximum number of open file descriptors.",
            Value::Int(max),
        );
    }
    let start = started.duration_since(UNIX_EPOCH).unwrap_or_default();
    gauge(
        "process_start_time_seconds",
        "Start time of the node since the Unix epoch in seconds.",
        Value::Float(start.as_secs_f64()),
    );
    if let Some(seconds) = read("/proc/self/stat").and_then(|s| cpu_seconds(&s)) {
        families.single(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            Kind::Counter,
            Value::Float(seconds),
        );
    }
    families
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// A `Name:   123 kB` line of `/proc/self/status`.
fn status_kib(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

/// The soft limit of `Max open files` in `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<u64> {
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// utime + stime of `/proc/self/stat` (fields 14 and 15; the command name in parentheses may
/// contain spaces, so fields are counted after its closing parenthesis).
fn cpu_seconds(stat: &str) -> Option<f64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    #[allow(clippy::cast_precision_loss)]
    Some((user + system) as f64 / TICKS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_parsed() {
        assert_eq!(
            status_kib("Name:\tx\nVmRSS:\t  2048 kB\n", "VmRSS:"),
            Some(2048)
        );
        assert_eq!(status_kib("Name:\tx\n", "VmRSS:"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024));
        let stat = "42 (vmq node) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0";
        assert_eq!(cpu_seconds(stat), Some(3.0));
    }

    #[test]
    fn this_process_has_figures() {
        let fds = OpenFds::default();
        assert!(fds.get().is_none(), "not counted yet");
        fds.refresh();
        assert!(
            fds.get().is_some_and(|n| n >= 3),
            "stdin, stdout, stderr at least"
        );
        let families = families(SystemTime::now(), &fds).into_vec();
        let names: Vec<&str> = families.iter().map(|f| f.name).collect();
        for name in [
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_cpu_seconds_total",
        ] {
            assert!(names.contains(&name), "{names:?}");
        }
    }
}
