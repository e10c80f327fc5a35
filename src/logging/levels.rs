//! The log filter as data: the console level, per-target levels, and the `EnvFilter` text they make.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use tracing_subscriber::filter::Directive;

/// A level as `log level` and `log.console.level` name it (VerneMQ's words; Rust's accepted too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// `trace`.
    Trace,
    /// `debug`.
    Debug,
    /// `info`.
    Info,
    /// `warning` (or `warn`).
    Warning,
    /// `error`.
    Error,
    /// `none` (or `off`): nothing.
    None,
}

/// The level words `log level` accepts, for error messages.
pub const LEVEL_WORDS: &str = "debug, info, warning, error, none (or trace, warn, off)";

impl LogLevel {
    /// The word in an `EnvFilter` directive.
    fn directive_word(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warning => "warn",
            LogLevel::Error => "error",
            LogLevel::None => "off",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
            LogLevel::None => "none",
        })
    }
}

impl FromStr for LogLevel {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "trace" => Ok(LogLevel::Trace),
            "debug" => Ok(LogLevel::Debug),
            "info" => Ok(LogLevel::Info),
            "warning" | "warn" => Ok(LogLevel::Warning),
            "error" => Ok(LogLevel::Error),
            "none" | "off" => Ok(LogLevel::None),
            _ => Err(format!("unknown level '{text}': use {LEVEL_WORDS}")),
        }
    }
}

/// What `log level logger=…` addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logger {
    /// The console handler: the level of everything without a level of its own.
    Console,
    /// A module target and everything below it, e.g. `vmq_actors::sessions`.
    Target(String),
}

/// Longer logger names are refused (no module path is that long).
const MAX_TARGET_LEN: usize = 200;

impl FromStr for Logger {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text == "console" {
            return Ok(Logger::Console);
        }
        let is_ident = |part: &str| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if text.len() <= MAX_TARGET_LEN && text.split("::").all(is_ident) {
            Ok(Logger::Target(text.to_owned()))
        } else {
            Err(format!(
                "invalid logger '{text}': use console or a module path such as vmq_actors::sessions"
            ))
        }
    }
}

/// More per-target levels than this are refused: each one is checked on every log call site.
pub const MAX_TARGETS: usize = 64;

/// The levels in force: what `log show config` lists and what the subscriber's filter is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter {
    console: LogLevel,
    targets: BTreeMap<String, LogLevel>,
    /// `RUST_LOG` directives that are more than `target=level` (span or field filters), kept as given.
    extra: Vec<String>,
}

/// One row of `log show config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggerRow {
    /// `console`, a module target, or a `RUST_LOG` directive kept as given.
    pub logger: String,
    /// The level word (`-` for a kept directive).
    pub level: String,
    /// `stderr` for the console handler, `target` for a module level, `directive` for a kept directive.
    pub kind: &'static str,
}

impl LogFilter {
    /// Everything at `console`.
    pub fn new(console: LogLevel) -> Self {
        Self {
            console,
            targets: BTreeMap::new(),
            extra: Vec::new(),
        }
    }

