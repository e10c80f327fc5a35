//! The command table: every leaf command with its path, usage text, parser and whether it
//! changes state; the groups and their usage; looking a command up by its words.

use super::{
    api_key, cluster, config, listener, listener_start, log, metrics, node, plugin, retain,
    session, session_show, trace, AdminError, Command, CommandLine,
};

pub(super) type Parser = fn(&CommandLine) -> Result<Command, AdminError>;

/// A leaf of the tree: its path, usage text and parser, and whether it changes state (then
/// every run of it is written as an audit line, see `audit.rs`).
pub(super) struct Entry {
    pub(super) path: &'static [&'static str],
    pub(super) usage: &'static str,
    pub(super) parse: Parser,
    pub(super) mutates: bool,
}

/// The commands, by path. `set`, `show` and `describe` take their keys as trailing words.
pub(super) const COMMANDS: &[Entry] = &[
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
        path: &["cluster", "join"],
        usage: cluster::JOIN_USAGE,
        parse: |l| cluster::Join::parse(l).map(Command::ClusterJoin),
        mutates: true,
    },
    Entry {
        path: &["cluster", "leave"],
        usage: cluster::LEAVE_USAGE,
        parse: |l| cluster::Leave::parse(l).map(Command::ClusterLeave),
        mutates: true,
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
pub(super) const GROUPS: &[(&str, &str)] = &[
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

/// The path of every command, in table order (`http_requests` labels requests by them).
pub fn command_paths() -> impl Iterator<Item = &'static [&'static str]> {
    COMMANDS.iter().map(|entry| entry.path)
}

/// The table index of the command `line` names, if it names one.
pub fn command_index(line: &CommandLine) -> Option<usize> {
    index_for(&line.words)
}

/// The command the words name.
pub(super) fn entry_for(words: &[String]) -> Option<&'static Entry> {
    index_for(words).map(|index| &COMMANDS[index])
}

fn index_for(words: &[String]) -> Option<usize> {
    COMMANDS.iter().position(|entry| match words.first() {
        Some(first) if KEYS_AS_WORDS.contains(&first.as_str()) => entry.path == [first.as_str()],
        _ => entry.path.iter().eq(words.iter()),
    })
}

/// Whether running `line` changes state (`--help` never does).
pub(super) fn mutates(line: &CommandLine) -> bool {
    !line.help && entry_for(&line.words).is_some_and(|entry| entry.mutates)
}

pub(super) fn is_group_path(words: &[String]) -> bool {
    match words {
        [] => true,
        [group] => GROUPS.iter().any(|(name, _)| name == group),
        _ => false,
    }
}

/// The usage of the deepest group the words reach (the top level if none).
pub(super) fn group_usage(words: &[String]) -> &'static str {
    words
        .first()
        .and_then(|first| GROUPS.iter().find(|(name, _)| name == first))
        .map_or(TOP_USAGE, |(_, usage)| usage)
}
