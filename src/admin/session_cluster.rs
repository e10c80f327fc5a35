//! `session show` over the cluster: every running node (this one included) applies the filters
//! and the column selection to its own sessions and answers its first `offset + limit` rows;
//! the node asked merges them in (mountpoint, client id, node) order and pages the result. A
//! node that does not answer within `--rowtimeout` adds no rows; that is logged here, and the
//! reply stays a plain table (as VerneMQ's rows over their time budget are skipped and logged).

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use futures_util::future::join_all;
use vmq_actors::sessions::SessionIndex;
use vmq_actors::{NodeName, Peers};

use super::cmdline::{CommandLine, Flag};
use super::query::{Query, Value};
use super::reply::{Reply, RowCells, RowSource, Table};
use super::session_fields::SessionField;
use super::session_show::{Listing, SHOW_USAGE};
use super::session_wire::{ReplyPage, ReplyWriter, ShowRequest};
use crate::node::Node;

/// The peer topic of `session show`.
pub const SHOW_TOPIC: &str = "session.show";

/// Answers the other nodes' `session show` requests from `index` (the node's session index),
/// as node `name`. Holds only the index: the handler lives as long as the peer service.
pub fn serve(peers: &Peers, index: Arc<ArcSwap<SessionIndex>>) {
    let name = peers.local().to_string();
    peers.on_call(
        SHOW_TOPIC,
        Arc::new(move |_from, body| {
            // The rows are made in the answer's own task, not on the peer service.
            let (index, name) = (index.load_full(), name.clone());
            Box::pin(async move { answer(index, &name, &body) })
        }),
    );
}

/// One node's rows for a request frame.
fn answer(index: Arc<SessionIndex>, name: &str, body: &[u8]) -> Result<Vec<u8>, String> {
    let request = ShowRequest::decode(body).map_err(|e| e.to_string())?;
    let line = CommandLine {
        words: vec!["session".to_owned(), "show".to_owned()],
        flags: request.flags,
        ..CommandLine::default()
    };
    let mut query: Query<SessionField> =
        Query::parse(&line, SHOW_USAGE).map_err(|e| e.to_string())?;
    query.limit = request.rows;
    query.offset = 0;
    let mut writer = ReplyWriter::new(query.column_names().count());
    Listing::new(index, name.to_owned(), query).visit_keyed(&mut |key, cells| {
        writer.push(&key.mountpoint, &key.client_id, cells);
    });
    Ok(writer.finish())
}

/// Asks every running node, merges and pages their rows.
pub(super) async fn show(node: &Node, fields: Vec<Flag>, query: Query<SessionField>) -> Reply {
    let peers = node.cluster.peers();
    let mut nodes = peers.connected();
    nodes.push(peers.local().clone());
    nodes.sort();
    let request = ShowRequest {
        flags: fields,
        rows: query.offset.saturating_add(query.limit),
    }
    .encode();
    let timeout = Duration::from_millis(query.rowtimeout_ms.max(1));
    let answers = join_all(
        nodes
            .iter()
            .map(|to| peers.call(to, SHOW_TOPIC, request.clone(), timeout)),
    )
    .await;
    let columns: Vec<&'static str> = query.column_names().collect();
    let pages: Vec<ReplyPage> = nodes
        .iter()
        .zip(answers)
        .filter_map(|(from, answer)| page(from, answer, columns.len()))
        .collect();
    let order = merge(&pages, query.offset, query.limit);
    Reply::table(Table::lazy(columns, Arc::new(Merged { pages, order })))
}

/// A node's checked rows, or `None` (logged) when it did not answer or answered garbage.
fn page(
    from: &NodeName,
    answer: Result<Vec<u8>, vmq_actors::PeerError>,
    width: usize,
) -> Option<ReplyPage> {
    let checked = answer
        .map_err(|e| e.to_string())
        .and_then(|frame| ReplyPage::decode(frame, width).map_err(|e| e.to_string()));
    match checked {
        Ok(page) => Some(page),
        Err(error) => {
            tracing::warn!(node = %from, %error, "session show: no rows from this node");
            None
        }
    }
}

