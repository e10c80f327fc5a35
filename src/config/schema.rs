//! The typed schema: which keys exist, their value type, default, runtime settability and doc.
//!
//! A pattern segment `$name` stands for any listener name; `$module` for an HTTP module name.
//! Three kinds of defaults exist, and `Settings::add_defaults` applies them:
//! - a plain key's default (`nodename`);
//! - a listener address pattern's default (`listener.tcp.$name` → `listener.tcp.default`), used
//!   only when the sources declare no listener of that kind, so that declaring any listener
//!   replaces the built-in one instead of silently opening a second port;
//! - a listener attribute's default (`listener.https.$name.require_certificate`), filled in for
//!   every declared listener so `show` and `--print-config` display it.
//!
//! The per-module auth defaults depend on the module, so they live in
//! [`crate::config::HttpModule::default_auth_mode`] instead of this table.

use crate::config::keys;
use crate::config::parser::is_valid_key;
use crate::config::value::ValueKind;
use crate::config::HttpModule;

/// Wildcard segment for a listener name.
pub const NAME: &str = "$name";
/// Wildcard segment for an HTTP module name.
pub const MODULE: &str = "$module";

/// One key (or family of keys) of `vernemq.conf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub pattern: &'static str,
    pub kind: ValueKind,
    pub default: Option<&'static str>,
    /// Whether `set` may change it at runtime (VerneMQ's whitelist plus our own keys).
    pub settable: bool,
    pub doc: &'static str,
}

/// The result of looking a key up in the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'k> {
    Found(&'static KeySpec),
    /// The key has the shape of a module key but names no module we know.
    UnknownModule(&'k str),
    Unknown,
}

/// Finds the spec of a concrete key such as `listener.https.tls.certfile`.
pub fn lookup(key: &str) -> Lookup<'_> {
    if !is_valid_key(key) {
        return Lookup::Unknown;
    }
    let mut unknown_module = None;
    // Literal patterns first, so a fixed key always beats a wildcard of the same shape.
    let literals = keys::all().filter(|spec| spec.wildcard_count() == 0);
    let wildcards = keys::all().filter(|spec| spec.wildcard_count() > 0);
    for spec in literals.chain(wildcards) {
        match match_pattern(spec.pattern, key) {
            PatternMatch::Yes => return Lookup::Found(spec),
            PatternMatch::UnknownModule(module) => unknown_module = Some(module),
            PatternMatch::No => {}
        }
    }
    unknown_module.map_or(Lookup::Unknown, Lookup::UnknownModule)
}

/// The spec of `key`, if it is a known key.
pub fn find(key: &str) -> Option<&'static KeySpec> {
    match lookup(key) {
        Lookup::Found(spec) => Some(spec),
        Lookup::UnknownModule(_) | Lookup::Unknown => None,
    }
}

/// The spec whose pattern is literally `pattern` (`describe listener.http.$name`).
pub fn find_pattern(pattern: &str) -> Option<&'static KeySpec> {
    keys::all().find(|spec| spec.pattern == pattern)
}

enum PatternMatch<'k> {
    Yes,
    UnknownModule(&'k str),
    No,
}

fn match_pattern<'k>(pattern: &str, key: &'k str) -> PatternMatch<'k> {
    let mut pattern_segments = pattern.split('.');
    let mut key_segments = key.split('.');
    let mut unknown_module = None;
    loop {
        match (pattern_segments.next(), key_segments.next()) {
            (None, None) => break,
            (Some(NAME), Some(_)) => {}
            (Some(MODULE), Some(segment)) => {
                if HttpModule::from_name(segment).is_none() {
                    unknown_module = Some(segment);
                }
            }
            (Some(literal), Some(segment)) if literal == segment => {}
            _ => return PatternMatch::No,
        }
    }
    unknown_module.map_or(PatternMatch::Yes, PatternMatch::UnknownModule)
}

impl KeySpec {
    fn wildcard_count(&self) -> usize {
        self.pattern
            .split('.')
            .filter(|segment| segment.starts_with('$'))
            .count()
    }

    /// True for listener address patterns such as `listener.http.$name`.
    pub fn is_listener_address(&self) -> bool {
        self.pattern.ends_with(NAME) && self.wildcard_count() == 1
    }

