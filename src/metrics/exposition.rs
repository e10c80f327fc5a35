//! `/metrics` in the Prometheus text format (0.0.4), through `prometheus-client`'s encoder.
//!
//! Counters keep VerneMQ's names: the families are encoded through the collector API, which
//! writes `TYPE … counter` without appending the OpenMetrics `_total` suffix to the samples, so
//! Grafana dashboards written for VerneMQ (`vernemq_mqtt_publish_received`) keep working.

use std::fmt::Error;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use vmq_actors::metrics::{Families, Kind, Value};

use super::Sources;

/// The broker's families, read at each scrape.
#[derive(Debug)]
pub(super) struct Broker(pub(super) Arc<Sources>);

impl Collector for Broker {
    fn encode(&self, encoder: DescriptorEncoder) -> Result<(), Error> {
        encode_families(&self.0.broker(), encoder)
    }
}

/// The process's families, read at each scrape.
#[derive(Debug)]
pub(super) struct Process(pub(super) Arc<Sources>);

impl Collector for Process {
    fn encode(&self, encoder: DescriptorEncoder) -> Result<(), Error> {
        encode_families(&self.0.process(), encoder)
    }
}

fn encode_families(families: &Families, mut encoder: DescriptorEncoder) -> Result<(), Error> {
    for family in families.iter() {
        let metric_type = match family.kind {
            Kind::Counter => MetricType::Counter,
            Kind::Gauge => MetricType::Gauge,
        };
        let mut metric = encoder.encode_descriptor(family.name, family.help, None, metric_type)?;
        for series in &family.series {
            let labels: Vec<(&str, &str)> = series
                .labels
                .iter()
                .map(|(name, value)| (*name, value.as_ref()))
                .collect();
            let mut sample = metric.encode_family(&labels)?;
            match series.value {
                Value::Int(n) => sample.encode_gauge(&n)?,
                Value::Float(x) => sample.encode_gauge(&x)?,
            }
        }
    }
    Ok(())
}

/// The registry as Prometheus text (no OpenMetrics `# EOF` line: this is the 0.0.4 format).
pub(super) fn encode(registry: &Registry) -> String {
    let mut text = String::with_capacity(64 * 1024);
    // Writing into a String cannot fail; a collector error would leave the text cut short.
    if prometheus_client::encoding::text::encode_registry(&mut text, registry).is_err() {
        tracing::error!("encoding the metrics failed");
    }
    text
}
