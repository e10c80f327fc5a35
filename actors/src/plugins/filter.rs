//! ACL topic filters and whether one covers a requested topic or subscription (vmq_acl's own
//! small matcher; the session router's trie answers a different question).
//!
//! "Covers" is stricter than MQTT matching: a `+` or `#` in the *requested* filter is only
//! covered by an ACL wildcard at that level, so `a/+` does not let a client subscribe to `+/+`.
//! Wildcards at the first level never cover topics starting with `$` (MQTT §4.7.2): `$SYS/…`
//! needs a rule that names it.

/// One level of an ACL filter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Level {
    /// Must equal the requested level.
    Word(String),
    /// `+`: any one level.
    Plus,
    /// `#`: this level and every one below, or none.
    Hash,
    /// `%u` in a `pattern` line: the client's user name (never matches an anonymous client).
    User,
    /// `%c` in a `pattern` line: the client id.
    Client,
    /// `%m` in a `pattern` line: the listener's mountpoint (the default one, empty, here).
    Mountpoint,
}

/// Who asks: what `%u`, `%c` and `%m` stand for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Who<'a> {
    pub(crate) user: Option<&'a str>,
    pub(crate) client_id: &'a str,
    pub(crate) mountpoint: &'a str,
}

/// An ACL filter, checked when its line was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter(Vec<Level>);

impl Filter {
    /// Parses a filter; `substitutions` turns whole-level `%u`, `%c` and `%m` into placeholders
    /// (only `pattern` lines have them).
    pub(crate) fn parse(text: &str, substitutions: bool) -> Result<Self, String> {
        if text.is_empty() {
            return Err("the topic is empty".to_owned());
        }
        if text.contains('\0') {
            return Err("the topic contains a NUL character".to_owned());
        }
        let words: Vec<&str> = text.split('/').collect();
        let mut levels = Vec::with_capacity(words.len());
        for (i, word) in words.iter().enumerate() {
            let level = match *word {
                "#" if i + 1 == words.len() => Level::Hash,
                "#" => return Err(format!("'#' must be the last level in '{text}'")),
                "+" => Level::Plus,
                w if w.contains(['+', '#']) => {
                    return Err(format!("'+' and '#' must fill a whole level in '{text}'"))
                }
                "%u" if substitutions => Level::User,
                "%c" if substitutions => Level::Client,
                "%m" if substitutions => Level::Mountpoint,
                w => Level::Word(w.to_owned()),
            };
            levels.push(level);
        }
        Ok(Self(levels))
    }

    /// Whether this filter covers `requested` (a topic name, or a subscription filter).
    pub(crate) fn covers(&self, requested: &str, who: &Who<'_>) -> bool {
        let dollar = requested.starts_with('$');
        let mut wanted = requested.split('/');
        for (i, level) in self.0.iter().enumerate() {
            let first = i == 0;
            if *level == Level::Hash {
                return !(first && dollar);
            }
            let Some(word) = wanted.next() else {
                return false;
            };
            let substituted = |value: &str| word == value && !is_wildcard(word);
            let covered = match level {
                Level::Word(w) => word == w,
                Level::Plus => word != "#" && !(first && dollar),
                Level::User => who.user.is_some_and(substituted),
                Level::Client => substituted(who.client_id),
                Level::Mountpoint => substituted(who.mountpoint),
                Level::Hash => false,
            };
            if !covered {
                return false;
            }
        }
        wanted.next().is_none()
    }
}

fn is_wildcard(word: &str) -> bool {
    word == "+" || word == "#"
}

/// Whether `topic` is a valid topic name to publish to (no wildcards, not empty).
pub(crate) fn valid_topic(topic: &str) -> bool {
    !topic.is_empty() && !topic.contains(['+', '#', '\0'])
}

/// Whether `filter` is a valid subscription filter.
pub(crate) fn valid_filter(filter: &str) -> bool {
    Filter::parse(filter, false).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANON: Who<'static> = Who {
        user: None,
        client_id: "c1",
        mountpoint: "",
    };
    const BOB: Who<'static> = Who {
        user: Some("bob"),
        client_id: "c1",
        mountpoint: "",
    };

    fn covers(acl: &str, requested: &str) -> bool {
        Filter::parse(acl, true)
            .expect("valid")
            .covers(requested, &BOB)
    }

    #[test]
    fn words_plus_and_hash() {
        assert!(covers("a/b", "a/b"));
        assert!(!covers("a/b", "a/b/c"));
        assert!(!covers("a/b", "a"));
        assert!(covers("a/+", "a/x"));
        assert!(!covers("a/+", "a/x/y"));
        assert!(covers("a/#", "a"));
        assert!(covers("a/#", "a/b/c"));
        assert!(covers("#", "anything/at/all"));
        assert!(covers("a//b", "a//b"));
        assert!(covers("+/+", "/x"));
    }

    #[test]
    fn requested_wildcards_need_acl_wildcards_at_their_level() {
        assert!(covers("a/#", "a/b/+"));
        assert!(covers("a/#", "a/#"));
        assert!(covers("a/+", "a/+"));
        assert!(!covers("a/+", "a/#"));
        assert!(!covers("a/b", "a/+"));
        assert!(!covers("a/b", "a/#"));
        assert!(!covers("a/+/c", "a/#"));
        assert!(covers("#", "#"));
        assert!(covers("+/#", "+/+/x"));
    }

    #[test]
    fn dollar_topics_need_a_rule_that_names_them() {
        assert!(!covers("#", "$SYS/broker/uptime"));
        assert!(!covers("+/broker/#", "$SYS/broker/uptime"));
        assert!(covers("$SYS/#", "$SYS/broker/uptime"));
        assert!(covers("$SYS/+/uptime", "$SYS/broker/uptime"));
        assert!(!covers("#", "$SYS/#"));
        assert!(covers("a/#", "a/$b"), "only the first level is special");
    }

    #[test]
    fn substitutions_are_literal_and_need_a_user() {
        let acl = Filter::parse("users/%u/%c/#", true).expect("valid");
        assert!(acl.covers("users/bob/c1/x", &BOB));
        assert!(!acl.covers("users/alice/c1/x", &BOB));
        assert!(!acl.covers("users/bob/c2", &BOB));
        assert!(!acl.covers("users/bob/+/x", &BOB), "%c is not a wildcard");
        assert!(!acl.covers("users/+/c1", &BOB), "%u is not a wildcard");
        assert!(
            !acl.covers("users/%u/c1", &ANON),
            "anonymous clients have no %u"
        );
        let plus_user = Who {
            user: Some("+"),
            ..BOB
        };
        assert!(
            !acl.covers("users/+/c1", &plus_user),
            "a user named + gets no wildcard"
        );
        let slash_user = Who {
            user: Some("x/y"),
            ..BOB
        };
        assert!(!acl.covers("users/x/y/c1", &slash_user));
        let literal = Filter::parse("users/%u", false).expect("valid");
        assert!(
            literal.covers("users/%u", &BOB),
            "topic lines do not substitute"
        );
        let mountpoint = Filter::parse("%m/%c", true).expect("valid");
        assert!(mountpoint.covers("/c1", &BOB));
    }

    #[test]
    fn malformed_filters_are_refused() {
        for bad in ["", "a/#/b", "a/b#", "a+/b", "#/", "a\0b"] {
            assert!(Filter::parse(bad, true).is_err(), "{bad:?} accepted");
        }
        assert!(valid_topic("a/b"));
        assert!(!valid_topic("a/+"));
        assert!(!valid_topic(""));
        assert!(valid_filter("a/+/#"));
        assert!(!valid_filter("a/#/b"));
    }
}
