//! The data plane's metrics: relaxed atomics counted where things happen (the MQTT codec for
//! packets and bytes, sessions and the registry for queues and routing), so counting takes no
//! lock. [`Metrics::families`] exports them under VerneMQ's names and labels.
//!
//! A node started with `metrics_enabled = off` counts nothing: every count is then one
//! predictable branch (benchmarks compare the two).

mod catalog;
mod family;
mod packets;
mod reasons;
mod shards;

pub use catalog::{Counter, Versioned};
use catalog::{Protocols, COUNTERS, VERSIONED};
pub use family::{Families, Family, Kind, Labels, Series, Value};
pub use packets::{Direction, PacketCount};
pub use reasons::Reasoned;
use reasons::{code_name, REASONED};
use shards::Sharded;

/// Where the versioned counters start among the slots (after the plain ones).
const VERSIONED_START: usize = COUNTERS.len();
/// Where the reason-coded counters start (after both protocols' versioned ones).
const REASONED_START: usize = VERSIONED_START + 2 * VERSIONED.len();
/// Every counter slot.
const SLOTS: usize = REASONED_START + reasons::SLOTS;

fn versioned_slot(which: Versioned, v5: bool) -> usize {
    VERSIONED_START + usize::from(v5) * VERSIONED.len() + which as usize
}

fn reasoned_slot(which: Reasoned, code: u8) -> Option<usize> {
    reasons::slot(which, code).map(|slot| REASONED_START + slot)
}

/// The data plane's counters.
#[derive(Debug)]
pub struct Metrics {
    enabled: bool,
    counters: Sharded<SLOTS>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(true)
    }
}

impl Metrics {
    /// Counters at zero; with `enabled = false` nothing is ever counted.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            counters: Sharded::default(),
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
            let n = u64::try_from(n).unwrap_or(u64::MAX);
            self.counters.add(counter as usize, n);
        }
    }

    /// Counts one `which` event of an MQTT 5 (`v5`) or MQTT 3 connection.
    pub fn count_versioned(&self, which: Versioned, v5: bool) {
        if self.enabled {
            self.counters.add(versioned_slot(which, v5), 1);
        }
    }

    /// Counts one `which` packet with reason (or return) `code`; a code the packet cannot
    /// carry is not counted.
    pub fn count_reasoned(&self, which: Reasoned, code: u8) {
        if let Some(slot) = reasoned_slot(which, code).filter(|_| self.enabled) {
            self.counters.add(slot, 1);
        }
    }

    /// The value of `counter`.
    pub fn get(&self, counter: Counter) -> u64 {
        self.counters.get(counter as usize)
    }

    /// The value of `which`, both protocols summed.
    pub fn get_versioned(&self, which: Versioned) -> u64 {
        let slots = [versioned_slot(which, false), versioned_slot(which, true)];
        slots.iter().map(|slot| self.counters.get(*slot)).sum()
    }

    /// The value of `which` for reason (or return) `code`.
    pub fn get_reasoned(&self, which: Reasoned, code: u8) -> u64 {
        reasoned_slot(which, code).map_or(0, |slot| self.counters.get(slot))
    }

    /// Sets every counter back to zero (`metrics reset`).
    pub fn reset(&self) {
        self.counters.reset();
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
                let value = self.counters.get(versioned_slot(which, v5));
                let labels = vec![("mqtt_version", version.into())];
                families.push((name, help, Kind::Counter), labels, Value::Int(value));
            }
        }
        for spec in &REASONED {
            for &code in spec.codes {
                let value = self.get_reasoned(spec.which, code);
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
