//! Values of MQTT listener options with a syntax of their own: protocol levels (`3,4,5`) and
//! TLS versions (`tlsv1.2,tlsv1.3`), as the config file and `listener start` write them.

use std::fmt;

/// The MQTT protocol levels a listener accepts, in the order given (`3,4,5`); 131 and 132 are
/// VerneMQ's bridge variants of 3 and 4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolVersions(Vec<u8>);

impl ProtocolVersions {
    /// The levels accepted when nothing is configured.
    pub fn all() -> Self {
        Self(vec![3, 4, 5])
    }

    /// Parses `3,4,5` (an Erlang list `[3,4,5]` too, as `listener start` gets it).
    pub fn parse(text: &str) -> Result<Self, String> {
        let inner = text.trim();
        let inner = inner
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .unwrap_or(inner);
        let mut levels = Vec::new();
        for item in inner.split(',').map(str::trim) {
            match item.parse::<u8>() {
                Ok(level @ (3 | 4 | 5 | 131 | 132)) if !levels.contains(&level) => {
                    levels.push(level);
                }
                _ => {
                    return Err(format!(
                        "'{text}' is not a comma list of protocol levels out of 3, 4, 5, 131, 132"
                    ))
                }
            }
        }
        Ok(Self(levels))
    }

    /// The levels, as given.
    pub fn levels(&self) -> &[u8] {
        &self.0
    }

    /// What `listener show --mqtt` prints: `mqtt 3.1, mqtt 3.1.1, mqtt 5`.
    pub fn describe(&self) -> String {
        let names: Vec<&str> = self
            .0
            .iter()
            .map(|level| match level {
                3 => "mqtt 3.1",
                4 => "mqtt 3.1.1",
                5 => "mqtt 5",
                131 => "mqtt 3.1 (bridge)",
                _ => "mqtt 3.1.1 (bridge)",
            })
            .collect();
        names.join(", ")
    }
}

impl fmt::Display for ProtocolVersions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let levels: Vec<String> = self.0.iter().map(u8::to_string).collect();
        f.write_str(&levels.join(","))
    }
}

/// Which TLS versions a listener accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsVersions {
    pub tls12: bool,
    pub tls13: bool,
}

impl TlsVersions {
    pub const BOTH: TlsVersions = TlsVersions {
        tls12: true,
        tls13: true,
    };

    /// Parses `tlsv1.2`, `tlsv1.3` or both, comma-separated (brackets allowed).
    pub fn parse(text: &str) -> Result<Self, String> {
        let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
        let mut versions = TlsVersions {
            tls12: false,
            tls13: false,
        };
        for item in inner.split(',').map(str::trim) {
            match item {
                "tlsv1.2" => versions.tls12 = true,
                "tlsv1.3" => versions.tls13 = true,
                _ => return Err(format!("'{text}' is not tlsv1.2, tlsv1.3 or both")),
            }
        }
        Ok(versions)
    }
}

impl fmt::Display for TlsVersions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [(self.tls12, "tlsv1.2"), (self.tls13, "tlsv1.3")]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
        f.write_str(&names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_versions_parse_and_describe() {
        let versions = ProtocolVersions::parse("3, 4,5").expect("valid");
        assert_eq!(versions.levels(), [3, 4, 5]);
        assert_eq!(versions.to_string(), "3,4,5");
        assert_eq!(versions.describe(), "mqtt 3.1, mqtt 3.1.1, mqtt 5");
        let bridge = ProtocolVersions::parse("[5,131]").expect("an Erlang list");
        assert_eq!(bridge.describe(), "mqtt 5, mqtt 3.1 (bridge)");
        for bad in ["", "6", "3,3", "3;4", "four"] {
            assert!(ProtocolVersions::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tls_versions_parse_and_print() {
        assert_eq!(
            TlsVersions::parse("tlsv1.3").map(|v| v.to_string()),
            Ok("tlsv1.3".to_owned())
        );
        assert_eq!(
            TlsVersions::parse("[tlsv1.2, tlsv1.3]"),
            Ok(TlsVersions::BOTH)
        );
        assert!(TlsVersions::parse("tlsv1.1").is_err());
        assert_eq!(TlsVersions::BOTH.to_string(), "tlsv1.2, tlsv1.3");
    }
}
