//! The admin command tree: one `Command` enum, parsed from a `CommandLine`, run against a `Node`.
//!
//! Both front ends (HTTP `/api/v1`, the `vmq-admin` socket) call [`run`]; nothing else decides
//! what a command means.

pub mod api_key;
pub mod args;
pub mod audit;
pub mod cluster;
pub mod cmdline;
pub mod config;
pub mod config_all;
pub mod error;
pub mod listener;
pub mod listener_start;
pub mod log;
pub mod metrics;
pub mod node;
pub mod plugin;
pub mod query;
pub mod render;
pub mod reply;
pub mod retain;
pub mod session;
pub mod session_cluster;
pub mod session_fields;
pub mod session_leave;
pub mod session_show;
pub mod session_wire;
mod table;
pub mod trace;

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;

pub use audit::Caller;
pub use cmdline::{CommandLine, Format};
pub use error::AdminError;
pub use reply::{Cell, Element, Reply, RowCells, RowSource, Table, Value};
pub use table::{command_index, command_paths, TOP_USAGE};
use table::{entry_for, group_usage, is_group_path, mutates};

use crate::node::Node;

/// Every command the tree knows, each with its parsed arguments.
#[derive(Debug)]
pub enum Command {
    /// `--help` on a command or group: its usage.
    Help(&'static str),
    /// `api-key create`.
    ApiKeyCreate(api_key::Create),
    /// `api-key add`.
    ApiKeyAdd(api_key::Add),
    /// `api-key delete`.
    ApiKeyDelete(api_key::Delete),
    /// `api-key show`.
    ApiKeyShow(api_key::Show),
    /// `cluster show`.
    ClusterShow(cluster::Show),
    /// `cluster join`.
    ClusterJoin(cluster::Join),
    /// `cluster leave`.
    ClusterLeave(cluster::Leave),
    /// `listener show`.
    ListenerShow(listener::Show),
    /// `listener start`.
    ListenerStart(listener_start::Start),
    /// `listener stop`.
    ListenerStop(listener::Stop),
    /// `listener restart`.
    ListenerRestart(listener::Restart),
    /// `listener delete`.
    ListenerDelete(listener::Delete),
    /// `metrics show`.
    MetricsShow(metrics::Show),
    /// `metrics reset`.
    MetricsReset(metrics::Reset),
    /// `node status`.
    NodeStatus(node::Status),
    /// `plugin show`.
    PluginShow(plugin::Show),
    /// `plugin enable`.
    PluginEnable(plugin::Enable),
    /// `plugin disable`.
    PluginDisable(plugin::Disable),
    /// `retain show`.
    RetainShow(retain::Show),
    /// `retain delete`.
    RetainDelete(retain::Delete),
    /// `session show`.
    SessionShow(session_show::Show),
    /// `session disconnect` and `session disconnect clients`.
    SessionDisconnect(session::Disconnect),
    /// `session reauthorize`.
    SessionReauthorize(session::Reauthorize),
    /// `session unsubscribe`.
    SessionUnsubscribe(session::Unsubscribe),
    /// `set key=value …`.
    ConfigSet(config::Set),
    /// `show key …`.
    ConfigShow(config::Show),
    /// `describe key …`.
    ConfigDescribe(config::Describe),
    /// `log show config`.
    LogShowConfig(log::ShowConfig),
    /// `log level`.
    LogLevel(log::Level),
    /// `trace client`.
    TraceClient(trace::Client),
    /// `trace stop_all`.
    TraceStopAll(trace::StopAll),
}

impl Command {
    /// Resolves the words to a command and checks its arguments.
    pub fn parse(line: &CommandLine) -> Result<Command, AdminError> {
        let words = line.words.as_slice();
        match entry_for(words) {
            Some(entry) if line.help => Ok(Command::Help(entry.usage)),
            Some(entry) => (entry.parse)(line),
            None => {
                let usage = group_usage(words);
                if line.help && is_group_path(words) {
                    Ok(Command::Help(usage))
                } else {
                    Err(AdminError::UnknownCommand { usage })
                }
            }
        }
    }

