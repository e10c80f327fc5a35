//! `cluster leave node=… --kill_sessions` of a running node (VerneMQ's leave with `-k`), on that
//! node: its MQTT listeners stop and close every connection; its persistent sessions
//! (subscriptions and queued messages) move to the remaining running nodes in turn; another
//! member removes it from the voters of the cluster metadata, and every member drops it from its
//! list; its own list and metadata start over alone (a restart does not rejoin). Once the node
//! that asked has the answer, the node stops as on SIGTERM. [`ask`] is the asking side.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch, Notify};
use vmq_actors::{NodeName, PeerError};

use crate::node::Node;

/// The peer topic: an empty request; the answer is VerneMQ's summary line.
pub const LEAVE_TOPIC: &str = "session.leave";
/// The peer topic on which the asking node says it has the answer: the leaving node may stop.
pub const ANSWERED_TOPIC: &str = "session.leave.answered";
/// How long the node asked waits for the leaving node (VerneMQ's `--timeout` default).
pub const LEAVE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a node that left waits for [`ANSWERED_TOPIC`] before it stops all the same.
const ANSWERED_WITHIN: Duration = Duration::from_secs(10);
/// The refusal of a second leave while one runs, or after it is done (VerneMQ's
/// `Migration already started!`).
pub const ALREADY_LEAVING: &str =
    "migration already started: wait for the leave in progress to answer";

type Answer = oneshot::Sender<Result<Vec<u8>, String>>;

/// Asks `leaving` (this node or a peer) to leave with its sessions; once its answer is here,
/// tells it so, and it stops. Returns the summary line.
pub async fn ask(node: &Node, leaving: &NodeName) -> Result<String, PeerError> {
    let peers = node.cluster.peers();
    let summary = peers
        .call(leaving, LEAVE_TOPIC, Vec::new(), LEAVE_TIMEOUT)
        .await?;
    if let Err(error) = peers.cast(leaving, ANSWERED_TOPIC, Vec::new()) {
        // It stops after ANSWERED_WITHIN all the same.
        tracing::debug!(%leaving, %error, "the leaving node was not told that its answer arrived");
    }
    Ok(String::from_utf8_lossy(&summary).into_owned())
}

/// Serves leave requests until the node stops, or until it has left (it then asks the node to
/// stop). The peer handlers only forward to this task, so that they hold no part of the node
/// (which would then outlive its stop).
pub async fn serve(node: Node, mut stop: watch::Receiver<bool>) {
    let (requests, mut pending) = mpsc::channel::<Answer>(1);
    let leaving = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(Notify::new());
    register(&node, requests, &leaving, &answered);
    loop {
        tokio::select! {
            Some(answer) = pending.recv() => {
                let left = leave(&node).await;
                let done = left.is_ok();
                // A failed leave can be retried; a done one is not started again.
                leaving.store(done, Ordering::SeqCst);
                let _ = answer.send(left);
                if done {
                    stop_when_answered(&node, &answered, &mut stop).await;
                    return;
                }
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}

fn register(
    node: &Node,
    requests: mpsc::Sender<Answer>,
    leaving: &Arc<AtomicBool>,
    answered: &Arc<Notify>,
) {
    let peers = node.cluster.peers();
    let started = Arc::clone(leaving);
    peers.on_call(
        LEAVE_TOPIC,
        Arc::new(move |_from, _body| {
            let requests = requests.clone();
            let already = started.swap(true, Ordering::SeqCst);
            Box::pin(async move {
                if already {
                    return Err(ALREADY_LEAVING.to_owned());
                }
                let stopping = |_| "this node is stopping".to_owned();
                let (answer, answered) = oneshot::channel();
                requests.send(answer).await.map_err(stopping)?;
                answered
                    .await
                    .map_err(|_| "this node is stopping".to_owned())?
            })
        }),
    );
    let (leaving, answered) = (Arc::clone(leaving), Arc::clone(answered));
    peers.on_cast(
        ANSWERED_TOPIC,
        Arc::new(move |_from, _body| {
            if leaving.load(Ordering::SeqCst) {
                answered.notify_one();
            }
        }),
    );
}

/// Stops the MQTT listeners (closing their connections), moves the sessions away, then leaves
/// the cluster metadata and the member lists.
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
    let summary = format!(
        "Migrated {}/{total} queues and {}/{} messages",
        moved.queues, moved.messages, moved.messages
    );
    node.meta.leave().await.map_err(|e| {
        format!("{summary}, but this node is still in the cluster metadata ({e}): retry the leave")
    })?;
    node.cluster.depart().await.map_err(|e| {
        format!("{summary}, but this node is still a member ({e}): retry the leave")
    })?;
    Ok(summary.into_bytes())
}

/// Once the asking node has the answer (or after [`ANSWERED_WITHIN`]), asks the node to stop.
async fn stop_when_answered(node: &Node, answered: &Notify, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        () = answered.notified() => {}
        () = tokio::time::sleep(ANSWERED_WITHIN) => {
            tracing::warn!("the node that asked for the leave did not confirm its answer");
        }
        () = crate::accept::stopped(stop) => return,
    }
    tracing::info!("this node left the cluster: it stops");
    node.cluster.finish_leave();
}
