//! `cluster show`: the members and whether each runs.

use super::args::{ArgSpec, Args};
use super::cmdline::CommandLine;
use super::error::AdminError;
use super::reply::{Reply, Table};
use crate::node::Node;

/// `vmq-admin cluster`.
pub const GROUP_USAGE: &str = "Usage: vmq-admin cluster <sub-command>

  Manage this node's cluster membership.

  Sub-commands:
    show        Prints cluster information
  Use --help after a sub-command for more details.
";

/// `vmq-admin cluster show`.
pub const SHOW_USAGE: &str = "Usage: vmq-admin cluster show

  Shows the members of the cluster: Node is the node name, Running whether it is up and ready.
";

/// `cluster show`.
#[derive(Debug)]
pub struct Show;

impl Show {
    /// Takes no arguments.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        Args::check(line, &ArgSpec::NONE, SHOW_USAGE).map(|_| Self)
    }

    /// The membership snapshot as a `Node`/`Running` table.
    pub fn execute(self, node: &Node) -> Reply {
        let mut table = Table::new(["Node", "Running"]);
        for member in node.cluster.members().iter() {
            table.push(vec![member.node.as_str().into(), member.running.into()]);
        }
        Reply::table(table)
    }
}