    /// Runs the command.
    pub async fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        match self {
            Command::Help(usage) => Ok(Reply::text(usage)),
            Command::ApiKeyCreate(cmd) => cmd.execute(node).await,
            Command::ApiKeyAdd(cmd) => cmd.execute(node).await,
            Command::ApiKeyDelete(cmd) => cmd.execute(node).await,
            Command::ApiKeyShow(cmd) => Ok(cmd.execute(node)),
            Command::ClusterShow(cmd) => Ok(cmd.execute(node)),
            Command::ClusterJoin(cmd) => cmd.execute(node).await,
            Command::ClusterLeave(cmd) => cmd.execute(node).await,
            Command::ListenerShow(cmd) => Ok(cmd.execute(node)),
            Command::ListenerStart(cmd) => cmd.execute(node).await,
            Command::ListenerStop(cmd) => cmd.execute(node).await,
            Command::ListenerRestart(cmd) => cmd.execute(node).await,
            Command::ListenerDelete(cmd) => cmd.execute(node).await,
            Command::MetricsShow(cmd) => Ok(cmd.execute(node)),
            Command::MetricsReset(cmd) => Ok(cmd.execute(node)),
            Command::NodeStatus(cmd) => Ok(cmd.execute(node)),
            Command::PluginShow(cmd) => Ok(cmd.execute(node)),
            Command::PluginEnable(cmd) => cmd.execute(node).await,
            Command::PluginDisable(cmd) => cmd.execute(node).await,
            Command::RetainShow(cmd) => Ok(cmd.execute(node)),
            Command::RetainDelete(cmd) => Ok(cmd.execute(node)),
            Command::SessionShow(cmd) => Ok(cmd.execute(node).await),
            Command::SessionDisconnect(cmd) => cmd.execute(node).await,
            Command::SessionReauthorize(cmd) => cmd.execute(node).await,
            Command::SessionUnsubscribe(cmd) => cmd.execute(node).await,
            Command::ConfigSet(cmd) => cmd.execute(node).await,
            Command::ConfigShow(cmd) => cmd.execute(node),
            Command::ConfigDescribe(cmd) => cmd.execute(),
            Command::LogShowConfig(cmd) => Ok(cmd.execute(node)),
            Command::LogLevel(cmd) => cmd.execute(node),
            Command::TraceClient(cmd) => cmd.execute(node),
            Command::TraceStopAll(cmd) => Ok(cmd.execute(node)),
        }
    }
}

/// Parses and runs one command line for `caller`; a command that changes state is written as
/// an audit line, whatever its outcome. A panic inside a command becomes
/// `AdminError::Internal` instead of killing the connection that asked.
pub async fn run(line: &CommandLine, node: &Node, caller: &Caller) -> Result<Reply, AdminError> {
    // The words only: arguments may hold secrets.
    tracing::debug!(command = ?line.words, "running an admin command");
    let outcome = parse_and_execute(line, node).await;
    if mutates(line) {
        audit::record(line, caller, &outcome);
    }
    outcome
}

async fn parse_and_execute(line: &CommandLine, node: &Node) -> Result<Reply, AdminError> {
    let command = Command::parse(line)?;
    match AssertUnwindSafe(command.execute(node)).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(panic) => Err(AdminError::Internal(panic_message(panic.as_ref()))),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    tracing::error!(panic = %text, "a command panicked");
    format!("the command failed unexpectedly ({text}); see the node's log")
}

#[cfg(test)]
mod tests {
    use super::table::{COMMANDS, GROUPS};
    use super::*;

    fn parse(argv: &[&str]) -> Result<Command, AdminError> {
        Command::parse(&CommandLine::from_argv(argv))
    }

    #[test]
    fn every_command_has_help() {
        for entry in COMMANDS {
            let mut argv: Vec<&str> = entry.path.to_vec();
            argv.push("--help");
            match parse(&argv) {
                Ok(Command::Help(usage)) => assert_eq!(usage, entry.usage),
                other => panic!("{:?}: {other:?}", entry.path),
            }
        }
    }

    #[test]
    fn groups_have_help_and_unknown_paths_show_the_nearest_usage() {
        assert!(
            matches!(parse(&["api-key", "--help"]), Ok(Command::Help(u)) if u == api_key::GROUP_USAGE)
        );
        assert!(matches!(parse(&["--help"]), Ok(Command::Help(u)) if u == TOP_USAGE));
        assert_eq!(
            parse(&["api-key"]).expect_err("must fail"),
            AdminError::UnknownCommand {
                usage: api_key::GROUP_USAGE
            }
        );
        assert_eq!(
            parse(&["api-key", "nope"]).expect_err("must fail"),
            AdminError::UnknownCommand {
                usage: api_key::GROUP_USAGE
            }
        );
        assert_eq!(
            parse(&["nope"]).expect_err("must fail"),
            AdminError::UnknownCommand { usage: TOP_USAGE }
        );
        assert_eq!(
            parse(&[]).expect_err("must fail"),
            AdminError::UnknownCommand { usage: TOP_USAGE }
        );
    }

    #[test]
    fn only_state_changing_commands_are_audited() {
        let audited = |argv: &[&str]| mutates(&CommandLine::from_argv(argv));
        assert!(audited(&["api-key", "add", "key=k"]));
        assert!(audited(&["set", "allow_anonymous=on"]));
        assert!(audited(&["log", "level"]));
        assert!(audited(&["session", "disconnect", "clients"]));
        assert!(!audited(&["api-key", "add", "--help"]));
        assert!(!audited(&["cluster", "show"]));
        assert!(!audited(&["show", "allow_anonymous"]));
        assert!(!audited(&["log", "show", "config"]));
        assert!(!audited(&["nope"]));
    }

    #[test]
    fn usage_texts_start_with_usage() {
        for usage in COMMANDS
            .iter()
            .map(|e| e.usage)
            .chain(GROUPS.iter().map(|(_, u)| *u))
        {
            assert!(usage.starts_with("Usage: vmq-admin "), "{usage}");
        }
    }

    #[test]
    fn panics_become_internal_errors() {
        let caught = futures_util::FutureExt::now_or_never(
            AssertUnwindSafe(async { panic!("boom") }).catch_unwind(),
        )
        .expect("ready");
        let message = panic_message(caught.expect_err("panicked").as_ref());
        assert!(message.contains("boom"));
    }
}
