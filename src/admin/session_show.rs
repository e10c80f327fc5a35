//! `session show`: VerneMQ's session fields over the session index snapshot, one row per
//! session, per subscription when a subscription field is used, per queued message when a
//! message field is used; paged with `--offset` in (mountpoint, client id) order.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use vmq_actors::sessions::SessionIndex;
use vmq_actors::sessions::{Message, QueueStats, SubOptions};
use vmq_actors::{SessionKey, SessionView};

use super::cmdline::{CommandLine, Flag};
use super::error::AdminError;
use super::query::{Query, Row, Value};
use super::reply::{Reply, RowCells, RowSource, Table};
use super::session_fields::{Group, SessionField, F};
use crate::node::Node;

/// `vmq-admin session show`.
pub const SHOW_USAGE: &str = "Usage: vmq-admin session show [--limit=<NumberOfResults>] [--offset=<N>] [--rowtimeout=<Timeout>] [--<Field>[=<Value>|=~<Regex>] ...]

  Shows sessions. A --<Field> flag without a value selects that column; with a value it
  keeps only the rows whose field equals the value (true/false for booleans, undefined for
  a missing value), or matches the regular expression after ~. Filters are ANDed.
  Without a selected column: client_id, is_online, mountpoint, peer_host, peer_port, user.
  A subscription field (topic, qos, rap, no_local) gives one row per subscription; a
  message field (msg_ref, msg_qos, routing_key, dup, payload) one row per queued message.

  --limit=<N>        at most N rows (default 100), over the whole cluster
  --offset=<N>       skip the first N rows, ordered by mountpoint, client_id and node
  --rowtimeout=<ms>  in a cluster, how long each node may take to answer (default 100);
                     a node that answers late adds no rows (the node asked logs a warning)

  Fields: clean_session, client_id, deliver_mode, dup, is_offline, is_online, is_plugin,
  mountpoint, msg_qos, msg_ref, no_local, node, num_sessions, offline_messages,
  online_messages, payload, peer_host, peer_port, protocol, qos, queue_pid, queue_size,
  queue_started_at, rap, routing_key, session_pid, session_started_at, statename, topic,
  user, waiting_acks
";

/// `session show`.
#[derive(Debug)]
pub struct Show {
    query: Query<SessionField>,
    /// The field flags as given: what the other nodes of a cluster are asked with.
    fields: Vec<Flag>,
}

impl Show {
    /// Reads the field flags, `--limit`, `--offset` and `--rowtimeout`.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let query = Query::parse(line, SHOW_USAGE)?;
        let fields = line
            .flags
            .iter()
            .filter(|f| f.short || !matches!(f.name.as_str(), "limit" | "offset" | "rowtimeout"))
            .cloned()
            .collect();
        Ok(Self { query, fields })
    }

    /// The table: alone, its rows are read from the session index snapshot as it is rendered;
    /// in a cluster, every running node is asked for its rows (see `session_cluster.rs`).
    pub async fn execute(self, node: &Node) -> Reply {
        if node.cluster.peers().connected().is_empty() {
            let columns: Vec<&'static str> = self.query.column_names().collect();
            let listing = Listing::new(
                node.sessions.sessions(),
                node.name().to_string(),
                self.query,
            );
            return Reply::table(Table::lazy(columns, Arc::new(listing)));
        }
        super::session_cluster::show(node, self.fields, self.query).await
    }
}

/// The rows of one `session show`: a snapshot of the index and the query.
pub(super) struct Listing {
    index: Arc<SessionIndex>,
    node: String,
    query: Query<SessionField>,
    per_subscription: bool,
    per_message: bool,
}

impl Listing {
    /// The rows of `query` over `index` on the node named `node`.
    pub(super) fn new(index: Arc<SessionIndex>, node: String, query: Query<SessionField>) -> Self {
        Self {
            index,
            node,
            per_subscription: query.uses(|f| f.group() == Group::Subscription),
            per_message: query.uses(|f| f.group() == Group::Message),
            query,
        }
    }

