//! The MQTT front end: `serve` accepts on one bound listener until shutdown, then drains.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use vmq_actors::{AllowedProtocols, ConnectPolicy, ConnectionCounts, ConnectionSettings};

use crate::accept::accept_until_stopped;
use crate::config::Config;
use crate::node::Node;

/// How long a drain waits for connections to close after they were told to.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts MQTT connections on `listener` until `stop` turns true; each connection is a session
/// that closes itself (MQTT 5: DISCONNECT "server shutting down") when the node stops.
pub async fn serve(
    listener: TcpListener,
    node: Node,
    counts: Arc<ConnectionCounts>,
    stop: watch::Receiver<bool>,
) {
    let accepting = stop.clone();
    accept_until_stopped(
        listener,
        accepting,
        DRAIN_TIMEOUT,
        "mqtt",
        |stream, peer| {
            let guard = counts.open();
            let settings = settings(&node.config());
            let sessions = node.sessions.clone();
            let stop = stop.clone();
            async move {
                sessions.serve(stream, peer, settings, stop).await;
                drop(guard);
            }
        },
    )
    .await;
}

/// The settings a new connection gets, read from the configuration in force when it is accepted
/// (so `set allow_anonymous=off` applies to the next connection).
pub fn settings(config: &Config) -> ConnectionSettings {
    ConnectionSettings {
        policy: ConnectPolicy {
            allow_anonymous: config.allow_anonymous(),
            allowed_protocols: AllowedProtocols::ALL,
        },
        max_packet_size: config.max_message_size(),
        connect_timeout: config.mqtt_connect_timeout(),
        mountpoint: Arc::from(""),
    }
}
