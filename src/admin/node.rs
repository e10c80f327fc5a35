//! `node status`: the node's figures as a `Status`/`Value` table.

use super::args::{ArgSpec, Args};
use super::cmdline::CommandLine;
use super::error::AdminError;
use super::reply::{Cell, Reply, Table};
use crate::node::Node;

/// `vmq-admin node`.
pub const GROUP_USAGE: &str = "Usage: vmq-admin node <sub-command>

  Manage this node.

  Sub-commands:
    status      Prints status information about this node
  Use --help after a sub-command for more details.
";

/// `vmq-admin node status`.
pub const STATUS_USAGE: &str = "Usage: vmq-admin node status

  Prints status information about this node: sessions, message counts, subscriptions,
  retained messages and the version.
";

/// `node status`.
#[derive(Debug)]
pub struct Status;

impl Status {
    /// Takes no arguments.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        Args::check(line, &ArgSpec::NONE, STATUS_USAGE).map(|_| Self)
    }

    /// VerneMQ's rows, from the session index and the data plane's counters.
    pub fn execute(self, node: &Node) -> Reply {
        let figures = node.figures();
        let rows: [(&str, Cell); 13] = [
            ("num_online", figures.num_online.into()),
            ("num_offline", figures.num_offline.into()),
            ("msg_in", figures.msg_in.into()),
            ("msg_out", figures.msg_out.into()),
            ("queue_in", figures.queue_in.into()),
            ("queue_out", figures.queue_out.into()),
            ("queue_drop", figures.queue_drop.into()),
            ("queue_unhandled", figures.queue_unhandled.into()),
            ("num_subscriptions", figures.num_subscriptions.into()),
            ("num_retained", figures.num_retained.into()),
            ("matches_local", figures.matches_local.into()),
            ("matches_remote", figures.matches_remote.into()),
            ("version", env!("CARGO_PKG_VERSION").into()),
        ];
        let mut table = Table::new(["Status", "Value"]);
        for (name, value) in rows {
            table.push(vec![name.into(), value]);
        }
        Reply::table(table)
    }
}
