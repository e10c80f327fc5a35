//! `node status`: the node's figures as a `Status`/`Value` table.

use super::args::{ArgSpec, Args};
use super::cmdline::CommandLine;
use super::error::AdminError;
use super::reply::{Cell, Reply, Table};
use crate::node::{Figure, Node};

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
        let rows = node.figures().rows();
        let mut table = Table::new(["Status", "Value"]);
        for (name, value) in rows {
            let value = match value {
                Figure::Count(count) => Cell::from(count),
                Figure::Text(text) => Cell::from(text),
            };
            table.push(vec![name.into(), value]);
        }
        Reply::table(table)
    }
}
