//! `DOCKER_VERNEMQ_*` environment overrides.

use super::{config_with_env, error_with_env};
use crate::config::{BOOTSTRAP_KEY_ENV, BOOTSTRAP_SCOPE_ENV};

#[test]
fn env_wins_over_the_file() {
    let config = config_with_env(
        "allow_anonymous = on\nmax_offline_messages = 5\n",
        &[
            ("DOCKER_VERNEMQ_ALLOW_ANONYMOUS", "off"),
            ("DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT", "0.0.0.0:1883"),
            ("DOCKER_VERNEMQ_LOG__CONSOLE__LEVEL", "warning"),
        ],
    );
    assert_eq!(config.get("allow_anonymous"), Some("off"));
    assert_eq!(config.get("max_offline_messages"), Some("5"));
    assert_eq!(config.get("listener.tcp.default"), Some("0.0.0.0:1883"));
    assert_eq!(config.log_level(), "warning");
}

#[test]
fn env_listener_declarations_replace_the_default_like_file_ones() {
    let config = config_with_env(
        "",
        &[("DOCKER_VERNEMQ_LISTENER__HTTP__ADMIN", "127.0.0.1:9000")],
    );
    let names: Vec<&str> = config
        .http_listeners()
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(names, ["admin"]);
}

#[test]
fn bootstrap_and_unrelated_variables_are_ignored() {
    let config = config_with_env(
        "",
        &[
            (BOOTSTRAP_KEY_ENV, "secret-key"),
            (BOOTSTRAP_SCOPE_ENV, "mgmt"),
            ("PATH", "/usr/bin"),
            ("VERNEMQ_NODENAME", "x"),
        ],
    );
    assert_eq!(config, super::config(""));
    assert!(!config.print().contains("secret-key"));
}

#[test]
fn unknown_docker_variables_are_errors_naming_the_variable() {
    let error = error_with_env("", &[("DOCKER_VERNEMQ_NOSUCH__KEY", "1")]);
    assert_eq!(
        error.source,
        "environment variable DOCKER_VERNEMQ_NOSUCH__KEY"
    );
    assert_eq!((error.line, error.key), (None, None));
    assert!(
        error.message.starts_with("names no config key"),
        "{}",
        error.message
    );
}

#[test]
fn invalid_env_values_name_variable_and_key() {
    let error = error_with_env("", &[("DOCKER_VERNEMQ_MAX_OFFLINE_MESSAGES", "many")]);
    assert_eq!(
        error.to_string(),
        "environment variable DOCKER_VERNEMQ_MAX_OFFLINE_MESSAGES: max_offline_messages: \
         'many' is not an integer ≥ -1"
    );
    for bad in ["", "   ", "a\nb"] {
        let error = error_with_env("", &[("DOCKER_VERNEMQ_GRAPHITE_HOST", bad)]);
        assert_eq!(error.key.as_deref(), Some("graphite_host"), "{bad:?}");
    }
}

#[test]
fn env_values_are_trimmed_and_normalized() {
    let config = config_with_env("", &[("DOCKER_VERNEMQ_ALLOW_ANONYMOUS", " FALSE ")]);
    assert_eq!(config.get("allow_anonymous"), Some("off"));
}

#[test]
fn later_checks_locate_env_values_by_variable() {
    let error = error_with_env(
        "",
        &[(
            "DOCKER_VERNEMQ_LISTENER__HTTPS__TLS__CERTFILE",
            "/nonexistent.pem",
        )],
    );
    assert_eq!(
        error.source,
        "environment variable DOCKER_VERNEMQ_LISTENER__HTTPS__TLS__CERTFILE"
    );
    assert_eq!(error.key.as_deref(), Some("listener.https.tls.certfile"));
}
