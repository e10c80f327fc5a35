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
pub mod session_fields;
pub mod session_show;
pub mod trace;

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;

pub use audit::Caller;
pub use cmdline::{CommandLine, Format};
pub use error::AdminError;
pub use reply::{Cell, Element, Reply, RowCells, RowSource, Table, Value};

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

type Parser = fn(&CommandLine) -> Result<Command, AdminError>;

/// A leaf of the tree: its path, usage text and parser, and whether it changes state (then
/// every run of it is written as an audit line, see `audit.rs`).
struct Entry {
    path: &'static [&'static str],
    usage: &'static str,
    parse: Parser,
    mutates: bool,
}

/// The commands, by path. `set`, `show` and `describe` take their keys as trailing words.
const COMMANDS: &[Entry] = &[
    Entry {
        path: &["api-key", "create"],
        usage: api_key::CREATE_USAGE,
        parse: |l| api_key::Create::parse(l).map(Command::ApiKeyCreate),
        mutates: true,
    },
    Entry {
        path: &["api-key", "add"],
        usage: api_key::ADD_USAGE,
        parse: |l| api_key::Add::parse(l).map(Command::ApiKeyAdd),
        mutates: true,
    },
    Entry {
        path: &["api-key", "delete"],
        usage: api_key::DELETE_USAGE,
        parse: |l| api_key::Delete::parse(l).map(Command::ApiKeyDelete),
        mutates: true,
    },
    Entry {
        path: &["api-key", "show"],
        usage: api_key::SHOW_USAGE,
        parse: |l| api_key::Show::parse(l).map(Command::ApiKeyShow),
        mutates: false,
    },
    Entry {
        path: &["cluster", "show"],
        usage: cluster::SHOW_USAGE,
        parse: |l| cluster::Show::parse(l).map(Command::ClusterShow),
        mutates: false,
    },
    Entry {
        path: &["listener", "show"],
        usage: listener::SHOW_USAGE,
        parse: |l| listener::Show::parse(l).map(Command::ListenerShow),
        mutates: false,
    },
    Entry {
        path: &["listener", "start"],
        usage: listener_start::START_USAGE,
        parse: |l| listener_start::Start::parse(l).map(Command::ListenerStart),
        mutates: true,
    },
    Entry {
        path: &["listener", "stop"],
        usage: listener::STOP_USAGE,
        parse: |l| listener::Stop::parse(l).map(Command::ListenerStop),
        mutates: true,
    },
    Entry {
        path: &["listener", "restart"],
        usage: listener::RESTART_USAGE,
        parse: |l| listener::Restart::parse(l).map(Command::ListenerRestart),
        mutates: true,
    },
    Entry {
        path: &["listener", "delete"],
        usage: listener::DELETE_USAGE,
        parse: |l| listener::Delete::parse(l).map(Command::ListenerDelete),
        mutates: true,
    },
    Entry {
        path: &["metrics", "show"],
        usage: metrics::SHOW_USAGE,
        parse: |l| metrics::Show::parse(l).map(Command::MetricsShow),
        mutates: false,
    },
    Entry {
        path: &["metrics", "reset"],
        usage: metrics::RESET_USAGE,
        parse: |l| metrics::Reset::parse(l).map(Command::MetricsReset),
        mutates: true,
    },
    Entry {
        path: &["node", "status"],
        usage: node::STATUS_USAGE,
        parse: |l| node::Status::parse(l).map(Command::NodeStatus),
        mutates: false,
    },
    Entry {
        path: &["plugin", "show"],
        usage: plugin::SHOW_USAGE,
        parse: |l| plugin::Show::parse(l).map(Command::PluginShow),
        mutates: false,
    },
    Entry {
        path: &["plugin", "enable"],
        usage: plugin::ENABLE_USAGE,
        parse: |l| plugin::Enable::parse(l).map(Command::PluginEnable),
        mutates: true,
    },
    Entry {
        path: &["plugin", "disable"],
        usage: plugin::DISABLE_USAGE,
        parse: |l| plugin::Disable::parse(l).map(Command::PluginDisable),
        mutates: true,
    },
    Entry {
        path: &["retain", "show"],
        usage: retain::SHOW_USAGE,
        parse: |l| retain::Show::parse(l).map(Command::RetainShow),
        mutates: false,
    },
    Entry {
        path: &["retain", "delete"],
        usage: retain::DELETE_USAGE,
        parse: |l| retain::Delete::parse(l).map(Command::RetainDelete),
        mutates: true,
    },
    Entry {
        path: &["session", "show"],
        usage: session_show::SHOW_USAGE,
        parse: |l| session_show::Show::parse(l).map(Command::SessionShow),
        mutates: false,
    },
    Entry {
        path: &["session", "disconnect"],
        usage: session::DISCONNECT_USAGE,
        parse: |l| session::Disconnect::parse(l).map(Command::SessionDisconnect),
        mutates: true,
    },
    Entry {
        path: &["session", "disconnect", "clients"],
        usage: session::DISCONNECT_CLIENTS_USAGE,
        parse: |l| session::Disconnect::parse_clients(l).map(Command::SessionDisconnect),
        mutates: true,
    },
    Entry {
        path: &["session", "reauthorize"],
        usage: session::REAUTHORIZE_USAGE,
        parse: |l| session::Reauthorize::parse(l).map(Command::SessionReauthorize),
        mutates: true,
    },
    Entry {
        path: &["session", "unsubscribe"],
        usage: session::UNSUBSCRIBE_USAGE,
        parse: |l| session::Unsubscribe::parse(l).map(Command::SessionUnsubscribe),
        mutates: true,
    },
    Entry {
        path: &["trace", "client"],
        usage: trace::CLIENT_USAGE,
        parse: |l| trace::Client::parse(l).map(Command::TraceClient),
        mutates: false,
    },
    Entry {
        path: &["trace", "stop_all"],
        usage: trace::STOP_ALL_USAGE,
        parse: |l| trace::StopAll::parse(l).map(Command::TraceStopAll),
        mutates: true,
    },
    Entry {
        path: &["set"],
        usage: config::SET_USAGE,
        parse: |l| config::Set::parse(l).map(Command::ConfigSet),
        mutates: true,
    },
    Entry {
        path: &["show"],
        usage: config::SHOW_USAGE,
        parse: |l| config::Show::parse(l).map(Command::ConfigShow),
        mutates: false,
    },
    Entry {
        path: &["describe"],
        usage: config::DESCRIBE_USAGE,
        parse: |l| config::Describe::parse(l).map(Command::ConfigDescribe),
        mutates: false,
    },
    Entry {
        path: &["log", "show", "config"],
        usage: log::SHOW_CONFIG_USAGE,
        parse: |l| log::ShowConfig::parse(l).map(Command::LogShowConfig),
        mutates: false,
    },
    Entry {
        path: &["log", "level"],
        usage: log::LEVEL_USAGE,
        parse: |l| log::Level::parse(l).map(Command::LogLevel),
        mutates: true,
    },
];

