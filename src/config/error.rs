//! The two config errors: [`ConfigError`] stops the node at start, [`SetError`] refuses a `set`.

use std::fmt;

/// A config that cannot be used. It names where the problem is (file and line, or environment
/// variable), the key and what is wrong, so the node can print it and exit with EX_CONFIG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file, `environment variable DOCKER_VERNEMQ_X` or `built-in defaults`.
    pub source: String,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Why `set` changed nothing. `set` is all-or-nothing, so one bad pair refuses them all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetError {
    #[error("unknown config keys: {}", .0.join(", "))]
    UnknownKeys(Vec<String>),
    #[error("the following config keys are not settable: {}", .0.join(", "))]
    NotSettable(Vec<String>),
    #[error("invalid value '{value}' for {key}: {reason}")]
    InvalidValue {
        key: String,
        value: String,
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_error_display_names_source_line_and_key() {
        let error = ConfigError {
            source: "/etc/vernemq.conf".to_owned(),
            line: Some(12),
            key: Some("listener.http.default".to_owned()),
            message: "'abc' is not an ip:port (example: 127.0.0.1:8888)".to_owned(),
        };
        assert_eq!(
            error.to_string(),
            "/etc/vernemq.conf line 12: listener.http.default: 'abc' is not an ip:port (example: 127.0.0.1:8888)"
        );
        let error = ConfigError {
            source: "environment variable DOCKER_VERNEMQ_NOPE".to_owned(),
            line: None,
            key: None,
            message: "unknown".to_owned(),
        };
        assert_eq!(
            error.to_string(),
            "environment variable DOCKER_VERNEMQ_NOPE: unknown"
        );
    }

    #[test]
    fn set_error_display() {
        let keys = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(
            SetError::UnknownKeys(keys).to_string(),
            "unknown config keys: a, b"
        );
        assert_eq!(
            SetError::NotSettable(vec!["a".to_owned()]).to_string(),
            "the following config keys are not settable: a"
        );
        let invalid = SetError::InvalidValue {
            key: "max_offline_messages".to_owned(),
            value: "x".to_owned(),
            reason: "expected an integer ≥ -1".to_owned(),
        };
        assert_eq!(
            invalid.to_string(),
            "invalid value 'x' for max_offline_messages: expected an integer ≥ -1"
        );
    }
}