    /// Calls `visit` with each row and its session's key, in (mountpoint, client id) order.
    pub(super) fn visit_keyed(&self, visit: &mut dyn FnMut(&SessionKey, &dyn RowCells)) {
        let sessions = self.index.values();
        let mut keyed = |row: &SessionRow<'_>, cells: &dyn RowCells| visit(&row.view.key, cells);
        if !self.per_subscription && !self.per_message && self.query.unfiltered() {
            // One row per session and none filtered out: skip sessions, not rows.
            let rows = sessions
                .skip(self.query.offset)
                .map(|view| SessionRow::new(view, &self.node));
            return self.query.visit_rows(rows, 0, &mut keyed);
        }
        let rows = sessions
            .flat_map(|view| expand(view, &self.node, self.per_subscription, self.per_message));
        self.query.visit_rows(rows, self.query.offset, &mut keyed);
    }
}

impl RowSource for Listing {
    fn for_each(&self, visit: &mut dyn FnMut(&dyn RowCells)) {
        self.visit_keyed(&mut |_, cells| visit(cells));
    }

    fn rows_hint(&self) -> usize {
        self.query.limit.min(self.index.len())
    }
}

/// One row of `session show`.
struct SessionRow<'a> {
    view: &'a SessionView,
    node: &'a str,
    stats: OnceCell<QueueStats>,
    subscription: Option<&'a (String, SubOptions)>,
    /// The session's queued messages and the position of this row's.
    message: Option<(Rc<[Message]>, usize)>,
}

impl<'a> SessionRow<'a> {
    fn new(view: &'a SessionView, node: &'a str) -> Self {
        Self {
            view,
            node,
            stats: OnceCell::new(),
            subscription: None,
            message: None,
        }
    }

    fn stats(&self) -> &QueueStats {
        self.stats.get_or_init(|| self.view.queue_stats())
    }

    fn queue_value(&self, field: SessionField) -> Value<'_> {
        let view = self.view;
        let online = view.online.is_some();
        let waiting = |when_online: bool| match online == when_online {
            true => Value::count(self.stats().waiting),
            false => Value::Int(0),
        };
        match field {
            F::CleanSession => Value::Bool(view.clean_session),
            F::ClientId => Value::text(&view.key.client_id),
            F::DeliverMode => Value::text("fanout"),
            F::IsOffline => Value::Bool(!online),
            F::IsOnline => Value::Bool(online),
            F::IsPlugin => Value::Bool(false),
            F::Mountpoint => Value::text(&view.key.mountpoint),
            F::Node => Value::text(self.node),
            F::NumSessions => Value::Int(i64::from(online)),
            F::OfflineMessages => waiting(false),
            F::OnlineMessages => waiting(true),
            F::QueuePid => Value::Text(Cow::Owned(queue_pid(view))),
            F::QueueStartedAt => Value::Int(view.started_at_ms),
            F::Statename => Value::text(if online { "online" } else { "offline" }),
            _ => Value::Null,
        }
    }

    fn online_value(&self, field: SessionField) -> Value<'_> {
        let Some(info) = &self.view.online else {
            return Value::Null;
        };
        match field {
            F::User => info.user.as_deref().map_or(Value::Null, Value::text),
            F::PeerHost => Value::Text(Cow::Owned(host_text(info.peer.ip()))),
            F::PeerPort => Value::Int(i64::from(info.peer.port())),
            F::Protocol => Value::Int(i64::from(info.protocol)),
            F::WaitingAcks => Value::count(self.stats().inflight),
            F::SessionStartedAt => Value::Int(info.connected_at_ms),
            F::SessionPid => Value::Text(Cow::Owned(pid(info.connection))),
            _ => Value::Null,
        }
    }

    fn subscription_value(&self, field: SessionField) -> Value<'_> {
        let Some((filter, options)) = self.subscription else {
            return Value::Null;
        };
        let v5 = |flag: bool| match options.v5 {
            true => Value::Bool(flag),
            false => Value::Null,
        };
        match field {
            F::Topic => Value::text(filter),
            F::Qos => Value::Int(i64::from(options.qos)),
            F::Rap => v5(options.retain_as_published),
            F::NoLocal => v5(options.no_local),
            _ => Value::Null,
        }
    }

    fn message_value(&self, field: SessionField) -> Value<'_> {
        let Some((message, position)) = self
            .message
            .as_ref()
            .and_then(|(all, at)| Some((all.get(*at)?, *at)))
        else {
            return Value::Null;
        };
        match field {
            F::MsgRef => Value::Text(Cow::Owned(msg_ref(self.view, position, message))),
            F::MsgQos => Value::Int(i64::from(message.qos)),
            F::RoutingKey => Value::text(&message.topic),
            F::Dup => Value::Bool(false),
            F::Payload => Value::Text(String::from_utf8_lossy(&message.payload)),
            _ => Value::Null,
        }
    }
}