/// Command groups and their usage, for `--help` on a group and for unknown commands.
const GROUPS: &[(&str, &str)] = &[
    ("api-key", api_key::GROUP_USAGE),
    ("cluster", cluster::GROUP_USAGE),
    ("listener", listener::GROUP_USAGE),
    ("log", log::GROUP_USAGE),
    ("metrics", metrics::GROUP_USAGE),
    ("node", node::GROUP_USAGE),
    ("plugin", plugin::GROUP_USAGE),
    ("retain", retain::GROUP_USAGE),
    ("session", session::GROUP_USAGE),
    ("trace", trace::GROUP_USAGE),
];

/// `vmq-admin` alone.
pub const TOP_USAGE: &str = "Usage: vmq-admin <sub-command>

  Administrate the cluster.

  Sub-commands:
    node        Manage this node
    cluster     Manage this node's cluster membership
    session     Retrieve session information
    retain      Show and filter MQTT retained messages
    listener    Manage listener interfaces
    plugin      Manage plugin system
    metrics     Show and reset the metrics
    api-key     Manage API keys for the HTTP management interface
    trace       Trace the MQTT packets of a client
    set         Set a configuration value at run time
    show        Show configuration values
    describe    Describe configuration keys
    log         Show and change log levels
  Use --help after a sub-command for more details.
";

/// Leaf commands whose trailing words are arguments (config keys), not a deeper path.
const KEYS_AS_WORDS: &[&str] = &["show", "describe"];

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
            Command::SessionShow(cmd) => Ok(cmd.execute(node)),
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

/// The path of every command, in table order (`http_requests` labels requests by them).
pub fn command_paths() -> impl Iterator<Item = &'static [&'static str]> {
    COMMANDS.iter().map(|entry| entry.path)
}

/// The table index of the command `line` names, if it names one.
pub fn command_index(line: &CommandLine) -> Option<usize> {
    index_for(&line.words)
}

/// The command the words name.
fn entry_for(words: &[String]) -> Option<&'static Entry> {
    index_for(words).map(|index| &COMMANDS[index])
}

fn index_for(words: &[String]) -> Option<usize> {
    COMMANDS.iter().position(|entry| match words.first() {
        Some(first) if KEYS_AS_WORDS.contains(&first.as_str()) => entry.path == [first.as_str()],
        _ => entry.path.iter().eq(words.iter()),
    })
}

/// Whether running `line` changes state (`--help` never does).
fn mutates(line: &CommandLine) -> bool {
    !line.help && entry_for(&line.words).is_some_and(|entry| entry.mutates)
}

fn is_group_path(words: &[String]) -> bool {
    match words {
        [] => true,
        [group] => GROUPS.iter().any(|(name, _)| name == group),
        _ => false,
    }
}

/// The usage of the deepest group the words reach (the top level if none).
fn group_usage(words: &[String]) -> &'static str {
    words
        .first()
        .and_then(|first| GROUPS.iter().find(|(name, _)| name == first))
        .map_or(TOP_USAGE, |(_, usage)| usage)
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
