//! Runtime `set` (all-or-nothing), `show`, `describe` and `--print-config`.

use super::{config, config_with_env, PemFiles, SOURCE};
use crate::config::keys;
use crate::config::{Config, SetError};

fn changes(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    super::env(pairs)
}

fn applied(config: &Config, pairs: &[(&str, &str)]) -> Config {
    match config.apply(&changes(pairs)) {
        Ok(config) => config,
        Err(error) => panic!("set refused: {error}"),
    }
}

#[test]
fn set_returns_a_new_config_and_leaves_the_old_one() {
    let old = config("");
    let new = applied(
        &old,
        &[("max_offline_messages", "5"), ("allow_anonymous", "false")],
    );
    assert_eq!(new.get("max_offline_messages"), Some("5"));
    assert_eq!(new.get("allow_anonymous"), Some("off"));
    assert_eq!(old.get("max_offline_messages"), Some("1000"));
}

#[test]
fn set_updates_typed_values() {
    let new = applied(
        &config(""),
        &[
            ("min_apikey_length", "48"),
            ("max_apikey_expiry_days", "30"),
        ],
    );
    assert_eq!(new.min_apikey_length(), 48);
    assert_eq!(new.max_apikey_expiry_days(), Some(30));
}

#[test]
fn plugin_keys_are_typed_and_the_switches_fixed() {
    let defaults = config("");
    let plugins = defaults.plugins();
    assert!(plugins.vmq_passwd && plugins.vmq_acl);
    assert_eq!(
        plugins.password_file.as_deref(),
        Some(std::path::Path::new("./etc/vmq.passwd"))
    );
    assert_eq!(
        plugins.acl_reload_interval,
        std::time::Duration::from_secs(10)
    );
    let off = config("plugins.vmq_acl = off\nvmq_acl.acl_file = /etc/x.acl\n");
    assert!(!off.plugins().vmq_acl && off.plugins().vmq_passwd);
    assert_eq!(off.get("plugins.vmq_acl"), Some("off"));
    let new = applied(
        &defaults,
        &[
            ("vmq_passwd.password_file", "/tmp/p"),
            ("vmq_acl.acl_reload_interval", "0"),
        ],
    );
    assert_eq!(
        new.plugins().password_file.as_deref(),
        Some(std::path::Path::new("/tmp/p"))
    );
    assert!(new.plugins().acl_reload_interval.is_zero());
    assert_eq!(
        defaults.apply(&changes(&[("plugins.vmq_acl", "off")])),
        Err(SetError::NotSettable(vec!["plugins.vmq_acl".to_owned()]))
    );
}

#[test]
fn unknown_keys_are_all_listed_once() {
    let result = config("").apply(&changes(&[
        ("nope", "1"),
        ("allow_anonymous", "on"),
        ("nodename", "a@b"),
        ("also.nope", "2"),
        ("nope", "3"),
    ]));
    assert_eq!(
        result,
        Err(SetError::UnknownKeys(vec![
            "nope".to_owned(),
            "also.nope".to_owned()
        ]))
    );
}

#[test]
fn unsettable_keys_are_refused() {
    let result = config("").apply(&changes(&[
        ("nodename", "a@b"),
        ("listener.tcp.default", "0.0.0.0:1"),
    ]));
    let error = result.err().map(|e| e.to_string());
    assert_eq!(
        error.as_deref(),
        Some("the following config keys are not settable: nodename, listener.tcp.default")
    );
}

#[test]
fn invalid_values_refuse_the_whole_set() {
    let old = config("");
    let result = old.apply(&changes(&[
        ("max_online_messages", "5"),
        ("max_offline_messages", "x"),
    ]));
    let error = result.err().map(|e| e.to_string());
    assert_eq!(
        error.as_deref(),
        Some("invalid value 'x' for max_offline_messages: expected an integer ≥ -1")
    );
    assert_eq!(old.get("max_online_messages"), Some("1000"));
    let result = old.apply(&changes(&[("queue_type", "random")]));
    assert!(matches!(result, Err(SetError::InvalidValue { key, .. }) if key == "queue_type"));
}

