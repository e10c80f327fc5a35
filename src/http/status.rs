//! `/status.json` (every cluster node's figures, members and listeners in VerneMQ's shape) and
//! `/status`, the self-contained live HTML page that polls it. Each peer's part comes from the
//! peer itself over the fabric ([`STATUS_TOPIC`]); a node that does not answer within
//! [`PEER_TIMEOUT`] is left out, as VerneMQ leaves out nodes that do not answer its RPC, and
//! shows as `false` in `mystatus`.

use std::sync::Arc;
use std::time::Duration;

use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::{json, Map, Value};
use tokio::sync::watch;
use vmq_actors::{ListenerInfo, Member, NodeName, Peers};

use super::response::{self, Body};
use crate::node::{Node, NodeFigures};

/// The page: inline CSS and JS only, so the CSP below can forbid everything else.
const PAGE: &str = include_str!("status_page.html");

/// The peer request for a node's part of `/status.json`.
pub const STATUS_TOPIC: &str = "status";
/// How long `/status.json` waits for a peer's part.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(2);

/// Inline script and style, fetches to this origin only, nothing loaded from anywhere.
const PAGE_CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; \
    style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// The two status paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPage {
    /// `/status.json`.
    Json,
    /// `/status`.
    Html,
}

/// The status page behind a path, if it is one.
pub fn page_for(path: &str) -> Option<StatusPage> {
    match path {
        "/status.json" => Some(StatusPage::Json),
        "/status" => Some(StatusPage::Html),
        _ => None,
    }
}

/// The page, never cached (the figures change all the time).
pub async fn respond(page: StatusPage, node: &Node) -> Response<Body> {
    let mut response = match page {
        StatusPage::Json => response::json(StatusCode::OK, status_json(node).await.to_string()),
        StatusPage::Html => html(),
    };
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn html() -> Response<Body> {
    let mut response = Response::new(Body::from(PAGE));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    response
}

/// `[{"<node>": {<node status rows>, "mystatus": [{…}], "listeners": [{…}]}, …}]`: this node
/// and every member that answered within [`PEER_TIMEOUT`] (asked at the same time).
pub async fn status_json(node: &Node) -> Value {
    let local = node.name().clone();
    let peers = node.cluster.peers();
    let others: Vec<NodeName> = node
        .cluster
        .members()
        .iter()
        .map(|member| member.node.clone())
        .filter(|name| *name != local)
        .collect();
    let answers =
        futures_util::future::join_all(others.iter().map(|name| peer_status(peers, name))).await;
    let mut nodes: Map<String, Value> = others
        .iter()
        .zip(answers)
        .filter_map(|(name, answer)| Some((name.to_string(), answer?)))
        .collect();
    nodes.insert(local.to_string(), local_status(node));
    json!([nodes])
}

async fn peer_status(peers: &Peers, node: &NodeName) -> Option<Value> {
    match peers
        .call(node, STATUS_TOPIC, Vec::new(), PEER_TIMEOUT)
        .await
    {
        Ok(body) => serde_json::from_slice(&body).ok(),
        Err(error) => {
            tracing::debug!(%node, %error, "no status from a cluster node");
            None
        }
    }
}

/// Answers the peers' [`STATUS_TOPIC`] requests with this node's part until `stop` turns true.
/// The handler holds the node, whose cluster handle holds the handler: replacing it at stop
/// breaks that cycle, so a stopped node's store and actors are released.
pub fn answer_peers(node: &Node, mut stop: watch::Receiver<bool>) {
    let source = node.clone();
    let peers = node.cluster.peers().clone();
    peers.on_call(
        STATUS_TOPIC,
        Arc::new(move |_from, _body| {
            let body = local_status(&source).to_string().into_bytes();
            Box::pin(async move { Ok(body) })
        }),
    );
    tokio::spawn(async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
        peers.on_call(
            STATUS_TOPIC,
            Arc::new(|_from, _body| Box::pin(async { Err("this node is stopping".to_owned()) })),
        );
    });
}

