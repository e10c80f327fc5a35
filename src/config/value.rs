//! Value types of config keys: each one checks a raw value and writes it in its one canonical form.
//!
//! Normalizing at the door (`true` → `on`, `+5` → `5`, `[::1]:80` as std prints it) means that
//! `show`, `--print-config` and comparisons between configs never see two spellings of one value.

use std::net::SocketAddr;

use vmq_actors::NodeName;

/// The type of a config key's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `on` or `off`; `true` / `false` (any case) are accepted and stored as `on` / `off`.
    Flag,
    /// A whole number in `min..=max`.
    Integer { min: i64, max: i64 },
    /// A whole number `≥ min`, or `infinity` (VerneMQ allows it for a few timeouts).
    IntegerOrInfinity { min: i64 },
    /// Exactly one of the listed words.
    Enum(&'static [&'static str]),
    /// `ip:port` with an IPv4 address or a bracketed IPv6 one; `example` is shown in errors.
    IpPort { example: &'static str },
    /// A file or directory path; existence is checked where the path is used, not here.
    Path,
    /// Any single line of text.
    Text,
    /// A node name `Name@host`.
    NodeName,
    /// A keyword (`never`, `client`) or a number followed by one unit letter out of `units`,
    /// as VerneMQ writes `persistent_client_expiration = 1w`.
    KeywordOrDuration {
        keyword: &'static str,
        units: &'static str,
    },
}

impl ValueKind {
    /// The canonical form of `raw`, or the expectation it failed (see [`ValueKind::expected`]).
    pub fn normalize(self, raw: &str) -> Result<String, String> {
        let normalized = match self {
            ValueKind::Flag => normalize_flag(raw),
            ValueKind::Integer { min, max } => parse_integer(raw, min, max).map(|n| n.to_string()),
            ValueKind::IntegerOrInfinity { .. } if raw == "infinity" => Some(raw.to_owned()),
            ValueKind::IntegerOrInfinity { min } => {
                parse_integer(raw, min, i64::MAX).map(|n| n.to_string())
            }
            ValueKind::Enum(words) => words.contains(&raw).then(|| raw.to_owned()),
            ValueKind::IpPort { .. } => raw.parse::<SocketAddr>().ok().map(|a| a.to_string()),
            ValueKind::Path | ValueKind::Text => is_single_line(raw).then(|| raw.to_owned()),
            ValueKind::NodeName => NodeName::parse(raw).ok().map(|name| name.to_string()),
            ValueKind::KeywordOrDuration { keyword, units } => {
                let valid = raw == keyword || is_duration(raw, units);
                valid.then(|| raw.to_owned())
            }
        };
        normalized.ok_or_else(|| self.expected())
    }

    /// What a valid value looks like, phrased to follow "'x' is not …" and "expected …".
    pub fn expected(self) -> String {
        match self {
            ValueKind::Flag => "on or off".to_owned(),
            ValueKind::Integer { min, max } if max == i64::MAX => format!("an integer ≥ {min}"),
            ValueKind::Integer { min, max } => format!("an integer between {min} and {max}"),
            ValueKind::IntegerOrInfinity { min } => format!("an integer ≥ {min} or infinity"),
            ValueKind::Enum(words) => format!("one of {}", words.join(", ")),
            ValueKind::IpPort { example } => format!("an ip:port (example: {example})"),
            ValueKind::Path => "a path on one line".to_owned(),
            ValueKind::Text => "a non-empty text on one line".to_owned(),
            ValueKind::NodeName => {
                "a node name of the form Name@host (example: VerneMQ@127.0.0.1)".to_owned()
            }
            ValueKind::KeywordOrDuration { keyword, units } => {
                let units: Vec<String> = units.chars().map(String::from).collect();
                format!(
                    "{keyword} or a number followed by one of {} (example: 2d)",
                    units.join(", ")
                )
            }
        }
    }
}

fn normalize_flag(raw: &str) -> Option<String> {
    let lower = raw.to_ascii_lowercase();
    match lower.as_str() {
        "on" | "true" => Some("on".to_owned()),
        "off" | "false" => Some("off".to_owned()),
        _ => None,
    }
}

fn parse_integer(raw: &str, min: i64, max: i64) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|n| (min..=max).contains(n))
}

/// Empty values and control characters (a newline from an environment variable, say) would
/// break `--print-config` output, which must read back as the same config.
fn is_single_line(raw: &str) -> bool {
    !raw.is_empty() && !raw.chars().any(char::is_control)
}

