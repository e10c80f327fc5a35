//! `plugin show|enable|disable`: the built-in plugins (`vmq_passwd`, `vmq_acl`) and their hooks.

use std::path::Path;

use vmq_actors::plugins::{HookInfo, PluginError};

use super::args::{ArgSpec, Args, FlagSpec, FlagValue};
use super::cmdline::CommandLine;
use super::error::AdminError;
use super::reply::{Reply, Table};
use crate::node::Node;

/// `vmq-admin plugin`.
pub const GROUP_USAGE: &str = "Usage: vmq-admin plugin <sub-command>

  Manage plugin system.

  Sub-commands:
    show        Show information about enabled plugins
    enable      Enable a plugin
    disable     Disable a plugin
  Use --help after a sub-command for more details.
";

/// `vmq-admin plugin show`.
pub const SHOW_USAGE: &str =
    "Usage: vmq-admin plugin show [--plugin=<PluginName>] [--hook=<Hook>] [--internal]

  Shows the enabled plugins: Plugin, Type, Hook(s) and M:F/A.

  --plugin=<PluginName>  only this plugin
  --hook=<Hook>          only plugins serving this hook, and only that hook
  --internal             also internal hooks
";

/// `vmq-admin plugin enable`.
pub const ENABLE_USAGE: &str = "Usage: vmq-admin plugin enable --name=<PluginName>

  Enables a built-in plugin: vmq_passwd (MQTT user names and passwords from
  vmq_passwd.password_file) or vmq_acl (topic access from vmq_acl.acl_file).
  Its file is read at once.

  --name=<PluginName>, -n   the plugin
  --path=<Dir>, -p          accepted for compatibility (must be a directory); not needed
  --module, --function, --arity, --hook
                            VerneMQ's module plugins; none exist here
";

/// `vmq-admin plugin disable`.
pub const DISABLE_USAGE: &str = "Usage: vmq-admin plugin disable --name=<PluginName>

  Disables a plugin until it is enabled again (or the node restarts). With vmq_passwd
  disabled only anonymous clients can connect (if allow_anonymous is on); with vmq_acl
  disabled no client may publish or subscribe.

  --name=<PluginName>, -n   the plugin
";

/// `plugin show`.
#[derive(Debug)]
pub struct Show {
    plugin: Option<String>,
    hook: Option<String>,
    internal: bool,
}

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

    /// Reads VerneMQ's filter flags.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::SPEC, SHOW_USAGE)?;
        Ok(Self {
            plugin: args.flag_value("plugin").map(str::to_owned),
            hook: args.flag_value("hook").map(str::to_owned),
            internal: args.has_flag("internal"),
        })
    }

    /// One row per enabled plugin; hooks and `module:function/arity` one per line, each line
    /// ending in a newline as in VerneMQ.
    pub fn execute(self, node: &Node) -> Reply {
        let mut table = Table::new(["Plugin", "Type", "Hook(s)", "M:F/A"]);
        for plugin in node.plugins.show() {
            if self.plugin.as_deref().is_some_and(|p| p != plugin.name) {
                continue;
            }
            let hooks: Vec<&HookInfo> = plugin
                .hooks
                .iter()
                .filter(|h| self.internal || !h.internal)
                .filter(|h| self.hook.as_deref().is_none_or(|name| h.hook == name))
                .collect();
            if self.hook.is_some() && hooks.is_empty() {
                continue;
            }
            let names: String = hooks.iter().map(|h| format!("{}\n", h.hook)).collect();
            let mfas: String = hooks
                .iter()
                .map(|h| format!("{}:{}/{}\n", h.module, h.function, h.arity))
                .collect();
            table.push(vec![
                plugin.name.into(),
                plugin.kind.into(),
                names.into(),
                mfas.into(),
            ]);
        }
        Reply::table(table)
    }
}

/// What `plugin enable|disable` names: a plugin, or (VerneMQ's other form) a module's function.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Plugin(String),
    Module {
        module: String,
        function: String,
        arity: u32,
    },
}

const TARGET_SPEC: ArgSpec = ArgSpec {
    params: &[],
    flags: &[
        with_value("name", Some('n')),
        with_value("path", Some('p')),
        with_value("module", Some('m')),
        with_value("function", Some('f')),
        with_value("arity", Some('a')),
        // VerneMQ's -h is lost to the global --help there too.
        with_value("hook", None),
    ],
};