    /// `log.console.level`, then `RUST_LOG` on top: a bare level replaces the console level,
    /// `target=level` sets a target; other valid directives are kept as given. Returns the
    /// directives that did not parse (they are ignored).
    pub fn with_rust_log(console: LogLevel, rust_log: &str) -> (Self, Vec<String>) {
        let mut filter = Self::new(console);
        let mut rejected = Vec::new();
        for directive in rust_log.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            if let Ok(level) = directive.parse::<LogLevel>() {
                filter.console = level;
                continue;
            }
            let target_level = directive.split_once('=').and_then(|(target, level)| {
                Some((
                    target.parse::<Logger>().ok()?,
                    level.parse::<LogLevel>().ok()?,
                ))
            });
            match target_level {
                Some((Logger::Target(target), level)) => {
                    filter.targets.insert(target, level);
                }
                _ if directive.parse::<Directive>().is_ok() => {
                    filter.extra.push(directive.to_owned());
                }
                _ => rejected.push(directive.to_owned()),
            }
        }
        (filter, rejected)
    }

    /// Sets the console level or one target's level.
    pub fn set(&mut self, logger: Logger, level: LogLevel) -> Result<(), String> {
        match logger {
            Logger::Console => self.console = level,
            Logger::Target(target) => {
                if self.targets.len() >= MAX_TARGETS && !self.targets.contains_key(&target) {
                    return Err(format!(
                        "too many logger levels: at most {MAX_TARGETS} modules may have their own"
                    ));
                }
                self.targets.insert(target, level);
            }
        }
        Ok(())
    }

    /// The `EnvFilter` text: the console level first, then the targets, then kept directives.
    pub fn directives(&self) -> String {
        let mut text = self.console.directive_word().to_owned();
        for (target, level) in &self.targets {
            text.push(',');
            text.push_str(target);
            text.push('=');
            text.push_str(level.directive_word());
        }
        for directive in &self.extra {
            text.push(',');
            text.push_str(directive);
        }
        text
    }

    /// The rows of `log show config`: the console handler, then each target, then kept directives.
    pub fn rows(&self) -> Vec<LoggerRow> {
        let console = LoggerRow {
            logger: "console".to_owned(),
            level: self.console.to_string(),
            kind: "stderr",
        };
        let targets = self.targets.iter().map(|(target, level)| LoggerRow {
            logger: target.clone(),
            level: level.to_string(),
            kind: "target",
        });
        let extra = self.extra.iter().map(|directive| LoggerRow {
            logger: directive.clone(),
            level: "-".to_owned(),
            kind: "directive",
        });
        std::iter::once(console)
            .chain(targets)
            .chain(extra)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_in_vernemq_and_rust_words() {
        for (text, level) in [
            ("debug", LogLevel::Debug),
            ("INFO", LogLevel::Info),
            ("warning", LogLevel::Warning),
            ("warn", LogLevel::Warning),
            ("error", LogLevel::Error),
            ("none", LogLevel::None),
            ("off", LogLevel::None),
            ("trace", LogLevel::Trace),
        ] {
            assert_eq!(text.parse::<LogLevel>(), Ok(level), "{text}");
        }
        let error = "loud".parse::<LogLevel>().expect_err("unknown");
        assert!(
            error.contains("'loud'") && error.contains("debug, info"),
            "{error}"
        );
        assert_eq!(LogLevel::Warning.to_string(), "warning");
        assert_eq!(LogLevel::None.to_string(), "none");
    }

    #[test]
    fn loggers_are_console_or_module_paths() {
        assert_eq!("console".parse::<Logger>(), Ok(Logger::Console));
        assert_eq!(
            "vmq_actors::sessions".parse::<Logger>(),
            Ok(Logger::Target("vmq_actors::sessions".into()))
        );
        assert_eq!("h2".parse::<Logger>(), Ok(Logger::Target("h2".into())));
        for bad in [
            "", "a::", "::a", "a:b", "a=b", "a b", "1abc", "a[b]", "vmq-node",
        ] {
            assert!(bad.parse::<Logger>().is_err(), "{bad:?}");
        }
        assert!("a".repeat(MAX_TARGET_LEN + 1).parse::<Logger>().is_err());
    }

    #[test]
    fn set_changes_the_directives_and_the_rows() {
        let mut filter = LogFilter::new(LogLevel::Info);
        assert_eq!(filter.directives(), "info");
        filter
            .set(Logger::Target("vmq_node::http".into()), LogLevel::Debug)
            .expect("set");
        filter.set(Logger::Console, LogLevel::Warning).expect("set");
        filter
            .set(Logger::Target("h2".into()), LogLevel::None)
            .expect("set");
        assert_eq!(filter.directives(), "warn,h2=off,vmq_node::http=debug");
        let rows: Vec<(String, String, &str)> = filter
            .rows()
            .into_iter()
            .map(|r| (r.logger, r.level, r.kind))
            .collect();
        assert_eq!(
            rows,
            [
                ("console".into(), "warning".into(), "stderr"),
                ("h2".into(), "none".into(), "target"),
                ("vmq_node::http".into(), "debug".into(), "target"),
            ]
        );
    }

    #[test]
    fn the_number_of_targets_is_capped() {
        let mut filter = LogFilter::new(LogLevel::Info);
        for i in 0..MAX_TARGETS {
            filter
                .set(Logger::Target(format!("m{i}")), LogLevel::Debug)
                .expect("below the cap");
        }
        assert!(filter
            .set(Logger::Target("one_more".into()), LogLevel::Debug)
            .is_err());
        // Changing one that exists is still possible.
        filter
            .set(Logger::Target("m0".into()), LogLevel::Error)
            .expect("existing target");
    }

    #[test]
    fn rust_log_overrides_the_console_level_and_adds_targets() {
        let (filter, rejected) = LogFilter::with_rust_log(
            LogLevel::Info,
            "debug, vmq_node::http=trace,h2[conn]=warn,=bad=",
        );
        assert_eq!(
            filter.directives(),
            "debug,vmq_node::http=trace,h2[conn]=warn"
        );
        assert_eq!(rejected, ["=bad="]);
        assert_eq!(filter.rows()[2].kind, "directive");
        // Without a bare level, the configured level stays for everything else.
        let (filter, _) = LogFilter::with_rust_log(LogLevel::Warning, "vmq_node=debug");
        assert_eq!(filter.directives(), "warn,vmq_node=debug");
    }
}
