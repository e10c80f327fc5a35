//! Runtime `set` ([`Config::apply`], also the settings actor's [`vmq_actors::RuntimeSettings`])
//! and what the schema says of a key (`describe`, whether it exists).

use super::settings::{self, Rejection, Settings};
use super::{schema, Config, SetError};

impl Config {
    /// A runtime `set`: every key must exist and be settable and every value valid, else nothing
    /// changes. Returns the new config; `self` is untouched.
    pub fn apply(&self, changes: &[(String, String)]) -> Result<Config, SetError> {
        let unknown = keys_where(changes, |key| schema::find(key).is_none());
        if !unknown.is_empty() {
            return Err(SetError::UnknownKeys(unknown));
        }
        let fixed = keys_where(changes, |key| {
            schema::find(key).is_some_and(|s| !s.settable)
        });
        if !fixed.is_empty() {
            return Err(SetError::NotSettable(fixed));
        }
        let mut settings = Settings::from_values(&self.values);
        for (key, raw) in changes {
            let raw = raw.trim();
            let (_, value) = settings::check(key, raw).map_err(|rejection| {
                let reason = match rejection {
                    Rejection::InvalidValue { expected } => format!("expected {expected}"),
                    other => other.message(raw),
                };
                invalid_value(key, raw, reason)
            })?;
            settings.set(key, value);
        }
        Config::from_settings(settings).map_err(|error| {
            let key = error.key.unwrap_or_default();
            let value = changes.iter().rev().find(|(k, _)| *k == key);
            let value = value.map(|(_, v)| v.as_str()).unwrap_or_default();
            invalid_value(&key, value, error.message)
        })
    }

    /// The doc text of `key` for `describe`: a doc line, then `value: …`, `default: …` (when
    /// there is one) and `settable at runtime: yes|no`. Accepts concrete keys
    /// (`listener.http.admin`) and patterns (`listener.http.$name`).
    pub fn describe(key: &str) -> Option<String> {
        let spec = schema::find(key).or_else(|| schema::find_pattern(key))?;
        Some(spec.describe())
    }

    /// Whether `key` names a config key (wildcards filled in: `listener.http.admin`).
    pub fn is_known_key(key: &str) -> bool {
        schema::find(key).is_some()
    }
}

/// `set` at run time goes through the settings actor, which calls this.
impl vmq_actors::RuntimeSettings for Config {
    type Error = SetError;

    fn apply(&self, changes: &[(String, String)]) -> Result<Self, SetError> {
        Config::apply(self, changes)
    }
}

/// The distinct keys of `changes` that satisfy `predicate`, in order of first appearance.
fn keys_where(changes: &[(String, String)], predicate: impl Fn(&str) -> bool) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for (key, _) in changes {
        if predicate(key) && !keys.contains(key) {
            keys.push(key.clone());
        }
    }
    keys
}

fn invalid_value(key: &str, value: &str, reason: String) -> SetError {
    SetError::InvalidValue {
        key: key.to_owned(),
        value: value.to_owned(),
        reason,
    }
}