/// The rows shown, as (page, row) pairs: the pages (each in key order, in node order) merged
/// by key, ties to the earlier page, `offset` skipped, at most `limit`.
fn merge(pages: &[ReplyPage], offset: usize, limit: usize) -> Vec<(usize, usize)> {
    let total: usize = pages.iter().map(ReplyPage::len).sum();
    let mut order = Vec::with_capacity(limit.min(total.saturating_sub(offset)));
    let mut heads = vec![0usize; pages.len()];
    let mut skipped = 0;
    while order.len() < limit {
        let next = (0..pages.len())
            .filter(|&p| heads[p] < pages[p].len())
            .min_by(|&a, &b| pages[a].key(heads[a]).cmp(&pages[b].key(heads[b])));
        let Some(p) = next else {
            break;
        };
        match skipped < offset {
            true => skipped += 1,
            false => order.push((p, heads[p])),
        }
        heads[p] += 1;
    }
    order
}

/// The merged rows, read from the nodes' frames as the table is rendered.
struct Merged {
    pages: Vec<ReplyPage>,
    order: Vec<(usize, usize)>,
}

/// One decoded row.
struct Cells<'r, 'a>(&'r [Value<'a>]);

impl RowCells for Cells<'_, '_> {
    fn cell(&self, column: usize) -> Value<'_> {
        self.0.get(column).cloned().unwrap_or(Value::Null)
    }
}

impl RowSource for Merged {
    fn for_each(&self, visit: &mut dyn FnMut(&dyn RowCells)) {
        let mut cells = Vec::new();
        for &(p, at) in &self.order {
            if let Some(page) = self.pages.get(p) {
                page.cells(at, &mut cells);
                visit(&Cells(&cells));
            }
        }
    }

    fn rows_hint(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::reply::Cell;

    fn page(keys: &[&str]) -> ReplyPage {
        let mut writer = ReplyWriter::new(1);
        for key in keys {
            writer.push("", key, &vec![Cell::Str((*key).to_owned())]);
        }
        ReplyPage::decode(writer.finish(), 1).expect("valid")
    }

    fn merged(pages: &[ReplyPage], offset: usize, limit: usize) -> Vec<String> {
        merge(pages, offset, limit)
            .into_iter()
            .map(|(p, at)| format!("{}{p}", pages[p].key(at).1))
            .collect()
    }

    #[test]
    fn pages_merge_in_key_order_then_node_order() {
        let pages = [page(&["a", "c", "e"]), page(&["b", "c"]), page(&[])];
        assert_eq!(
            merged(&pages, 0, 100),
            ["a0", "b1", "c0", "c1", "e0"].map(String::from)
        );
        assert_eq!(merged(&pages, 1, 2), ["b1", "c0"].map(String::from));
        assert_eq!(merged(&pages, 4, 2), ["e0"].map(String::from));
        assert!(merged(&pages, 9, 2).is_empty());
        assert!(merged(&pages, 0, 0).is_empty());
    }

    #[test]
    fn malformed_requests_are_refused() {
        let index = Arc::new(SessionIndex::new());
        assert!(answer(Arc::clone(&index), "n", b"").is_err());
        assert!(answer(Arc::clone(&index), "n", &[1, 2, 3]).is_err());
        let unknown = ShowRequest {
            flags: vec![Flag {
                name: "bogus".to_owned(),
                value: None,
                short: false,
            }],
            rows: 1,
        };
        assert!(answer(Arc::clone(&index), "n", &unknown.encode()).is_err());
        let fine = ShowRequest {
            flags: Vec::new(),
            rows: 1,
        };
        let frame = answer(index, "n", &fine.encode()).expect("an answer");
        assert_eq!(ReplyPage::decode(frame, 6).map(|p| p.len()), Ok(0));
    }
}
