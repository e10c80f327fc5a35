//! The key → value map while a config is assembled, layer by layer (file, environment, defaults),
//! remembering where each value came from so that later errors can name the line or variable.

use std::collections::BTreeMap;

use crate::config::env::{self, EnvVar};
use crate::config::keys;
use crate::config::parser::Entry;
use crate::config::schema::{self, KeySpec, Lookup, NAME};
use crate::config::{ConfigError, HttpModule};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File {
        line: usize,
    },
    Env {
        var: String,
    },
    /// Already part of a running config (the base of a runtime `set`).
    Runtime,
}

#[derive(Debug, Clone)]
struct Setting {
    value: String,
    origin: Origin,
}

/// Why a `key = value` pair is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    UnknownKey,
    UnknownModule(String),
    InvalidValue { expected: String },
}

impl Rejection {
    /// The message for a config error about `value`.
    pub fn message(&self, value: &str) -> String {
        match self {
            Rejection::UnknownKey => "unknown config key".to_owned(),
            Rejection::UnknownModule(module) => {
                let known: Vec<&str> = HttpModule::ALL.iter().map(|m| m.name()).collect();
                format!(
                    "unknown HTTP module '{module}' (known: {})",
                    known.join(", ")
                )
            }
            Rejection::InvalidValue { expected } => format!("'{value}' is not {expected}"),
        }
    }
}

/// Checks a pair against the schema and returns the spec and the normalized value.
pub fn check(key: &str, raw: &str) -> Result<(&'static KeySpec, String), Rejection> {
    match schema::lookup(key) {
        Lookup::Found(spec) => spec
            .kind
            .normalize(raw)
            .map(|value| (spec, value))
            .map_err(|expected| Rejection::InvalidValue { expected }),
        Lookup::UnknownModule(module) => Err(Rejection::UnknownModule(module.to_owned())),
        Lookup::Unknown => Err(Rejection::UnknownKey),
    }
}

/// The map under construction.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Name of the config file (or what stands for it) in error messages.
    source: String,
    entries: BTreeMap<String, Setting>,
}

impl Settings {
    pub fn new(source: &str) -> Self {
        Self {
            source: source.to_owned(),
            entries: BTreeMap::new(),
        }
    }

    /// The settings of a running config, as the base for a change.
    pub fn from_values(values: &BTreeMap<String, String>) -> Self {
        let entries = values.iter().map(|(key, value)| {
            let setting = Setting {
                value: value.clone(),
                origin: Origin::Runtime,
            };
            (key.clone(), setting)
        });
        Self {
            source: "runtime config".to_owned(),
            entries: entries.collect(),
        }
    }

    /// Adds the file's entries; a later line for the same key wins.
    pub fn add_file(&mut self, entries: Vec<Entry>) -> Result<(), ConfigError> {
        for entry in entries {
            let origin = Origin::File { line: entry.line };
            self.insert_checked(&entry.key, &entry.value, origin)?;
        }
        Ok(())
    }

    /// Adds `DOCKER_VERNEMQ_*` overrides, which win over the file.
    pub fn add_env(&mut self, env: &[(String, String)]) -> Result<(), ConfigError> {
        for (name, value) in env {
            if let EnvVar::Override(key) = env::classify(name) {
                let origin = Origin::Env { var: name.clone() };
                self.insert_checked(&key, value.trim(), origin)?;
            }
        }
        Ok(())
    }

    /// Replaces one value (a runtime `set`); the caller has checked it.
    pub fn set(&mut self, key: &str, value: String) {
        let setting = Setting {
            value,
            origin: Origin::Runtime,
        };
        self.entries.insert(key.to_owned(), setting);
    }

    fn insert_checked(&mut self, key: &str, raw: &str, origin: Origin) -> Result<(), ConfigError> {
        match check(key, raw) {
            Ok((_, value)) => {
                self.entries
                    .insert(key.to_owned(), Setting { value, origin });
                Ok(())
            }
            Err(rejection) => {
                // An unknown variable is named by itself; its derived key would only confuse.
                if let (Rejection::UnknownKey, Origin::Env { .. }) = (&rejection, &origin) {
                    let message = "names no config key (write DOCKER_VERNEMQ_ and the key \
                                   upper-cased, with each . as __)";
                    return Err(self.error_from(&origin, None, message.to_owned()));
                }
                Err(self.error_from(&origin, Some(key.to_owned()), rejection.message(raw)))
            }
        }
    }

