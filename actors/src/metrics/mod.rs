//! The data plane's metrics: relaxed atomics counted where things happen (the MQTT codec for
//! packets and bytes, sessions and the registry for queues and routing), so counting takes no
//! lock. [`Metrics::families`] exports them under VerneMQ's names and labels.
//!
//! A node started with `metrics_enabled = off` counts nothing: every count is then one
//! predictable branch (benchmarks compare the two).

mod catalog;
mod family;
mod packets;

use std::sync::atomic::{AtomicU64, Ordering};

use catalog::{code_name, Protocols, COUNTERS, REASONED, VERSIONED};
pub use catalog::{Counter, Reasoned, Versioned};
pub use family::{Families, Family, Kind, Labels, Series, Value};
pub use packets::{Direction, PacketCount};

/// Codes per reason-coded counter (a reason code is one byte).
const CODES: usize = 256;

/// The data plane's counters.
#[derive(Debug)]
pub struct Metrics {
    enabled: bool,
    counters: [AtomicU64; COUNTERS.len()],
    /// `[mqtt_version 4, mqtt_version 5]`.
    versioned: [[AtomicU64; VERSIONED.len()]; 2],
    /// `CODES` counters per reason-coded family.
    reasoned: Vec<AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(true)
    }
}

fn zeros<const N: usize>() -> [AtomicU64; N] {
    std::array::from_fn(|_| AtomicU64::new(0))
}

fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    /// Counters at zero; with `enabled = false` nothing is ever counted.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            counters: zeros(),
            versioned: [zeros(), zeros()],
            reasoned: (0..REASONED.len() * CODES)
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    /// Whether counting is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Counts one `counter` event.
    pub fn count_one(&self, counter: Counter) {
        self.add(counter, 1);
    }

    /// Counts `n` for `counter`.
    pub fn add(&self, counter: Counter, n: usize) {
        if self.enabled && n > 0 {
            bump(
                &self.counters[counter as usize],
                u64::try_from(n).unwrap_or(u64::MAX),
            );
        }
    }

    /// Counts one `which` event of an MQTT 5 (`v5`) or MQTT 3 connection.
    pub fn count_versioned(&self, which: Versioned, v5: bool) {
        if self.enabled {
            bump(&self.versioned[usize::from(v5)][which as usize], 1);
        }
    }

    /// Counts one `which` packet with reason (or return) `code`.
    pub fn count_reasoned(&self, which: Reasoned, code: u8) {
        if self.enabled {
            bump(
                &self.reasoned[which as usize * CODES + usize::from(code)],
                1,
            );
        }
    }

    /// The value of `counter`.
    pub fn get(&self, counter: Counter) -> u64 {
        self.counters[counter as usize].load(Ordering::Relaxed)
    }

    /// The value of `which`, both protocols summed.
    pub fn get_versioned(&self, which: Versioned) -> u64 {
        self.versioned
            .iter()
            .map(|by_kind| by_kind[which as usize].load(Ordering::Relaxed))
            .sum()
    }

    /// The value of `which` for reason (or return) `code`.
    pub fn get_reasoned(&self, which: Reasoned, code: u8) -> u64 {
        self.reasoned[which as usize * CODES + usize::from(code)].load(Ordering::Relaxed)
    }

    /// Sets every counter back to zero (`metrics reset`).
    pub fn reset(&self) {
        let all = self
            .counters
            .iter()
            .chain(self.versioned.iter().flatten())
            .chain(self.reasoned.iter());
        for counter in all {
            counter.store(0, Ordering::Relaxed);
        }
    }

    /// Every counter as exported, zeros included.
    pub fn families(&self) -> Families {
        let mut families = Families::default();
        for (counter, name, help) in COUNTERS {
            let value = Value::Int(self.get(counter));
            families.single(name, help, Kind::Counter, value);
        }
        for (which, protocols, name, help) in VERSIONED {
            for (v5, version) in [(false, "4"), (true, "5")] {
                if v5 && protocols == Protocols::V4 {
                    continue;
                }
                let value = self.versioned[usize::from(v5)][which as usize].load(Ordering::Relaxed);
                let labels = vec![("mqtt_version", version.into())];
                families.push((name, help, Kind::Counter), labels, Value::Int(value));
            }
        }
        for spec in &REASONED {
            for &code in spec.codes {
                let index = spec.which as usize * CODES + usize::from(code);
                let value = self.reasoned[index].load(Ordering::Relaxed);
                let labels = vec![
                    ("mqtt_version", spec.version.into()),
                    (spec.label, code_name(spec, code).into()),
                ];
                families.push(
                    (spec.name, spec.help, Kind::Counter),
                    labels,
                    Value::Int(value),
                );
            }
        }
        families
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series_value(families: &Families, name: &str, labels: &[(&str, &str)]) -> Option<Value> {
        let family = families.iter().find(|f| f.name == name)?;
        let matches = |s: &&Series| {
            s.labels.len() == labels.len()
                && s.labels
                    .iter()
                    .zip(labels)
                    .all(|((k, v), (lk, lv))| k == lk && v == lv)
        };
        family.series.iter().find(matches).map(|s| s.value)
    }

    #[test]
    fn counts_show_up_under_their_names_and_labels() {
        let metrics = Metrics::default();
        metrics.count_one(Counter::SocketOpen);
        metrics.add(Counter::BytesReceived, 10);
        metrics.count_versioned(Versioned::PublishReceived, false);
        metrics.count_versioned(Versioned::PublishReceived, true);
        metrics.count_versioned(Versioned::PublishReceived, true);
        metrics.count_reasoned(Reasoned::PubackSent, 16);
        metrics.count_reasoned(Reasoned::ConnackSentV4, 5);
        let families = metrics.families();
        assert_eq!(
            series_value(&families, "socket_open", &[]),
            Some(Value::Int(1))
        );
        assert_eq!(
            series_value(&families, "bytes_received", &[]),
            Some(Value::Int(10))
        );
        let received = |v| series_value(&families, "mqtt_publish_received", &[("mqtt_version", v)]);
        assert_eq!(
            (received("4"), received("5")),
            (Some(Value::Int(1)), Some(Value::Int(2)))
        );
        assert_eq!(metrics.get_versioned(Versioned::PublishReceived), 3);
        let puback = [
            ("mqtt_version", "5"),
            ("reason_code", "no_matching_subscribers"),
        ];
        assert_eq!(
            series_value(&families, "mqtt_puback_sent", &puback),
            Some(Value::Int(1))
        );
        let v4 = series_value(&families, "mqtt_puback_sent", &[("mqtt_version", "4")]);
        assert_eq!(v4, Some(Value::Int(0)), "the v4 series shares the family");
        let refused = [("mqtt_version", "4"), ("return_code", "not_authorized")];
        assert_eq!(
            series_value(&families, "mqtt_connack_sent", &refused),
            Some(Value::Int(1))
        );
    }

    #[test]
    fn reset_zeroes_and_disabled_metrics_count_nothing() {
        let metrics = Metrics::default();
        metrics.count_one(Counter::QueueMessageIn);
        metrics.count_versioned(Versioned::ConnectReceived, true);
        metrics.count_reasoned(Reasoned::DisconnectSent, 142);
        metrics.reset();
        let nonzero = |families: Families| {
            families
                .iter()
                .flat_map(|f| f.series.clone())
                .filter(|s| s.value != Value::Int(0))
                .count()
        };
        assert_eq!(nonzero(metrics.families()), 0);
        let off = Metrics::new(false);
        off.count_one(Counter::SocketOpen);
        off.count_versioned(Versioned::PublishSent, false);
        off.count_reasoned(Reasoned::AuthSent, 0);
        assert_eq!(nonzero(off.families()), 0);
        assert!(!off.enabled());
    }
}
