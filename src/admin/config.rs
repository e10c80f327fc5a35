//! `set`, `show` and `describe`: configuration at run time, over the typed schema in `crate::config`.

use super::args::{ArgSpec, Args};
use super::cmdline::CommandLine;
use super::error::AdminError;
use super::reply::{Cell, Reply, Table};
use crate::config::Config;
use crate::node::Node;

/// `vmq-admin set`.
pub const SET_USAGE: &str =
    "Usage: vmq-admin set <variable>=<value> [<variable>=<value> ...] [--all | -a]

  Sets configuration values at run time, on this node. Only settable keys are accepted
  (see `vmq-admin describe <variable>`); every value is checked before any is applied.
  Values set this way are not written to vernemq.conf and last until the node restarts.

  -a, --all
      Sets them on every node of the cluster, through the cluster metadata (needs a quorum):
      a node that is down takes them when it is back, and every node applies them again at
      start.
";

/// `vmq-admin show`.
pub const SHOW_USAGE: &str = "Usage: vmq-admin show <variable> [<variable> ...]

  Shows the current value of configuration variables.
";

/// `vmq-admin describe`.
pub const DESCRIBE_USAGE: &str = "Usage: vmq-admin describe <variable> [<variable> ...]

  Describes configuration variables.
";

/// `set k=v … [--all]`.
#[derive(Debug)]
pub struct Set {
    changes: Vec<(String, String)>,
    all: bool,
}

impl Set {
    /// Every `key=value` is a change; which keys exist is the schema's business.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        if let Some(problem) = &line.invalid {
            return Err(AdminError::bad_args(problem.clone(), SET_USAGE));
        }
        let all = line.flag("all", Some('a')).is_some();
        if let Some(flag) = line
            .flags
            .iter()
            .find(|f| !matches!(f.name.as_str(), "all" | "a"))
        {
            return Err(AdminError::bad_args(
                format!("unknown flag '--{}'", flag.name),
                SET_USAGE,
            ));
        }
        if line.params.is_empty() {
            return Err(AdminError::bad_args(
                "nothing to set: give <variable>=<value>",
                SET_USAGE,
            ));
        }
        Ok(Self {
            changes: line.params.clone(),
            all,
        })
    }

    /// Applies all changes or none; answers one `<key> set to "<value>"` line per key (with
    /// `--all`, a `Node`/`Node Down/Unreachable`/`Result` table).
    pub async fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        if self.all {
            return super::config_all::set_everywhere(node, self.changes).await;
        }
        node.settings
            .set(self.changes.clone())
            .await?
            .map_err(|e| AdminError::bad_args(e.to_string(), SET_USAGE))?;
        reconfigure_plugins(node, &self.changes).await?;
        let lines: Vec<String> = self
            .changes
            .iter()
            .map(|(key, value)| format!("{key} set to \"{value}\""))
            .collect();
        tracing::info!(changes = ?self.changes, "configuration changed at run time");
        Ok(Reply::text(lines.join("\n")))
    }
}

/// A `set` of a plugin's file or reload interval takes effect at once: the plugin manager gets
/// the new value and re-reads the file (as VerneMQ's `change_config` hook does), even when the
/// value is unchanged, so `set vmq_acl.acl_file=<same path>` forces a reload.
pub(crate) async fn reconfigure_plugins(
    node: &Node,
    changes: &[(String, String)],
) -> Result<(), AdminError> {
    let config = node.config();
    let wanted = config.plugins();
    let plugins = &node.plugins;
    for (key, _) in changes {
        let outcome = match key.as_str() {
            "vmq_passwd.password_file" => {
                plugins
                    .set_password_file(wanted.password_file.clone())
                    .await
            }
            "vmq_acl.acl_file" => plugins.set_acl_file(wanted.acl_file.clone()).await,
            "vmq_passwd.password_reload_interval" => {
                plugins
                    .set_password_reload_interval(wanted.password_reload_interval)
                    .await
            }
            "vmq_acl.acl_reload_interval" => {
                plugins
                    .set_acl_reload_interval(wanted.acl_reload_interval)
                    .await
            }
            _ => Ok(()),
        };
        outcome.map_err(|e| {
            AdminError::Unavailable(format!(
                "{key} is set, but the plugins did not take it: {e}"
            ))
        })?;
    }
    Ok(())
}

/// `show k …`.
#[derive(Debug)]
pub struct Show {
    keys: Vec<String>,
}

impl Show {
    /// The keys are the words after `show`.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let keys = config_keys(line, SHOW_USAGE)?;
        Ok(Self { keys })
    }

    /// A table: `node`, then one column per key.
    pub fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        let config = node.config();
        let mut row: Vec<Cell> = vec![node.name().as_str().into()];
        row.extend(
            self.keys
                .iter()
                .map(|key| Cell::from(config.get(key).map(str::to_owned))),
        );
        let mut table = Table::new(std::iter::once("node".to_owned()).chain(self.keys));
        table.push(row);
        Ok(Reply::table(table))
    }
}

/// `describe k …`.
#[derive(Debug)]
pub struct Describe {
    keys: Vec<String>,
}

impl Describe {
    /// The keys are the words after `describe`.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let keys = config_keys(line, DESCRIBE_USAGE)?;
        Ok(Self { keys })
    }

    /// `<key>:` and the documentation, indented, per key.
    pub fn execute(self) -> Result<Reply, AdminError> {
        let texts: Vec<String> = self
            .keys
            .iter()
            .map(|key| {
                let doc = Config::describe(key).unwrap_or_default();
                let indented: Vec<String> = doc.lines().map(|l| format!("  {l}")).collect();
                format!("{key}:\n{}", indented.join("\n"))
            })
            .collect();
        Ok(Reply::text(texts.join("\n")))
    }
}

/// The words after the command word, each a known config key; no other arguments.
fn config_keys(line: &CommandLine, usage: &'static str) -> Result<Vec<String>, AdminError> {
    Args::check(line, &ArgSpec::NONE, usage)?;
    let keys: Vec<String> = line.words.iter().skip(1).cloned().collect();
    if keys.is_empty() {
        return Err(AdminError::bad_args(
            "give at least one configuration variable",
            usage,
        ));
    }
    let unknown: Vec<&str> = keys
        .iter()
        .filter(|key| !Config::is_known_key(key))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(AdminError::bad_args(
            format!("unknown config keys: {}", unknown.join(", ")),
            usage,
        ));
    }
    Ok(keys)
}