impl Row<SessionField> for SessionRow<'_> {
    fn value(&self, field: SessionField) -> Value<'_> {
        match field.group() {
            Group::Queue => self.queue_value(field),
            Group::Online => self.online_value(field),
            Group::Subscription => self.subscription_value(field),
            Group::Message => self.message_value(field),
        }
    }
}

/// The rows of one session: one, or one per subscription and/or per queued message (none if
/// it has none of them).
fn expand<'a>(
    view: &'a SessionView,
    node: &'a str,
    per_subscription: bool,
    per_message: bool,
) -> Expanded<'a> {
    if !per_subscription && !per_message {
        return Expanded::One(Some(SessionRow::new(view, node)));
    }
    let subscriptions: Vec<Option<&(String, SubOptions)>> = match per_subscription {
        true => view.subscriptions.iter().map(Some).collect(),
        false => vec![None],
    };
    let messages: Vec<Option<(Rc<[Message]>, usize)>> = match per_message {
        true => {
            let all: Rc<[Message]> = view.queued_messages().into();
            (0..all.len())
                .map(|at| Some((Rc::clone(&all), at)))
                .collect()
        }
        false => vec![None],
    };
    let mut rows = Vec::with_capacity(subscriptions.len() * messages.len());
    for subscription in &subscriptions {
        for message in &messages {
            rows.push(SessionRow {
                subscription: *subscription,
                message: message.clone(),
                ..SessionRow::new(view, node)
            });
        }
    }
    Expanded::Many(rows.into_iter())
}

/// The rows of one session, without an allocation in the common one-row case.
enum Expanded<'a> {
    One(Option<SessionRow<'a>>),
    Many(std::vec::IntoIter<SessionRow<'a>>),
}

impl<'a> Iterator for Expanded<'a> {
    type Item = SessionRow<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Expanded::One(row) => row.take(),
            Expanded::Many(rows) => rows.next(),
        }
    }
}

/// The address as text; IPv4 without the formatting machinery (listings format thousands).
fn host_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

/// An Erlang-looking pid for an id, as VerneMQ prints pids.
fn pid(id: u64) -> String {
    format!("<0.{id}.0>")
}

/// The queue's "pid": stable for the life of the session (its key and start time).
fn queue_pid(view: &SessionView) -> String {
    let digest = Sha256::new()
        .chain_update(view.key.mountpoint.as_bytes())
        .chain_update([0])
        .chain_update(view.key.client_id.as_bytes())
        .chain_update(view.started_at_ms.to_be_bytes())
        .finalize();
    let mut id = [0u8; 4];
    id.copy_from_slice(&digest[..4]);
    pid(u64::from(u32::from_be_bytes(id) >> 1))
}

/// A message reference: stable while the message waits at the same place in its queue.
/// Twelve digest bytes make 16 base64 characters without `=` padding.
fn msg_ref(view: &SessionView, position: usize, message: &Message) -> String {
    let digest = Sha256::new()
        .chain_update(view.key.mountpoint.as_bytes())
        .chain_update([0])
        .chain_update(view.key.client_id.as_bytes())
        .chain_update([0])
        .chain_update(view.started_at_ms.to_be_bytes())
        .chain_update((position as u64).to_be_bytes())
        .chain_update(message.topic.as_bytes())
        .chain_update([0])
        .chain_update(&message.payload)
        .finalize();
    STANDARD.encode(&digest[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_print_as_std_prints_them() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.99.100.255",
            "::1",
            "fe80::1:2",
            "::ffff:1.2.3.4",
        ] {
            let ip: IpAddr = ip.parse().expect("an address");
            assert_eq!(host_text(ip), ip.to_string());
        }
    }

    #[test]
    fn pids_look_like_erlang_pids() {
        assert_eq!(pid(42), "<0.42.0>");
    }
}
