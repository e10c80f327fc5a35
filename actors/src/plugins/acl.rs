//! vmq_acl's ACL file (mosquitto's format) and the checks for publish (write) and subscribe (read).
//!
//! - `topic [read|write|readwrite] <filter>` lines before the first `user` line are for clients
//!   without a user name; after `user <name>` they are that user's (sections of one user add up).
//! - `pattern [read|write|readwrite] <filter>` lines apply to every client, wherever they stand,
//!   with `%u`, `%c` and `%m` filling whole levels.
//! - `#` starts a comment line. Without an access word a line grants both.
//!
//! A malformed line is skipped and reported; the `topic` lines after a malformed `user` line are
//! skipped too, so that they cannot fall to the previous user by accident.

use std::collections::HashMap;

use super::filter::{valid_filter, valid_topic, Filter, Who};
use super::SkippedLine;

/// Read (subscribe) or write (publish).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Subscribing.
    Read,
    /// Publishing.
    Write,
}

/// The filters of one section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Rules {
    read: Vec<Filter>,
    write: Vec<Filter>,
}

impl Rules {
    fn add(&mut self, grant: Grant, filter: Filter) {
        if grant != Grant::Write {
            self.read.push(filter.clone());
        }
        if grant != Grant::Read {
            self.write.push(filter);
        }
    }

    fn covers(&self, access: Access, requested: &str, who: &Who<'_>) -> bool {
        let filters = match access {
            Access::Read => &self.read,
            Access::Write => &self.write,
        };
        filters.iter().any(|filter| filter.covers(requested, who))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    Read,
    Write,
    ReadWrite,
}

/// Where the `topic` lines being read go.
enum Section {
    Anonymous,
    User(String),
    /// After a malformed `user` line: nowhere.
    Skipped,
}

/// The rules of one ACL file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    anonymous: Rules,
    users: HashMap<String, Rules>,
    patterns: Rules,
}

impl Acl {
    /// Reads an ACL file's text; malformed lines are skipped and reported with their numbers.
    pub fn parse(text: &str) -> (Self, Vec<SkippedLine>) {
        let mut acl = Acl::default();
        let mut section = Section::Anonymous;
        let mut skipped = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Err(reason) = acl.read_line(line, &mut section) {
                skipped.push(SkippedLine {
                    line: index + 1,
                    reason,
                });
            }
        }
        (acl, skipped)
    }

    fn read_line(&mut self, line: &str, section: &mut Section) -> Result<(), String> {
        let (keyword, rest) = line
            .split_once(char::is_whitespace)
            .map_or((line, ""), |(k, r)| (k, r.trim()));
        match keyword {
            "user" if rest.is_empty() => {
                *section = Section::Skipped;
                Err("the user name is missing; the topic lines after it are skipped".to_owned())
            }
            "user" => {
                *section = Section::User(rest.to_owned());
                Ok(())
            }
            "topic" => {
                let (grant, filter) = grant_and_filter(rest, false)?;
                match section {
                    Section::Anonymous => self.anonymous.add(grant, filter),
                    Section::User(user) => self
                        .users
                        .entry(user.clone())
                        .or_default()
                        .add(grant, filter),
                    Section::Skipped => {
                        return Err("follows a malformed user line".to_owned());
                    }
                }
                Ok(())
            }
            "pattern" => {
                let (grant, filter) = grant_and_filter(rest, true)?;
                self.patterns.add(grant, filter);
                Ok(())
            }
            other => Err(format!(
                "unknown keyword '{other}' (expected topic, user or pattern)"
            )),
        }
    }

    /// Whether the client may publish to `topic` (a `write` rule covers it).
    pub(crate) fn may_publish(&self, who: &Who<'_>, topic: &str) -> bool {
        valid_topic(topic) && self.allows(Access::Write, who, topic)
    }

    /// Whether the client may subscribe to `filter` (a `read` rule covers it).
    pub(crate) fn may_subscribe(&self, who: &Who<'_>, filter: &str) -> bool {
        valid_filter(filter) && self.allows(Access::Read, who, filter)
    }

    fn allows(&self, access: Access, who: &Who<'_>, requested: &str) -> bool {
        let own = match who.user {
            None => Some(&self.anonymous),
            Some(user) => self.users.get(user),
        };
        own.is_some_and(|rules| rules.covers(access, requested, who))
            || self.patterns.covers(access, requested, who)
    }
}

