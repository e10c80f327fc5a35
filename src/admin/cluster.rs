//! `cluster show` (the members and whether each runs), `cluster join` and `cluster leave`.

use super::args::{ArgSpec, Args, FlagSpec, FlagValue};
use super::cmdline::CommandLine;
use super::error::AdminError;
use super::reply::{Element, Reply, Table};
use crate::node::Node;
use vmq_actors::{parse_discovery_node, LeaveOutcome, NodeName};

/// `vmq-admin cluster`.
pub const GROUP_USAGE: &str = "Usage: vmq-admin cluster <sub-command>

  Manage this node's cluster membership.

  Sub-commands:
    show        Prints cluster information
    join        Joins a cluster
    leave       Removes a node from the cluster
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

/// `vmq-admin cluster join`.
pub const JOIN_USAGE: &str = "Usage: vmq-admin cluster join discovery-node=<Node>

  Joins this node to the cluster of the discovery node, given as Name@host or Name@host:port
  (the port of its listener.vmq.clustering; 44053 when left out). Answers Done once both nodes
  list each other and this node is a voting member of the cluster's metadata (its own
  metadata log is dropped, its API keys are merged into the cluster's); both need the same
  distributed_cookie.
";

/// VerneMQ's alert when `discovery-node` is missing.
pub const MISSING_DISCOVERY_NODE: &str =
    "You have to provide a discovery node (example discovery-node=vernemq1@127.0.0.1)";

/// `cluster join discovery-node=Name@host[:port]`.
#[derive(Debug)]
pub struct Join {
    node: NodeName,
    address: String,
}

impl Join {
    const SPEC: ArgSpec = ArgSpec {
        params: &["discovery-node"],
        flags: &[],
    };

    /// `discovery-node=Name@host[:port]`.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::SPEC, JOIN_USAGE)?;
        let text = args
            .param("discovery-node")
            .ok_or_else(|| args.error(MISSING_DISCOVERY_NODE))?;
        let (node, address) =
            parse_discovery_node(text).map_err(|e| args.error(format!("discovery-node: {e}")))?;
        Ok(Self { node, address })
    }

    /// Dials the discovery node and waits until both nodes list each other.
    pub async fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        if self.node == *node.name() {
            let why = format!(
                "{} is this node: give a node of the cluster to join",
                self.node
            );
            return Err(AdminError::bad_args(why, JOIN_USAGE));
        }
        if let Err(why) = node.cluster.join(self.node.clone(), self.address).await? {
            return Err(AdminError::Unavailable(why));
        }
        node.meta.join(&self.node).await.map_err(|e| {
            AdminError::Unavailable(format!(
                "joined {} but not its cluster metadata: {e}",
                self.node
            ))
        })?;
        Ok(Reply::text("Done"))
    }
}

/// `vmq-admin cluster leave`.
pub const LEAVE_USAGE: &str = "Usage: vmq-admin cluster leave node=<Node> [-k | --kill_sessions]

  A node that is down (Running = false in cluster show) is removed from the member list of
  every node and from the cluster metadata (which needs a quorum of the others). A running node is asked to stop its MQTT listeners (no new connections); it stays
  a member.

  Options

    -k, --kill_sessions
      Also close the running node's connections and move its persistent sessions
      (subscriptions, queued messages) to the remaining running nodes; then the node
      leaves the cluster (every member and the cluster metadata drop it; restarted, it
      is a cluster of its own) and stops.
    -i, --summary-interval=<seconds>
    -t, --timeout=<seconds>
      Accepted for VerneMQ compatibility.
";

/// The answer when a running node was asked to stop its listeners (VerneMQ's text).
pub const LISTENERS_STOPPED: &str = "Done! Use -k to teardown and migrate existing sessions!";

/// VerneMQ's alert when `node` is missing.
pub const MISSING_NODE: &str = "You have to provide a node";

/// `cluster leave node=<Node>`.
#[derive(Debug)]
pub struct Leave {
    node: NodeName,
    kill_sessions: bool,
}

impl Leave {
    const SPEC: ArgSpec = ArgSpec {
        params: &["node"],
        flags: &[
            FlagSpec {
                name: "kill_sessions",
                short: Some('k'),
                value: FlagValue::None,
            },
            FlagSpec {
                name: "summary-interval",
                short: Some('i'),
                value: FlagValue::Required,
            },
            FlagSpec {
                name: "timeout",
                short: Some('t'),
                value: FlagValue::Required,
            },
        ],
    };

    /// `node=Name@host`.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::SPEC, LEAVE_USAGE)?;
        let text = args.param("node").ok_or_else(|| args.error(MISSING_NODE))?;
        let node = NodeName::parse(text).map_err(|e| args.error(format!("node: {e}")))?;
        Ok(Self {
            node,
            kill_sessions: args.has_flag("kill_sessions"),
        })
    }

    /// Removes a down member; asks a running one to stop its MQTT listeners, or with
    /// `--kill_sessions` to move its sessions away, leave the cluster and stop.
    pub async fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        match node
            .cluster
            .leave(self.node.clone(), self.kill_sessions)
            .await?
        {
            LeaveOutcome::Removed => {
                node.meta.remove(&self.node).await.map_err(|e| {
                    AdminError::Unavailable(format!(
                        "{} left the member list but not the cluster metadata: {e}",
                        self.node
                    ))
                })?;
                Ok(Reply::text("Done"))
            }
            LeaveOutcome::NotMember => Err(AdminError::NotFound(format!(
                "{} is not a member of the cluster (see cluster show)",
                self.node
            ))),
            LeaveOutcome::Running if self.kill_sessions => {
                let summary = super::session_leave::ask(node, &self.node)
                    .await
                    .map_err(|e| AdminError::Unavailable(e.to_string()))?;
                Ok(Reply(vec![
                    Element::Text(summary),
                    Element::Text("Done".to_owned()),
                ]))
            }
            LeaveOutcome::Running => Ok(Reply::text(LISTENERS_STOPPED)),
        }
    }
}
