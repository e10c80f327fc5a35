//! Loading a file: defaults, syntax and value errors, line numbers, encodings, duplicates.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::{config, error, SOURCE};
use crate::config::{AuthMode, Config, HttpModule, HttpScheme, MqttTransport};

fn addr(text: &str) -> SocketAddr {
    match text.parse() {
        Ok(addr) => addr,
        Err(e) => panic!("{text}: {e}"),
    }
}

fn load(text: &[u8]) -> Result<Config, crate::config::ConfigError> {
    let file = match tempfile::NamedTempFile::new() {
        Ok(file) => file,
        Err(e) => panic!("no temp file: {e}"),
    };
    if let Err(e) = std::fs::write(file.path(), text) {
        panic!("cannot write the temp file: {e}");
    }
    Config::load(Some(file.path()), &[])
}

#[test]
fn no_file_means_the_embedded_defaults() {
    let config = match Config::load(None, &[]) {
        Ok(config) => config,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(config.nodename().as_str(), "VerneMQ@127.0.0.1");
    assert_eq!(config.data_dir(), Path::new("./data"));
    let mqtt: Vec<_> = config
        .mqtt_listeners()
        .iter()
        .map(|l| (l.name.as_str(), l.transport, l.addr))
        .collect();
    assert_eq!(
        mqtt,
        [("default", MqttTransport::Tcp, addr("127.0.0.1:1883"))]
    );
    let options = &config.mqtt_listeners()[0].options;
    assert_eq!(options.max_connections, None);
    assert_eq!(options.allowed_protocol_versions.to_string(), "3,4,5");
    assert_eq!(
        (
            options.mountpoint.as_str(),
            options.allow_anonymous_override
        ),
        ("", false)
    );
    assert_eq!(config.cluster_listener(), addr("127.0.0.1:44053"));
    let [http] = config.http_listeners() else {
        panic!("expected one HTTP listener: {:?}", config.http_listeners());
    };
    assert_eq!(
        (http.name.as_str(), http.scheme),
        ("default", HttpScheme::Http)
    );
    assert_eq!((http.addr, &http.tls), (addr("127.0.0.1:8888"), &None));
    assert_eq!(
        config.auth_mode(http, HttpModule::MgmtApi),
        AuthMode::ApiKey
    );
    assert_eq!(config.auth_mode(http, HttpModule::Health), AuthMode::NoAuth);
    assert_eq!(config.min_apikey_length(), 0);
    assert_eq!(config.max_apikey_expiry_days(), None);
    assert_eq!(config.api_key_file(), None);
    assert_eq!(config.http_header_read_timeout(), Duration::from_secs(10));
    assert_eq!(config.log_level(), "info");
    assert_eq!(config.get("allow_anonymous"), Some("on"));
    assert_eq!(config.get("max_offline_messages"), Some("1000"));
    assert_eq!(
        config.get("http_module.vmq_metrics_http.auth.mode"),
        Some("noauth")
    );
    assert_eq!(config, super::config(""));
}

#[test]
fn a_file_sets_typed_values() {
    let text = "## node\nnodename = node1@10.0.0.1\nplatform_data_dir = /var/lib/vmq\n\
                min_apikey_length = 40\nmax_apikey_expiry_days = 90\napi_key_file = keys.txt\n\
                http_header_read_timeout = 2500\nlog.console.level = debug\n";
    let config = match load(text.as_bytes()) {
        Ok(config) => config,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(config.nodename().to_string(), "node1@10.0.0.1");
    assert_eq!(config.data_dir(), Path::new("/var/lib/vmq"));
    assert_eq!(config.min_apikey_length(), 40);
    assert_eq!(config.max_apikey_expiry_days(), Some(90));
    assert_eq!(config.api_key_file(), Some(Path::new("keys.txt")));
    assert_eq!(
        config.http_header_read_timeout(),
        Duration::from_millis(2500)
    );
    assert_eq!(config.log_level(), "debug");
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let result = Config::load(Some(Path::new("/nonexistent/vernemq.conf")), &[]);
    let error = result.err();
    assert_eq!(
        error.as_ref().map(|e| e.source.as_str()),
        Some("/nonexistent/vernemq.conf")
    );
    assert!(error.is_some_and(|e| e.message.starts_with("cannot read the config file")));
}

#[test]
fn a_non_utf8_file_is_an_error_with_its_line() {
    let error = load(b"nodename = a@b\ngraphite_host = caf\xe9\n").err();
    assert_eq!(error.as_ref().and_then(|e| e.line), Some(2));
    assert!(error.is_some_and(|e| e.message == "not UTF-8 text"));
}

#[test]
fn huge_files_are_fine() {
    let mut text = "## padding\n\n".repeat(100_000);
    text.push_str(&"max_offline_messages = 5\n".repeat(100_000));
    text.push_str("max_offline_messages = 6\n");
    let config = load(text.as_bytes()).ok();
    assert_eq!(
        config.as_ref().and_then(|c| c.get("max_offline_messages")),
        Some("6")
    );
}

#[test]
fn unknown_keys_are_errors_naming_key_and_line() {
    let error = error("nodename = a@b\n\nallow_anonymus = on\n");
    assert_eq!(
        error.to_string(),
        "test.conf line 3: allow_anonymus: unknown config key"
    );
}

#[test]
fn malformed_values_name_key_value_and_line() {
    let error = error("## http\nlistener.http.default = abc\n");
    assert_eq!(
        error.to_string(),
        "test.conf line 2: listener.http.default: 'abc' is not an ip:port (example: 127.0.0.1:8888)"
    );
    assert_eq!(error.key.as_deref(), Some("listener.http.default"));
    let error = super::error("max_offline_messages = lots");
    assert_eq!(error.message, "'lots' is not an integer ≥ -1");
    let error = super::error("nodename = VerneMQ");
    assert!(error.message.contains("Name@host"), "{error}");
}

#[test]
fn garbage_lines_are_errors() {
    let error = error("nodename = a@b\nlisten here\n");
    assert_eq!((error.source.as_str(), error.line), (SOURCE, Some(2)));
    assert!(error.key.is_none());
    let error = super::error("[section]\n");
    assert!(error.message.contains("key = value"), "{error}");
    let error = super::error("max_offline_messages =\n");
    assert_eq!(error.key.as_deref(), Some("max_offline_messages"));
    assert!(error.message.contains("empty value"), "{error}");
}

#[test]
fn values_keep_equals_signs_and_hashes() {
    let config = config("graphite_host = a=b#c\nvmq_acl.acl_file = /etc/a=b.acl\n");
    assert_eq!(config.get("graphite_host"), Some("a=b#c"));
    assert_eq!(config.get("vmq_acl.acl_file"), Some("/etc/a=b.acl"));
}

#[test]
fn crlf_files_load_like_lf_files() {
    let lf = "nodename = a@b\nmax_offline_messages = 7\n";
    assert_eq!(config(&lf.replace('\n', "\r\n")), config(lf));
}

#[test]
fn the_later_of_two_lines_wins_but_both_must_be_valid() {
    let config = config("max_offline_messages = 1\nmax_offline_messages = 2\n");
    assert_eq!(config.get("max_offline_messages"), Some("2"));
    let error = error("max_offline_messages = x\nmax_offline_messages = 2\n");
    assert_eq!(error.line, Some(1));
}

#[test]
fn values_are_normalized() {
    let config = config("allow_anonymous = false\nsystree_enabled = TRUE\nretry_interval = +030\n");
    assert_eq!(config.get("allow_anonymous"), Some("off"));
    assert_eq!(config.get("systree_enabled"), Some("on"));
    assert_eq!(config.get("retry_interval"), Some("30"));
}

#[test]
fn auth_modes_for_unknown_modules_are_errors() {
    let error = error("http_module.vmq_http_pub.auth.mode = noauth\n");
    assert_eq!(
        error.key.as_deref(),
        Some("http_module.vmq_http_pub.auth.mode")
    );
    assert!(error
        .message
        .starts_with("unknown HTTP module 'vmq_http_pub' (known: vmq_http_mgmt_api"));
    let error = super::error("http_module.vmq_status_http.auth.mode = basic\n");
    assert_eq!(error.message, "'basic' is not one of apikey, noauth");
}

#[test]
fn ranges_of_our_own_keys_are_enforced() {
    for text in [
        "http_header_read_timeout = 99",
        "http_header_read_timeout = 600001",
        "max_apikey_expiry_days = 0",
        "min_apikey_length = -1",
        "log.console.level = verbose",
    ] {
        assert!(Config::from_text(text, SOURCE, &[]).is_err(), "{text}");
    }
}