/// This node's part: its figures, the members as it sees them, its listeners.
fn local_status(node: &Node) -> Value {
    let listeners = node.listeners.entries();
    status_of(
        &node.figures(),
        &node.cluster.members(),
        listeners.iter().map(|entry| &entry.info),
    )
}

/// One node's part from its pieces (keys sorted, as VerneMQ's encoder writes them).
pub fn status_of<'a>(
    figures: &NodeFigures,
    members: &[Member],
    listeners: impl Iterator<Item = &'a ListenerInfo>,
) -> Value {
    let mut status: Map<String, Value> = figures
        .rows()
        .into_iter()
        .map(|(key, figure)| (key.to_owned(), json!(figure)))
        .collect();
    let mystatus: Map<String, Value> = members
        .iter()
        .map(|member| (member.node.as_str().to_owned(), member.running.into()))
        .collect();
    status.insert("mystatus".to_owned(), json!([mystatus]));
    let listeners: Vec<Value> = listeners.map(listener).collect();
    status.insert("listeners".to_owned(), listeners.into());
    Value::Object(status)
}

/// One listener as `listener show` lists it; the port is a number and the mountpoint a string.
fn listener(info: &ListenerInfo) -> Value {
    json!({
        "type": info.kind,
        "status": info.status.as_str(),
        "ip": info.addr.ip().to_string(),
        "port": info.addr.port(),
        "mountpoint": info.mountpoint,
        "max_conns": info.max_conns.map_or(json!("infinity"), Value::from),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vmq_actors::{ConnectionCounts, ListenerStatus, NodeName};

    use super::*;

    fn info(kind: &'static str, addr: &str, mountpoint: &str, max: Option<u64>) -> ListenerInfo {
        ListenerInfo {
            kind,
            name: "default".to_owned(),
            addr: addr.parse().expect("an address"),
            mountpoint: mountpoint.to_owned(),
            max_conns: max,
            tls: None,
            mqtt: None,
            status: ListenerStatus::Running,
            counts: Arc::new(ConnectionCounts::default()),
        }
    }

    fn member(name: &str, running: bool) -> Member {
        Member {
            node: NodeName::parse(name).expect("a node name"),
            running,
        }
    }

    #[test]
    fn a_node_part_has_figures_members_and_listeners() {
        let figures = NodeFigures {
            num_online: 3,
            msg_in: 7,
            ..NodeFigures::default()
        };
        let members = [member("a@h", true), member("b@h", false)];
        let listeners = [
            info("mqtt", "127.0.0.1:1883", "", Some(10)),
            info("http", "[::1]:8888", "mp", None),
        ];
        let node = &status_of(&figures, &members, listeners.iter());
        assert_eq!(node["num_online"], 3);
        assert_eq!(node["msg_in"], 7);
        assert_eq!(node["matches_remote"], 0);
        assert_eq!(node["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(node["mystatus"], json!([{ "a@h": true, "b@h": false }]));
        assert_eq!(
            node["listeners"],
            json!([
                {"type": "mqtt", "status": "running", "ip": "127.0.0.1", "port": 1883,
                 "mountpoint": "", "max_conns": 10},
                {"type": "http", "status": "running", "ip": "::1", "port": 8888,
                 "mountpoint": "mp", "max_conns": "infinity"},
            ])
        );
        // The 13 rows of `node status`, plus mystatus and listeners.
        assert_eq!(node.as_object().map(Map::len), Some(15));
    }

    #[test]
    fn only_the_two_exact_paths_are_status_pages() {
        assert_eq!(page_for("/status.json"), Some(StatusPage::Json));
        assert_eq!(page_for("/status"), Some(StatusPage::Html));
        for path in ["/status/", "/status.json/", "/statusx", "/status.html"] {
            assert_eq!(page_for(path), None, "{path}");
        }
    }

    #[test]
    fn the_page_is_self_contained() {
        assert!(PAGE.starts_with("<!doctype html>"));
        // The SVG namespace is a name, not a fetch.
        let page = PAGE.replace("http://www.w3.org/2000/svg", "");
        for external in ["http://", "https://", "src=", "href=", "@import", "url("] {
            assert!(!page.contains(external), "the page refers to {external}");
        }
    }
}