    /// For a key under a listener (`listener.https.x.certfile`), the key that declares that
    /// listener (`listener.https.x`).
    pub fn listener_key_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        let position = self.pattern.split('.').position(|s| s == NAME)?;
        if self.is_listener_address() {
            return None;
        }
        let end: usize = key
            .split('.')
            .take(position + 1)
            .map(|segment| segment.len() + 1)
            .sum();
        key.get(..end.saturating_sub(1))
    }

    /// `describe` text: the doc line, then the value type, the default and settability.
    pub fn describe(&self) -> String {
        let mut text = format!("{}\nvalue: {}\n", self.doc, self.kind.expected());
        match self.default {
            Some(default) if self.is_listener_address() => text.push_str(&format!(
                "default: {} = {default}, used only when no {} is declared\n",
                self.pattern.replace(NAME, "default"),
                self.pattern.replace(NAME, "<name>")
            )),
            Some(default) => text.push_str(&format!("default: {default}\n")),
            None => {}
        }
        let settable = if self.settable { "yes" } else { "no" };
        text.push_str(&format!("settable at runtime: {settable}"));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A concrete key for a pattern: listener `default`, module `vmq_http_mgmt_api`.
    fn instance(pattern: &str) -> String {
        pattern
            .replace(NAME, "default")
            .replace(MODULE, HttpModule::MgmtApi.name())
    }

    #[test]
    fn every_pattern_finds_itself_and_no_other() {
        for spec in keys::all() {
            let key = instance(spec.pattern);
            assert_eq!(find(&key).map(|s| s.pattern), Some(spec.pattern), "{key}");
        }
    }

    #[test]
    fn patterns_are_unique_and_documented() {
        for (index, spec) in keys::all().enumerate() {
            assert!(
                !spec.doc.is_empty() && !spec.doc.contains('\n'),
                "{}",
                spec.pattern
            );
            let mut later = keys::all().skip(index + 1);
            assert!(
                later.all(|o| o.pattern != spec.pattern),
                "duplicate {}",
                spec.pattern
            );
        }
    }

    #[test]
    fn every_default_is_valid_for_its_kind() {
        for spec in keys::all() {
            if let Some(default) = spec.default {
                assert_eq!(
                    spec.kind.normalize(default).as_deref(),
                    Ok(default),
                    "{}",
                    spec.pattern
                );
            }
        }
    }

    #[test]
    fn wildcards_match_one_segment() {
        assert!(find("listener.http.internal").is_some());
        assert!(find("listener.http").is_none());
        assert!(find("listener.http.a.b").is_none());
        assert!(find("listener.https.x.certfile").is_some());
        assert!(find("listener.tcp.default.certfile").is_none());
    }

    #[test]
    fn unknown_modules_are_told_apart_from_unknown_keys() {
        assert_eq!(
            lookup("http_module.vmq_nope.auth.mode"),
            Lookup::UnknownModule("vmq_nope")
        );
        assert_eq!(
            lookup("listener.http.default.http_module.nope.auth.mode"),
            Lookup::UnknownModule("nope")
        );
        assert_eq!(lookup("no.such.key"), Lookup::Unknown);
        assert_eq!(lookup("bad key"), Lookup::Unknown);
        assert!(find("http_module.vmq_metrics_http.auth.mode").is_some());
    }

    #[test]
    fn listener_key_of_attributes() {
        let spec = find("listener.https.tls-1.certfile");
        let parent = spec.and_then(|s| s.listener_key_of("listener.https.tls-1.certfile"));
        assert_eq!(parent, Some("listener.https.tls-1"));
        let address = find("listener.https.tls-1");
        assert_eq!(
            address.and_then(|s| s.listener_key_of("listener.https.tls-1")),
            None
        );
        assert_eq!(
            find("nodename").and_then(|s| s.listener_key_of("nodename")),
            None
        );
    }

    #[test]
    fn describe_lists_type_default_and_settability() {
        let text = find("max_offline_messages")
            .map(KeySpec::describe)
            .unwrap_or_default();
        assert!(text.contains("value: an integer ≥ -1\ndefault: 1000\nsettable at runtime: yes"));
        let text = find("listener.tcp.x")
            .map(KeySpec::describe)
            .unwrap_or_default();
        assert!(text.contains(
            "default: listener.tcp.default = 127.0.0.1:1883, used only when no listener.tcp.<name> is declared"
        ));
        assert!(text.ends_with("settable at runtime: no"));
    }
}