const fn with_value(name: &'static str, short: Option<char>) -> FlagSpec {
    FlagSpec {
        name,
        short,
        value: FlagValue::Required,
    }
}

impl Target {
    fn parse(line: &CommandLine, usage: &'static str) -> Result<Self, AdminError> {
        let args = Args::check(line, &TARGET_SPEC, usage)?;
        if let Some(path) = args.flag_value("path").filter(|p| !Path::new(p).is_dir()) {
            return Err(args.error(format!("--path={path} is not a directory")));
        }
        if let Some(name) = args.flag_value("name") {
            return Ok(Target::Plugin(name.to_owned()));
        }
        let (Some(module), Some(function), Some(arity)) = (
            args.flag_value("module"),
            args.flag_value("function"),
            args.flag_value("arity"),
        ) else {
            return Err(args.error("Incomplete plugin specification"));
        };
        let arity = arity
            .parse()
            .map_err(|_| args.error(format!("--arity={arity} is not a number")))?;
        Ok(Target::Module {
            module: module.to_owned(),
            function: function.to_owned(),
            arity,
        })
    }

    /// Enables (or disables) the plugin; module plugins don't exist here.
    async fn apply(self, node: &Node, enable: bool) -> Result<Reply, AdminError> {
        let verb = if enable { "enable" } else { "disable" };
        let name = match self {
            Target::Plugin(name) => name,
            Target::Module {
                module,
                function,
                arity,
            } => {
                return Err(AdminError::NotFound(format!(
                    "Can't {verb} module plugin: {{{module},{function},{arity}}} due to \
                     unknown_module (only the built-in plugins vmq_passwd and vmq_acl exist; use --name)"
                )))
            }
        };
        let outcome = if enable {
            node.plugins.enable(&name).await
        } else {
            node.plugins.disable(&name).await
        };
        outcome.map(|()| Reply::done()).map_err(|error| {
            let message = format!("Can't {verb} plugin: {name} due to {}", error.reason());
            match error {
                PluginError::Unknown(_) => AdminError::NotFound(format!(
                    "{message} (the built-in plugins are vmq_passwd and vmq_acl)"
                )),
                PluginError::AlreadyEnabled(_) | PluginError::NotEnabled(_) => {
                    AdminError::Conflict(message)
                }
                PluginError::Unavailable(_) => AdminError::Unavailable(message),
            }
        })
    }
}

/// `plugin enable`.
#[derive(Debug)]
pub struct Enable(Target);

impl Enable {
    /// `--name=<plugin>` (or VerneMQ's `--module`/`--function`/`--arity`).
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        Target::parse(line, ENABLE_USAGE).map(Self)
    }

    /// `Done`; 404 for an unknown plugin, 409 if it is enabled already.
    pub async fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        self.0.apply(node, true).await
    }
}

/// `plugin disable`.
#[derive(Debug)]
pub struct Disable(Target);

impl Disable {
    /// `--name=<plugin>` (or VerneMQ's `--module`/`--function`/`--arity`).
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        Target::parse(line, DISABLE_USAGE).map(Self)
    }

    /// `Done`; 404 for an unknown plugin, 409 if it is not enabled.
    pub async fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        self.0.apply(node, false).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(argv: &[&str]) -> Result<Target, String> {
        Target::parse(&CommandLine::from_argv(argv), ENABLE_USAGE).map_err(|e| e.to_string())
    }

    #[test]
    fn a_plugin_by_name_or_a_whole_module_spec() {
        assert_eq!(
            target(&["--name=vmq_acl"]),
            Ok(Target::Plugin("vmq_acl".into()))
        );
        assert_eq!(
            target(&["-n", "vmq_acl"]),
            Ok(Target::Plugin("vmq_acl".into()))
        );
        assert_eq!(
            target(&["-m", "m", "-f", "f", "--arity=2"]),
            Ok(Target::Module {
                module: "m".into(),
                function: "f".into(),
                arity: 2
            })
        );
        for incomplete in [&[][..], &["-m", "m"], &["--hook=auth_on_register"]] {
            assert_eq!(
                target(incomplete),
                Err("Incomplete plugin specification".to_owned())
            );
        }
        assert!(target(&["-m", "m", "-f", "f", "-a", "x"])
            .expect_err("bad arity")
            .contains("not a number"));
        assert!(target(&["--name=vmq_acl", "--path=/no/such/dir"])
            .expect_err("bad path")
            .contains("not a directory"));
        assert!(target(&["--name=vmq_acl", "--bogus"]).is_err());
    }
}
