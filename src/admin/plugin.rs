//! `plugin show`: the enabled plugins and the hooks they serve.

use super::args::{ArgSpec, Args, FlagSpec, FlagValue};
use super::cmdline::CommandLine;
use super::error::AdminError;
use super::reply::{Reply, Table};

/// `vmq-admin plugin`.
pub const GROUP_USAGE: &str = "Usage: vmq-admin plugin <sub-command>

  Manage plugin system.

  Sub-commands:
    show        Show information about enabled plugins
  Use --help after a sub-command for more details.
";

/// `vmq-admin plugin show`.
pub const SHOW_USAGE: &str =
    "Usage: vmq-admin plugin show [--plugin=<PluginName>] [--hook=<Hook>] [--internal]

  Shows the enabled plugins: Plugin, Type, Hook(s) and M:F/A.

  --plugin=<PluginName>  only this plugin
  --hook=<Hook>          only plugins serving this hook
  --internal             also internal plugins
";

/// `plugin show`.
#[derive(Debug)]
pub struct Show;

impl Show {
    const SPEC: ArgSpec = ArgSpec {
        params: &[],
        flags: &[
            FlagSpec {
                name: "plugin",
                short: None,
                value: FlagValue::Required,
            },
            FlagSpec {
                name: "hook",
                short: None,
                value: FlagValue::Required,
            },
            FlagSpec::switch("internal"),
        ],
    };

    /// Accepts VerneMQ's filter flags.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        Args::check(line, &Self::SPEC, SHOW_USAGE).map(|_| Self)
    }

    /// No plugin exists yet, so the table is empty; its columns are VerneMQ's.
    pub fn execute(self) -> Reply {
        Reply::table(Table::new(["Plugin", "Type", "Hook(s)", "M:F/A"]))
    }
}
