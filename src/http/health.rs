//! `/health*`: is this node (or the cluster) ready, and are its listeners accepting.

use bytes::Bytes;
use hyper::{Response, StatusCode};
use serde_json::json;
use vmq_actors::ListenerStatus;

use super::response::{self, Body};
use crate::node::Node;

/// What a health path checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// `/health/ping`: the HTTP server answers.
    Ping,
    /// `/health`: this node is a running cluster member and every listener runs.
    Node,
    /// `/health/listeners`: every listener runs.
    Listeners,
    /// `/health/listeners_full_cluster`: every member runs, and every local listener.
    FullCluster,
}

/// The check behind a path, if it is a health path.
pub fn check_for(path: &str) -> Option<Check> {
    match path {
        "/health" => Some(Check::Node),
        "/health/ping" => Some(Check::Ping),
        "/health/listeners" => Some(Check::Listeners),
        "/health/listeners_full_cluster" => Some(Check::FullCluster),
        _ => None,
    }
}

/// `{"status":"OK"}`, or 503 `{"status":"DOWN","reasons":[…]}`.
pub fn respond(check: Check, node: &Node) -> Response<Body> {
    let reasons = problems(check, node);
    if reasons.is_empty() {
        return response::json(StatusCode::OK, Bytes::from_static(br#"{"status":"OK"}"#));
    }
    let body = json!({ "status": "DOWN", "reasons": reasons }).to_string();
    response::json(StatusCode::SERVICE_UNAVAILABLE, body)
}

fn problems(check: Check, node: &Node) -> Vec<String> {
    let mut reasons = Vec::new();
    match check {
        Check::Ping => return reasons,
        Check::Node if !node.cluster.local_running() => {
            reasons.push("Unknown cluster status".to_owned())
        }
        Check::FullCluster if node.cluster.members().iter().any(|m| !m.running) => {
            reasons.push("At least one node is offline".to_owned());
        }
        _ => {}
    }
    let not_running: Vec<&str> = node
        .listeners
        .entries()
        .iter()
        .filter(|entry| entry.info.status != ListenerStatus::Running)
        .map(|entry| entry.info.kind)
        .collect();
    if !not_running.is_empty() {
        reasons.push(format!(
            "Listeners are not ready: [{}]",
            not_running.join(",")
        ));
    }
    reasons
}
