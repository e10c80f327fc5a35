//! `cluster leave` of this running node: its MQTT listeners stop accepting (VerneMQ's leave
//! without `--kill_sessions`); open connections, HTTP and the cluster fabric stay.

use tokio::sync::watch;

use super::Node;

/// Waits for leave requests until the node stops; each one stops every MQTT listener.
pub(super) async fn serve(node: Node, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = node.cluster.leave_requested() => stop_mqtt_listeners(&node).await,
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}

async fn stop_mqtt_listeners(node: &Node) {
    for entry in node.listeners.entries().iter() {
        if entry.info.mqtt.is_none() {
            continue;
        }
        let addr = entry.info.addr;
        match node.listeners.stop_listener(addr, false).await {
            Ok(()) => tracing::info!(%addr, "MQTT listener stopped: this node leaves the cluster"),
            Err(error) => tracing::warn!(%addr, %error, "MQTT listener not stopped"),
        }
    }
}
