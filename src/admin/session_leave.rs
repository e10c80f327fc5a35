//! `cluster leave node=… --kill_sessions` of a running node, on that node: its MQTT listeners
//! stop and close every connection, and its persistent sessions (subscriptions and queued
//! messages) move to the remaining running nodes in turn. The node keeps running, out of
//! service, and stays a member until it is stopped and left as a down node.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::node::Node;

/// The peer topic: an empty request; the answer is VerneMQ's summary line.
pub const LEAVE_TOPIC: &str = "session.leave";
/// How long the node asked waits for the leaving node (VerneMQ's `--timeout` default).
pub const LEAVE_TIMEOUT: Duration = Duration::from_secs(60);

type Answer = oneshot::Sender<Result<Vec<u8>, String>>;

/// Serves leave requests until the node stops. The peer handler only forwards them to this
/// task, so that it holds no part of the node (which would then outlive its stop).
pub async fn serve(node: Node, mut stop: watch::Receiver<bool>) {
    let (requests, mut pending) = mpsc::channel::<Answer>(4);
    node.cluster.peers().on_call(
        LEAVE_TOPIC,
        Arc::new(move |_from, _body| {
            let requests = requests.clone();
            Box::pin(async move {
                let stopping = |_| "this node is stopping".to_owned();
                let (answer, answered) = oneshot::channel();
                requests.send(answer).await.map_err(stopping)?;
                answered
                    .await
                    .map_err(|_| "this node is stopping".to_owned())?
            })
        }),
    );
    loop {
        tokio::select! {
            Some(answer) = pending.recv() => {
                let _ = answer.send(leave(&node).await);
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}

/// Stops the MQTT listeners (closing their connections) and moves the sessions away.
async fn leave(node: &Node) -> Result<Vec<u8>, String> {
    for entry in node.listeners.entries().iter() {
        if entry.info.mqtt.is_none() {
            continue;
        }
        let addr = entry.info.addr;
        match node.listeners.stop_listener(addr, true).await {
            Ok(()) => {
                tracing::info!(%addr, "MQTT listener stopped and its sessions closed: this node leaves the cluster")
            }
            Err(error) => tracing::warn!(%addr, %error, "MQTT listener not stopped"),
        }
    }
    let moved = node.sessions.move_away().await?;
    let total = moved.queues + moved.failed;
    tracing::info!(
        queues = moved.queues,
        messages = moved.messages,
        lost = moved.failed,
        "sessions moved to the remaining nodes"
    );
    Ok(format!(
        "Migrated {}/{total} queues and {}/{} messages",
        moved.queues, moved.messages, moved.messages
    )
    .into_bytes())
}
