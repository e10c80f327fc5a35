//! The broker keys an MQTT session lives by (queue limits, in-flight window, expiry), read from
//! the configuration in force when a connection is accepted.

use std::time::Duration;

use vmq_actors::sessions::{QueueLimits, SessionExpiry};
use vmq_actors::SessionSettings;

use crate::config::Config;

/// The broker keys a session lives by, from the configuration in force.
pub fn session_settings(config: &Config) -> SessionSettings {
    let defaults = SessionSettings::default();
    let number = |key: &str| config.get(key).and_then(|v| v.parse::<i64>().ok());
    let count = |key: &str, default: usize| match number(key) {
        Some(n) if n < 0 => usize::MAX,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        None => default,
    };
    let small = |key: &str, default: u16| {
        number(key)
            .and_then(|n| u16::try_from(n).ok())
            .unwrap_or(default)
    };
    SessionSettings {
        limits: QueueLimits {
            max_online: count("max_online_messages", defaults.limits.max_online),
            max_offline: count("max_offline_messages", defaults.limits.max_offline),
            lifo: config.get("queue_type") == Some("lifo"),
        },
        max_inflight: small("max_inflight_messages", defaults.max_inflight),
        retry_interval: number("retry_interval")
            .and_then(|n| u64::try_from(n).ok())
            .map_or(defaults.retry_interval, Duration::from_secs),
        receive_max_broker: small("receive_max_broker", defaults.receive_max_broker),
        topic_alias_max_client: small("topic_alias_max_client", defaults.topic_alias_max_client),
        max_client_id_size: count("max_client_id_size", defaults.max_client_id_size),
        persistent_expiry: config
            .get("persistent_client_expiration")
            .and_then(duration)
            .map_or(SessionExpiry::Never, SessionExpiry::After),
        suppress_lwt_on_takeover: config.get("suppress_lwt_on_session_takeover") == Some("on"),
        max_will_delay: config.get("max_last_will_delay").and_then(duration),
        upgrade_outgoing_qos: config.get("upgrade_outgoing_qos") == Some("on"),
    }
}

/// A VerneMQ duration such as `2d` or `1w` (`m` is a month, as in VerneMQ); `None` for keywords.
fn duration(raw: &str) -> Option<Duration> {
    let unit = raw.chars().last()?;
    let count: u64 = raw[..raw.len() - unit.len_utf8()].parse().ok()?;
    let seconds = match unit {
        's' => 1,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        'm' => 30 * 86_400,
        'y' => 365 * 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(count.saturating_mul(seconds)))
}
