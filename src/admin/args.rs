//! Checks a `CommandLine` against what one command accepts, and hands out typed arguments.

use super::cmdline::{names_flag, CommandLine};
use super::error::AdminError;

/// Whether a flag takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagValue {
    /// `--cleanup`.
    None,
    /// `--limit=10`.
    Required,
    /// Either form (`--aggregate` or `--aggregate=false`).
    Optional,
}

/// One flag a command accepts.
#[derive(Debug, Clone, Copy)]
pub struct FlagSpec {
    /// Long name, without dashes.
    pub name: &'static str,
    /// Single-letter alias, if any.
    pub short: Option<char>,
    /// Value rule.
    pub value: FlagValue,
}

impl FlagSpec {
    /// A flag without a value and without a short form.
    pub const fn switch(name: &'static str) -> Self {
        Self {
            name,
            short: None,
            value: FlagValue::None,
        }
    }
}

/// What a command accepts: its parameter names and flags.
#[derive(Debug, Clone, Copy)]
pub struct ArgSpec {
    /// Accepted `key=value` names.
    pub params: &'static [&'static str],
    /// Accepted flags.
    pub flags: &'static [FlagSpec],
}

impl ArgSpec {
    /// A command that takes no arguments at all.
    pub const NONE: ArgSpec = ArgSpec {
        params: &[],
        flags: &[],
    };
}

/// A command line that passed its command's checks.
#[derive(Debug)]
pub struct Args<'a> {
    params: &'a [(String, String)],
    flags: Vec<(&'static str, Option<&'a str>)>,
    usage: &'static str,
}

impl<'a> Args<'a> {
    /// Refuses malformed, unknown, repeated or mis-valued arguments, naming the first one.
    pub fn check(
        line: &'a CommandLine,
        spec: &ArgSpec,
        usage: &'static str,
    ) -> Result<Self, AdminError> {
        if let Some(problem) = &line.invalid {
            return Err(AdminError::bad_args(problem.clone(), usage));
        }
        for (i, (key, _)) in line.params.iter().enumerate() {
            if !spec.params.contains(&key.as_str()) {
                return Err(AdminError::bad_args(
                    format!("unknown parameter '{key}'"),
                    usage,
                ));
            }
            if line.params[..i].iter().any(|(k, _)| k == key) {
                return Err(AdminError::bad_args(
                    format!("parameter '{key}' given twice"),
                    usage,
                ));
            }
        }
        let mut flags = Vec::with_capacity(line.flags.len());
        for flag in &line.flags {
            let dashes = if flag.short { "-" } else { "--" };
            let Some(known) = spec
                .flags
                .iter()
                .find(|s| names_flag(flag, s.name, s.short))
            else {
                return Err(AdminError::bad_args(
                    format!("unknown flag '{dashes}{}'", flag.name),
                    usage,
                ));
            };
            match (known.value, &flag.value) {
                (FlagValue::Required, None) => {
                    return Err(AdminError::bad_args(
                        format!(
                            "flag --{} needs a value: --{}=<value>",
                            known.name, known.name
                        ),
                        usage,
                    ))
                }
                (FlagValue::None, Some(_)) => {
                    return Err(AdminError::bad_args(
                        format!("flag --{} takes no value", known.name),
                        usage,
                    ))
                }
                _ => flags.push((known.name, flag.value.as_deref())),
            }
        }
        Ok(Self {
            params: &line.params,
            flags,
            usage,
        })
    }

    /// A parameter's value, if given.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A mandatory parameter.
    pub fn require(&self, name: &str) -> Result<&'a str, AdminError> {
        self.param(name).ok_or_else(|| {
            AdminError::bad_args(format!("missing parameter {name}=<value>"), self.usage)
        })
    }

    /// Whether a flag was given (by long name).
    pub fn has_flag(&self, name: &str) -> bool {
        self.flags.iter().any(|(n, _)| *n == name)
    }

    /// A flag's value; `None` when the flag is absent or value-less.
    pub fn flag_value(&self, name: &str) -> Option<&'a str> {
        self.flags
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| *v)
    }

    /// A bad-argument error for this command (shows its usage).
    pub fn error(&self, message: impl Into<String>) -> AdminError {
        AdminError::bad_args(message, self.usage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: ArgSpec = ArgSpec {
        params: &["client-id"],
        flags: &[
            FlagSpec {
                name: "cleanup",
                short: Some('c'),
                value: FlagValue::None,
            },
            FlagSpec {
                name: "mountpoint",
                short: Some('m'),
                value: FlagValue::Required,
            },
        ],
    };

    fn check(argv: &[&str]) -> Result<(), String> {
        let line = CommandLine::from_argv(argv);
        Args::check(&line, &SPEC, "usage")
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_known_arguments_in_any_order() {
        let line = CommandLine::from_argv(&["-c", "client-id=a", "--mountpoint=m"]);
        let args = Args::check(&line, &SPEC, "usage").expect("valid");
        assert_eq!(args.param("client-id"), Some("a"));
        assert!(args.has_flag("cleanup"));
        assert_eq!(args.flag_value("mountpoint"), Some("m"));
        assert!(args.require("nope").is_err());
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(check(&["foo=1"])
            .expect_err("must fail")
            .contains("unknown parameter 'foo'"));
        assert!(check(&["--bogus"])
            .expect_err("must fail")
            .contains("unknown flag '--bogus'"));
        assert!(check(&["-z"])
            .expect_err("must fail")
            .contains("unknown flag '-z'"));
        assert!(check(&["client-id=a", "client-id=b"])
            .expect_err("must fail")
            .contains("twice"));
        assert!(check(&["--mountpoint"])
            .expect_err("must fail")
            .contains("needs a value"));
        assert!(check(&["--cleanup=yes"])
            .expect_err("must fail")
            .contains("takes no value"));
        assert!(check(&["client-id="])
            .expect_err("must fail")
            .contains("empty value"));
    }
}
