//! The node's metrics registry: one `prometheus-client` registry over every source (the data
//! plane's counters, gauges read from the sessions and listeners, the HTTP API's requests, the
//! process), feeding `/metrics` and `metrics show` alike.

mod exposition;
pub mod http;
mod process;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use prometheus_client::registry::Registry;
use vmq_actors::metrics::{Counter, Families, Kind, Metrics, Value, Versioned};
use vmq_actors::{ListenersHandle, SessionsHandle};

use exposition::{Broker, Process};
pub use http::{Endpoint, HttpRequests};
use process::OpenFds;
use tokio::sync::watch;

/// What the metrics are read from; cheap handles, no reference back to the node.
#[derive(Debug)]
struct Sources {
    data_plane: Arc<Metrics>,
    sessions: SessionsHandle,
    listeners: ListenersHandle,
    http: HttpRequests,
    started: SystemTime,
    fds: Arc<OpenFds>,
}

impl Sources {
    /// The broker's metrics (everything but the process's).
    fn broker(&self) -> Families {
        let mut families = self.data_plane.families();
        families.extend(self.gauges());
        families.extend(self.http.families());
        families
    }

    /// The process's metrics.
    fn process(&self) -> Families {
        process::families(self.started, &self.fds)
    }

    /// Gauges read from the sessions and listeners now.
    fn gauges(&self) -> Families {
        let (mut tcp, mut websocket) = (0, 0);
        for entry in self.listeners.entries().iter() {
            match entry.info.kind {
                "mqtt" | "mqtts" => tcp += entry.info.counts.active(),
                "mqttws" | "mqttwss" => websocket += entry.info.counts.active(),
                _ => {}
            }
        }
        let count = |n: usize| Value::Int(u64::try_from(n).unwrap_or(u64::MAX));
        let mut families = Families::default();
        let mut gauge = |name, help, value| families.single(name, help, Kind::Gauge, value);
        gauge(
            "active_mqtt_connections",
            "The number of open MQTT connections (TCP and TLS).",
            Value::Int(tcp),
        );
        gauge(
            "active_mqttws_connections",
            "The number of open MQTT over WebSocket connections.",
            Value::Int(websocket),
        );
        gauge(
            "total_active_connections",
            "The total number of open MQTT connections.",
            Value::Int(tcp + websocket),
        );
        gauge(
            "queue_processes",
            "The number of MQTT sessions (queues), online and offline.",
            count(self.sessions.sessions().len()),
        );
        gauge(
            "router_subscriptions",
            "The number of subscriptions in the routing table.",
            count(self.sessions.routes().len()),
        );
        gauge(
            "retain_messages",
            "The number of retained messages.",
            count(self.sessions.retained().len()),
        );
        families
    }
}

/// The registry and its sources.
#[derive(Debug)]
pub struct NodeMetrics {
    sources: Arc<Sources>,
    registry: Registry,
}

impl NodeMetrics {
    /// The registry of node `node_name`, with metric names prefixed `<namespace>_` (none when
    /// empty) on `/metrics`; every series is labelled `node` first. Counts the process's open
    /// file descriptors in the background until `stop` turns true.
    pub fn new(
        node_name: &str,
        namespace: &str,
        sessions: SessionsHandle,
        listeners: ListenersHandle,
        command_paths: impl Iterator<Item = &'static [&'static str]>,
        stop: watch::Receiver<bool>,
    ) -> Self {
        let fds = Arc::new(OpenFds::default());
        fds.keep_counting(stop);
        let sources = Arc::new(Sources {
            data_plane: Arc::clone(sessions.metrics()),
            sessions,
            listeners,
            http: HttpRequests::new(command_paths),
            started: SystemTime::now(),
            fds,
        });
        let node_label = (Cow::Borrowed("node"), Cow::Owned(node_name.to_owned()));
        let mut registry = Registry::with_labels(std::iter::once(node_label));
        let broker = Box::new(Broker(Arc::clone(&sources)));
        match namespace {
            "" => registry.register_collector(broker),
            prefix => registry
                .sub_registry_with_prefix(prefix)
                .register_collector(broker),
        }
        // Process metrics keep Prometheus' usual names, without the namespace.
        registry.register_collector(Box::new(Process(Arc::clone(&sources))));
        Self { sources, registry }
    }

    /// Every metric now, unprefixed (`metrics show`).
    pub fn families(&self) -> Families {
        let mut families = self.sources.broker();
        families.extend(self.sources.process());
        families
    }

    /// The Prometheus text exposition (`/metrics`).
    pub fn exposition(&self) -> String {
        exposition::encode(&self.registry)
    }

    /// The HTTP API's request counters.
    pub fn http(&self) -> &HttpRequests {
        &self.sources.http
    }

    /// The data plane's counters.
    pub fn data_plane(&self) -> &Metrics {
        &self.sources.data_plane
    }

    /// Sets every counter back to zero (`metrics reset`); gauges and process figures stay.
    pub fn reset(&self) {
        self.sources.data_plane.reset();
        self.sources.http.reset();
    }
}

/// The counts `node status` and `/status.json` report from the metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct MessageCounts {
    /// PUBLISH packets received.
    pub msg_in: u64,
    /// PUBLISH packets sent.
    pub msg_out: u64,
    /// Messages put into queues.
    pub queue_in: u64,
    /// Messages taken out of queues.
    pub queue_out: u64,
    /// Messages dropped.
    pub queue_drop: u64,
    /// Subscriptions matched on this node.
    pub matches_local: u64,
    /// Peers publishes were forwarded to.
    pub matches_remote: u64,
}

impl MessageCounts {
    /// The counts now.
    pub fn of(metrics: &Metrics) -> Self {
        Self {
            msg_in: metrics.get_versioned(Versioned::PublishReceived),
            msg_out: metrics.get_versioned(Versioned::PublishSent),
            queue_in: metrics.get(Counter::QueueMessageIn),
            queue_out: metrics.get(Counter::QueueMessageOut),
            queue_drop: metrics.get(Counter::QueueMessageDrop),
            matches_local: metrics.get(Counter::RouterMatchesLocal),
            matches_remote: metrics.get(Counter::RouterMatchesRemote),
        }
    }
}