    /// Fills in defaults; see the kinds of defaults in `schema`.
    pub fn add_defaults(&mut self) {
        for spec in keys::all() {
            match spec.default {
                Some(default) if !spec.pattern.contains('$') => {
                    self.insert_default(spec.pattern.to_owned(), default);
                }
                Some(default) if spec.is_listener_address() && !self.declares_any(spec) => {
                    self.insert_default(spec.pattern.replace(NAME, "default"), default);
                }
                _ => {}
            }
        }
        for spec in keys::all() {
            if let (Some(default), Some((prefix, suffix))) =
                (spec.default, spec.pattern.split_once(NAME))
            {
                if !suffix.is_empty() {
                    self.add_attribute_default(&format!("{prefix}{NAME}"), suffix, default);
                }
            }
        }
        for module in HttpModule::ALL {
            let key = format!("http_module.{}.auth.mode", module.name());
            self.insert_default(key, module.default_auth_mode().as_str());
        }
    }

    fn declares_any(&self, spec: &KeySpec) -> bool {
        self.entries
            .keys()
            .any(|key| schema::find(key).is_some_and(|found| found.pattern == spec.pattern))
    }

    fn add_attribute_default(&mut self, listener_pattern: &str, suffix: &str, default: &str) {
        let listeners: Vec<String> = self
            .entries
            .keys()
            .filter(|key| schema::find(key).is_some_and(|spec| spec.pattern == listener_pattern))
            .cloned()
            .collect();
        for listener in listeners {
            self.insert_default(format!("{listener}{suffix}"), default);
        }
    }

    fn insert_default(&mut self, key: String, default: &str) {
        self.entries.entry(key).or_insert_with(|| Setting {
            value: default.to_owned(),
            origin: Origin::Default,
        });
    }

    /// Every key under a listener (`listener.https.x.certfile`) needs that listener declared.
    pub fn check_declared_listeners(&self) -> Result<(), ConfigError> {
        for key in self.entries.keys() {
            let listener = schema::find(key).and_then(|spec| spec.listener_key_of(key));
            if let Some(listener) = listener.filter(|l| !self.entries.contains_key(*l)) {
                let message = format!(
                    "listener {listener} is not declared; add `{listener} = ip:port` or remove this key"
                );
                return Err(self.error(key, message));
            }
        }
        Ok(())
    }

    pub fn value(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(|setting| setting.value.as_str())
    }

    /// Keys (with values) whose spec has exactly this pattern, in key order.
    pub fn matching<'s>(&'s self, pattern: &'s str) -> impl Iterator<Item = (&'s str, &'s str)> {
        self.entries.iter().filter_map(move |(key, setting)| {
            let spec = schema::find(key)?;
            (spec.pattern == pattern).then_some((key.as_str(), setting.value.as_str()))
        })
    }

    /// An error about `key`, located where its value came from.
    pub fn error(&self, key: &str, message: String) -> ConfigError {
        let origin = self
            .entries
            .get(key)
            .map_or(Origin::Default, |setting| setting.origin.clone());
        self.error_from(&origin, Some(key.to_owned()), message)
    }

    fn error_from(&self, origin: &Origin, key: Option<String>, message: String) -> ConfigError {
        let (source, line) = match origin {
            Origin::Default => ("built-in defaults".to_owned(), None),
            Origin::File { line } => (self.source.clone(), Some(*line)),
            Origin::Env { var } => (format!("environment variable {var}"), None),
            Origin::Runtime => (self.source.clone(), None),
        };
        ConfigError {
            source,
            line,
            key,
            message,
        }
    }

    /// The final key → value map.
    pub fn into_values(self) -> BTreeMap<String, String> {
        self.entries
            .into_iter()
            .map(|(key, setting)| (key, setting.value))
            .collect()
    }
}
