//! `log show config` and `log level`: the node's log levels, changed at run time.

use super::args::{ArgSpec, Args};
use super::cmdline::CommandLine;
use super::error::AdminError;
use super::reply::{Reply, Table};
use crate::logging::{LogError, LogLevel, Logger};
use crate::node::Node;

/// `vmq-admin log`.
pub const GROUP_USAGE: &str = "Usage: vmq-admin log <sub-command>

  Show and change the node's log levels at run time.

  Sub-commands:
    show config   Shows the log handler and the levels in force
    level         Sets the level of the console or of one module
  Use --help after a sub-command for more details.
";

/// `vmq-admin log show config`.
pub const SHOW_CONFIG_USAGE: &str = "Usage: vmq-admin log show config

  Shows the levels in force: the console handler (all log lines go to stderr) and every
  module with a level of its own. Columns: logger, level, type, file.
";

/// `vmq-admin log level`.
pub const LEVEL_USAGE: &str = "Usage: vmq-admin log level logger=<logger> level=<level>

  Sets a log level at once, until the node restarts.

  logger=<logger>  console (every line without a level of its own), or a module path
                   such as vmq_actors::sessions or vmq_node::audit (the module and below)
  level=<level>    debug, info, warning, error or none (also trace, warn, off)
";

/// `log show config`.
#[derive(Debug)]
pub struct ShowConfig;

impl ShowConfig {
    /// Takes no arguments.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        Args::check(line, &ArgSpec::NONE, SHOW_CONFIG_USAGE).map(|_| Self)
    }

    /// One row per handler or module level: `logger`, `level`, `type`, `file`.
    pub fn execute(self, node: &Node) -> Reply {
        let mut table = Table::new(["logger", "level", "type", "file"]);
        for row in node.log.rows() {
            table.push(vec![
                row.logger.into(),
                row.level.into(),
                row.kind.into(),
                "-".into(),
            ]);
        }
        Reply::table(table)
    }
}

/// `log level logger=… level=…`.
#[derive(Debug)]
pub struct Level {
    logger: Logger,
    level: LogLevel,
}

impl Level {
    const SPEC: ArgSpec = ArgSpec {
        params: &["logger", "level"],
        flags: &[],
    };

    /// Both params are required, in any order.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::SPEC, LEVEL_USAGE)?;
        let logger = args.require("logger")?;
        let level = args.require("level")?;
        Ok(Self {
            logger: logger.parse().map_err(|e: String| args.error(e))?,
            level: level.parse().map_err(|e: String| args.error(e))?,
        })
    }

    /// Applies the level; answers `Done`.
    pub fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        node.log
            .set(self.logger, self.level)
            .map_err(|error| match error {
                LogError::Refused(message) => AdminError::bad_args(message, LEVEL_USAGE),
                LogError::Failed(_) => AdminError::Internal(error.to_string()),
            })?;
        Ok(Reply::text("Done"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<Level, String> {
        Level::parse(&CommandLine::from_argv(argv)).map_err(|e| e.to_string())
    }

    #[test]
    fn level_takes_logger_and_level_in_any_order() {
        let level = parse(&["level=debug", "logger=vmq_node::http"]).expect("valid");
        assert_eq!(level.logger, Logger::Target("vmq_node::http".into()));
        assert_eq!(level.level, LogLevel::Debug);
        let level = parse(&["logger=console", "level=warning"]).expect("valid");
        assert_eq!(level.logger, Logger::Console);
    }

    #[test]
    fn level_names_what_is_wrong() {
        assert!(parse(&["level=debug"])
            .expect_err("no logger")
            .contains("missing parameter logger"));
        assert!(parse(&["logger=console"])
            .expect_err("no level")
            .contains("missing parameter level"));
        assert!(parse(&["logger=console", "level=loud"])
            .expect_err("bad level")
            .contains("unknown level 'loud'"));
        assert!(parse(&["logger=a:b", "level=info"])
            .expect_err("bad logger")
            .contains("invalid logger 'a:b'"));
    }
}