/// `[read|write|readwrite] <filter>`.
fn grant_and_filter(rest: &str, substitutions: bool) -> Result<(Grant, Filter), String> {
    let (first, after) = rest
        .split_once(char::is_whitespace)
        .map_or((rest, ""), |(f, a)| (f, a.trim()));
    let (grant, filter) = match first {
        "read" if !after.is_empty() => (Grant::Read, after),
        "write" if !after.is_empty() => (Grant::Write, after),
        "readwrite" if !after.is_empty() => (Grant::ReadWrite, after),
        "deny" if !after.is_empty() => {
            return Err("deny rules are not supported; leave the topic out instead".to_owned())
        }
        _ => (Grant::ReadWrite, rest),
    };
    Filter::parse(filter, substitutions).map(|filter| (grant, filter))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# anonymous clients
topic read public/#
topic write  inbox/anon
topic  both/+

user alice
topic readwrite alice/#
topic read $SYS/#
pattern write devices/%c/state

user bob
topic write alice/inbox
# alice again: her sections add up
user alice
topic write shared
pattern read users/%u/#
";

    fn who(user: Option<&'static str>) -> Who<'static> {
        Who {
            user,
            client_id: "dev1",
            mountpoint: "",
        }
    }

    fn acl() -> Acl {
        let (acl, skipped) = Acl::parse(FILE);
        assert!(skipped.is_empty(), "{skipped:?}");
        acl
    }

    #[test]
    fn lines_before_the_first_user_are_for_anonymous_clients_only() {
        let acl = acl();
        let anon = who(None);
        assert!(acl.may_subscribe(&anon, "public/news"));
        assert!(acl.may_subscribe(&anon, "public/#"));
        assert!(!acl.may_publish(&anon, "public/news"), "read only");
        assert!(acl.may_publish(&anon, "inbox/anon"));
        assert!(!acl.may_subscribe(&anon, "inbox/anon"), "write only");
        assert!(acl.may_publish(&anon, "both/x") && acl.may_subscribe(&anon, "both/x"));
        assert!(!acl.may_subscribe(&who(Some("alice")), "public/news"));
        assert!(!acl.may_publish(&anon, "alice/x"));
    }

    #[test]
    fn user_sections_add_up_and_stay_apart() {
        let acl = acl();
        let alice = who(Some("alice"));
        let bob = who(Some("bob"));
        assert!(acl.may_publish(&alice, "alice/a/b") && acl.may_subscribe(&alice, "alice/+"));
        assert!(acl.may_publish(&alice, "shared"), "her second section");
        assert!(!acl.may_subscribe(&alice, "shared"));
        assert!(acl.may_publish(&bob, "alice/inbox"));
        assert!(!acl.may_subscribe(&bob, "alice/inbox"));
        assert!(!acl.may_publish(&bob, "alice/other"));
        assert!(!acl.may_publish(&who(Some("carol")), "shared"));
    }

    #[test]
    fn patterns_apply_to_every_client_with_substitutions() {
        let acl = acl();
        assert!(acl.may_publish(&who(Some("bob")), "devices/dev1/state"));
        assert!(acl.may_publish(&who(None), "devices/dev1/state"));
        assert!(!acl.may_publish(&who(Some("bob")), "devices/dev2/state"));
        assert!(acl.may_subscribe(&who(Some("bob")), "users/bob/#"));
        assert!(!acl.may_subscribe(&who(Some("bob")), "users/alice/#"));
        assert!(!acl.may_subscribe(&who(None), "users/%u/x"));
    }

    #[test]
    fn dollar_topics_and_invalid_requests() {
        let acl = acl();
        let alice = who(Some("alice"));
        assert!(acl.may_subscribe(&alice, "$SYS/broker/#"));
        assert!(!acl.may_subscribe(&who(Some("bob")), "$SYS/#"));
        let (everything, _) = Acl::parse("topic #\n");
        let anon = who(None);
        assert!(everything.may_publish(&anon, "a/b"));
        assert!(!everything.may_publish(&anon, "$SYS/x"));
        assert!(!everything.may_subscribe(&anon, "$SYS/#"));
        assert!(!everything.may_publish(&anon, "a/+"), "not a topic name");
        assert!(!everything.may_subscribe(&anon, "a/#/b"), "not a filter");
    }

    #[test]
    fn malformed_lines_are_skipped_and_numbered() {
        let text = "topic read\n\
                    topic a/#/b\n\
                    subscribe x\n\
                    topic deny secret\n\
                    user\n\
                    topic leaked/#\n\
                    user eve\n\
                    topic eve/#\n\
                    pattern read  %u/+ \n";
        let (acl, skipped) = Acl::parse(text);
        let lines: Vec<usize> = skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6], "{skipped:?}");
        assert!(skipped[1].reason.contains("unknown keyword"));
        assert!(skipped[2].reason.contains("deny"));
        let anon = who(None);
        assert!(acl.may_publish(&anon, "read"), "a lone word is the topic");
        assert!(!acl.may_publish(&anon, "leaked/x"));
        assert!(!acl.may_publish(&who(Some("eve")), "leaked/x"));
        assert!(acl.may_publish(&who(Some("eve")), "eve/x"));
        assert!(acl.may_subscribe(&who(Some("eve")), "eve/x"), "pattern");
    }
}
