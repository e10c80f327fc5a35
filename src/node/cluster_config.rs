//! Keeps this node's settings on the cluster-wide values in the replicated metadata (`set --all`): at start, and whenever raft applies a change.

use std::collections::BTreeMap;

use tokio::sync::watch;

use super::Node;
use crate::admin::config_all::follow_cluster_config;

/// Follows the metadata until the node stops.
pub(super) async fn serve(node: Node, mut stop: watch::Receiver<bool>) {
    let mut applied = BTreeMap::new();
    loop {
        follow_cluster_config(&node, &mut applied).await;
        tokio::select! {
            () = node.meta.changed() => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}