#[test]
fn every_settable_key_accepts_its_default_and_no_other_key_is_settable() {
    let config = config("");
    for spec in keys::all() {
        let key = spec.pattern;
        let value = spec.default.unwrap_or("1");
        let result = config.apply(&changes(&[(key, value)]));
        match (spec.settable, result) {
            (true, Ok(new)) => assert_eq!(new.get(key), Some(value), "{key}"),
            (false, Err(SetError::NotSettable(_) | SetError::UnknownKeys(_))) => {}
            (settable, result) => panic!("{key} (settable {settable}): {result:?}"),
        }
    }
}

#[test]
fn show_returns_effective_values() {
    let config = config("max_inflight_messages = 1\n");
    assert_eq!(config.get("max_inflight_messages"), Some("1"));
    assert_eq!(config.get("upgrade_outgoing_qos"), Some("off"));
    assert_eq!(config.get("max_apikey_expiry_days"), None);
    assert_eq!(config.get("no.such.key"), None);
}

#[test]
fn describe_and_known_keys() {
    let text = Config::describe("allow_anonymous").unwrap_or_default();
    assert!(text.starts_with("Allow MQTT clients"), "{text}");
    assert!(
        text.ends_with("value: on or off\ndefault: on\nsettable at runtime: yes"),
        "{text}"
    );
    assert!(Config::describe("listener.https.$name.certfile").is_some());
    assert!(Config::describe("listener.https.mine.certfile").is_some());
    assert_eq!(Config::describe("nope"), None);
    assert!(Config::is_known_key(
        "listener.http.admin.http_module.vmq_health_http.auth.mode"
    ));
    assert!(!Config::is_known_key("http_module.vmq_nope.auth.mode"));
    assert!(!Config::is_known_key("listener.http.$name"));
}

#[test]
fn print_is_sorted_key_value_lines() {
    let printed = config("").print();
    let lines: Vec<&str> = printed.lines().collect();
    let mut sorted = lines.clone();
    sorted.sort_unstable();
    assert_eq!(lines, sorted);
    assert!(lines.contains(&"nodename = VerneMQ@127.0.0.1"));
    assert!(lines.contains(&"listener.http.default = 127.0.0.1:8888"));
    assert!(lines.iter().all(|line| line.contains(" = ")));
    assert!(printed.ends_with('\n'));
}

#[test]
fn print_reads_back_as_the_same_config() {
    let pem = PemFiles::new();
    let text = format!(
        "nodename = n1@host\nlistener.http.admin = [::1]:9000\nallow_anonymous = false\n\
         listener.http.admin.http_module.vmq_status_http.auth.mode = apikey\n\
         graphite_host = a=b\nmax_apikey_expiry_days = 7\n{}",
        pem.https_listener("tls", "127.0.0.1:8889")
    );
    let original = config_with_env(&text, &[("DOCKER_VERNEMQ_RETRY_INTERVAL", "5")]);
    let reread = Config::from_text(&original.print(), SOURCE, &[]);
    assert_eq!(reread.as_ref(), Ok(&original));
    let defaults = config("");
    assert_eq!(
        Config::from_text(&defaults.print(), SOURCE, &[]),
        Ok(defaults)
    );
}

#[test]
fn mqtt_settings_are_typed_and_follow_set() {
    let old = config("");
    assert!(old.allow_anonymous());
    assert_eq!(old.max_message_size(), 0);
    assert_eq!(
        old.mqtt_connect_timeout(),
        std::time::Duration::from_millis(5000)
    );
    let new = applied(
        &old,
        &[
            ("allow_anonymous", "off"),
            ("max_message_size", "1024"),
            ("mqtt_connect_timeout", "300"),
        ],
    );
    assert!(!new.allow_anonymous());
    assert_eq!(new.max_message_size(), 1024);
    assert_eq!(
        new.mqtt_connect_timeout(),
        std::time::Duration::from_millis(300)
    );
}
