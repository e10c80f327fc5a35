//! `set k=v --all`: runtime config through the replicated metadata, and how each node applies what the cluster set.

use std::collections::BTreeMap;

use vmq_actors::raft::Command;

use super::config::{reconfigure_plugins, SET_USAGE};
use super::error::AdminError;
use super::reply::{Reply, Table};
use crate::node::Node;

/// Checks `changes` here, writes each through raft (a quorum commits it, the reachable members
/// apply it before the answer), applies them here, and lists the members.
pub async fn set_everywhere(
    node: &Node,
    changes: Vec<(String, String)>,
) -> Result<Reply, AdminError> {
    node.config()
        .apply(&changes)
        .map_err(|e| AdminError::bad_args(e.to_string(), SET_USAGE))?;
    for (key, value) in &changes {
        let command = Command::SetConfig {
            key: key.clone(),
            value: value.clone(),
        };
        node.meta
            .write(command)
            .await
            .map_err(|e| AdminError::Unavailable(format!("{key} not set on the cluster: {e}")))?;
    }
    apply_here(node, &changes).await?;
    tracing::info!(?changes, "configuration changed at run time on every node");
    let connected = node.cluster.peers().connected();
    let mut table = Table::new(["Node", "Node Down/Unreachable", "Result"]);
    for member in node.meta.state().members().values() {
        let up = member.name == node.name().as_str()
            || connected.iter().any(|peer| peer.as_str() == member.name);
        let result = if up { "ok" } else { "applied when it is back" };
        table.push(vec![
            member.name.as_str().into(),
            (!up).into(),
            result.into(),
        ]);
    }
    Ok(Reply::table(table))
}

/// Applies the cluster-wide values that differ from `applied` (what this node last took from
/// the metadata) and records them; a value this node refuses is logged and not retried.
pub async fn follow_cluster_config(node: &Node, applied: &mut BTreeMap<String, String>) {
    let state = node.meta.state();
    let wanted = state.config_entries();
    let changes: Vec<(String, String)> = wanted
        .iter()
        .filter(|(key, value)| applied.get(*key) != Some(*value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if changes.is_empty() {
        return;
    }
    *applied = wanted.clone();
    match apply_here(node, &changes).await {
        Ok(()) => tracing::info!(?changes, "cluster-wide configuration applied"),
        Err(error) => tracing::warn!(?changes, %error, "cluster-wide configuration not applied"),
    }
}

async fn apply_here(node: &Node, changes: &[(String, String)]) -> Result<(), AdminError> {
    node.settings
        .set(changes.to_vec())
        .await?
        .map_err(|e| AdminError::bad_args(e.to_string(), SET_USAGE))?;
    reconfigure_plugins(node, changes).await
}