fn is_duration(raw: &str, units: &str) -> bool {
    let Some(unit) = raw.chars().last() else {
        return false;
    };
    let number = &raw[..raw.len() - unit.len_utf8()];
    units.contains(unit) && !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_accept_booleans_and_normalize_to_on_off() {
        for (raw, want) in [
            ("on", "on"),
            ("TRUE", "on"),
            ("off", "off"),
            ("False", "off"),
        ] {
            assert_eq!(ValueKind::Flag.normalize(raw).as_deref(), Ok(want));
        }
        assert_eq!(
            ValueKind::Flag.normalize("yes"),
            Err("on or off".to_owned())
        );
    }

    #[test]
    fn integers_are_range_checked_and_canonical() {
        let kind = ValueKind::Integer {
            min: -1,
            max: i64::MAX,
        };
        assert_eq!(kind.normalize("+007").as_deref(), Ok("7"));
        assert_eq!(kind.normalize("-1").as_deref(), Ok("-1"));
        assert_eq!(kind.normalize("-2"), Err("an integer ≥ -1".to_owned()));
        assert!(kind.normalize("1.5").is_err());
        assert!(kind.normalize("99999999999999999999").is_err());
        let bounded = ValueKind::Integer { min: 1, max: 10 };
        assert_eq!(
            bounded.normalize("11"),
            Err("an integer between 1 and 10".to_owned())
        );
    }

    #[test]
    fn infinity_only_where_allowed() {
        let kind = ValueKind::IntegerOrInfinity { min: 1 };
        assert_eq!(kind.normalize("infinity").as_deref(), Ok("infinity"));
        assert_eq!(kind.normalize("5000").as_deref(), Ok("5000"));
        assert!(kind.normalize("0").is_err());
        let plain = ValueKind::Integer { min: 0, max: 5 };
        assert!(plain.normalize("infinity").is_err());
    }

    #[test]
    fn ip_ports_accept_v4_and_bracketed_v6() {
        let kind = ValueKind::IpPort {
            example: "127.0.0.1:8888",
        };
        assert_eq!(
            kind.normalize("0.0.0.0:1883").as_deref(),
            Ok("0.0.0.0:1883")
        );
        assert_eq!(kind.normalize("[0:0::1]:8888").as_deref(), Ok("[::1]:8888"));
        assert_eq!(kind.normalize("127.0.0.1:0").as_deref(), Ok("127.0.0.1:0"));
        for bad in [
            "abc",
            "127.0.0.1",
            "localhost:80",
            "::1:80",
            "1.2.3.4:70000",
        ] {
            assert_eq!(
                kind.normalize(bad),
                Err("an ip:port (example: 127.0.0.1:8888)".to_owned()),
                "{bad}"
            );
        }
    }

    #[test]
    fn enums_are_exact() {
        let kind = ValueKind::Enum(&["fifo", "lifo"]);
        assert_eq!(kind.normalize("lifo").as_deref(), Ok("lifo"));
        assert_eq!(kind.normalize("LIFO"), Err("one of fifo, lifo".to_owned()));
    }

    #[test]
    fn text_and_paths_are_single_non_empty_lines() {
        for kind in [ValueKind::Text, ValueKind::Path] {
            assert_eq!(kind.normalize("a b=c#d").as_deref(), Ok("a b=c#d"));
            assert!(kind.normalize("").is_err());
            assert!(kind.normalize("a\nb").is_err());
            assert!(kind.normalize("a\u{0}b").is_err());
        }
    }

    #[test]
    fn node_names_are_checked() {
        let kind = ValueKind::NodeName;
        assert_eq!(kind.normalize("a@b").as_deref(), Ok("a@b"));
        assert!(kind.normalize("nobody").is_err());
    }

    #[test]
    fn durations_need_a_number_and_a_known_unit() {
        let kind = ValueKind::KeywordOrDuration {
            keyword: "never",
            units: "hdwmy",
        };
        for good in ["never", "1w", "72h", "10y"] {
            assert_eq!(kind.normalize(good).as_deref(), Ok(good));
        }
        for bad in ["", "w", "1", "1s", "-1d", "1.5d", "1é", "client"] {
            assert!(kind.normalize(bad).is_err(), "{bad}");
        }
        assert_eq!(
            kind.expected(),
            "never or a number followed by one of h, d, w, m, y (example: 2d)"
        );
    }
}
