//! `AuthRules`: the immutable snapshot MQTT connections consult to authenticate a client and
//! authorize its publishes and subscriptions, with VerneMQ's answers when a plugin is disabled.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::acl::Acl;
use super::catalog::{Plugin, PluginInfo};
use super::filter::Who;
use super::passwd::{PasswordCheck, Passwords};

/// The plugins' settings: which are enabled, their files and how often those are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginConfig {
    /// `plugins.vmq_passwd`.
    pub vmq_passwd: bool,
    /// `plugins.vmq_acl`.
    pub vmq_acl: bool,
    /// `vmq_passwd.password_file`; `None` = no users.
    pub password_file: Option<PathBuf>,
    /// `vmq_acl.acl_file`; `None` = no rules (everything allowed while vmq_acl is enabled).
    pub acl_file: Option<PathBuf>,
    /// `vmq_passwd.password_reload_interval`; zero = never re-checked.
    pub password_reload_interval: Duration,
    /// `vmq_acl.acl_reload_interval`; zero = never re-checked.
    pub acl_reload_interval: Duration,
}

impl Default for PluginConfig {
    /// Both plugins enabled, no files, checked every 10 s (VerneMQ's interval).
    fn default() -> Self {
        Self {
            vmq_passwd: true,
            vmq_acl: true,
            password_file: None,
            acl_file: None,
            password_reload_interval: Duration::from_secs(10),
            acl_reload_interval: Duration::from_secs(10),
        }
    }
}

/// One of the two files the plugins read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthFile {
    /// vmq_passwd's password file.
    Passwords,
    /// vmq_acl's ACL file.
    Acl,
}

impl AuthFile {
    /// Both files.
    pub const ALL: [AuthFile; 2] = [AuthFile::Passwords, AuthFile::Acl];

    /// The plugin that reads it.
    pub fn plugin(self) -> Plugin {
        match self {
            AuthFile::Passwords => Plugin::Passwd,
            AuthFile::Acl => Plugin::Acl,
        }
    }
}

impl PluginConfig {
    /// Whether `plugin` is enabled.
    pub fn enabled(&self, plugin: Plugin) -> bool {
        match plugin {
            Plugin::Passwd => self.vmq_passwd,
            Plugin::Acl => self.vmq_acl,
        }
    }

    pub(crate) fn set_enabled(&mut self, plugin: Plugin, enabled: bool) {
        match plugin {
            Plugin::Passwd => self.vmq_passwd = enabled,
            Plugin::Acl => self.vmq_acl = enabled,
        }
    }

    /// The configured path of `file`.
    pub fn path(&self, file: AuthFile) -> Option<&PathBuf> {
        match file {
            AuthFile::Passwords => self.password_file.as_ref(),
            AuthFile::Acl => self.acl_file.as_ref(),
        }
    }

    pub(crate) fn set_path(&mut self, file: AuthFile, path: Option<PathBuf>) {
        match file {
            AuthFile::Passwords => self.password_file = path,
            AuthFile::Acl => self.acl_file = path,
        }
    }

    /// How often `file` is checked for changes; zero = never.
    pub fn interval(&self, file: AuthFile) -> Duration {
        match file {
            AuthFile::Passwords => self.password_reload_interval,
            AuthFile::Acl => self.acl_reload_interval,
        }
    }

    pub(crate) fn set_interval(&mut self, file: AuthFile, interval: Duration) {
        match file {
            AuthFile::Passwords => self.password_reload_interval = interval,
            AuthFile::Acl => self.acl_reload_interval = interval,
        }
    }
}

/// The outcome of authenticating a CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthVerdict {
    /// Let the client in.
    Accepted,
    /// CONNACK "bad user name or password" (3.1.1: 4, 5.0: 0x86).
    BadCredentials,
    /// CONNACK "not authorized" (3.1.1: 5, 5.0: 0x87).
    NotAuthorized,
}

/// What the plugins decide with, as of one moment. Cheap to share; never changes.
#[derive(Debug, Clone, Default)]
pub struct AuthRules {
    pub(crate) config: PluginConfig,
    pub(crate) passwords: Arc<Passwords>,
    /// `None` while no ACL file has been read (none set, or unreadable from the start).
    pub(crate) acl: Option<Arc<Acl>>,
}

impl AuthRules {
    /// Rules with `config` and nothing read yet.
    pub fn new(config: PluginConfig) -> Self {
        Self {
            config,
            passwords: Arc::default(),
            acl: None,
        }
    }

    /// `allow_anonymous = on`: every client is accepted without checks (VerneMQ bypasses the
    /// authentication hooks). Off: vmq_passwd must be enabled and accept the user and password
    /// → `Accepted`; an unknown user, a wrong or missing password → `BadCredentials`; no user
    /// name, or vmq_passwd disabled (no plugin answers) → `NotAuthorized`.
    pub fn authenticate(
        &self,
        allow_anonymous: bool,
        _client_id: &str,
        user: Option<&str>,
        password: Option<&[u8]>,
    ) -> AuthVerdict {
        if allow_anonymous {
            return AuthVerdict::Accepted;
        }
        let Some(user) = user.filter(|_| self.config.vmq_passwd) else {
            return AuthVerdict::NotAuthorized;
        };
        let Some(password) = password else {
            return AuthVerdict::BadCredentials;
        };
        match self.passwords.check(user, password) {
            PasswordCheck::Valid => AuthVerdict::Accepted,
            PasswordCheck::Wrong | PasswordCheck::UnknownUser => AuthVerdict::BadCredentials,
        }
    }

    /// Whether the client may publish to `topic`: vmq_acl enabled with an ACL file → its rules
    /// decide; enabled without one → allowed; disabled → denied (no plugin answers).
    pub fn may_publish(&self, client_id: &str, user: Option<&str>, topic: &str) -> bool {
        self.authorize(client_id, user, |acl, who| acl.may_publish(who, topic))
    }

    /// Whether the client may subscribe to `filter`; the same rules as [`Self::may_publish`],
    /// with `read` lines.
    pub fn may_subscribe(&self, client_id: &str, user: Option<&str>, filter: &str) -> bool {
        self.authorize(client_id, user, |acl, who| acl.may_subscribe(who, filter))
    }

    fn authorize(
        &self,
        client_id: &str,
        user: Option<&str>,
        check: impl FnOnce(&Acl, &Who<'_>) -> bool,
    ) -> bool {
        if !self.config.vmq_acl {
            return false;
        }
        let who = Who {
            user,
            client_id,
            mountpoint: "",
        };
        self.acl.as_deref().is_none_or(|acl| check(acl, &who))
    }

    /// The settings these rules were made with.
    pub fn config(&self) -> &PluginConfig {
        &self.config
    }

    /// How many users the password file had when last read.
    pub fn user_count(&self) -> usize {
        self.passwords.len()
    }

    /// Whether an ACL file has been read (without one, vmq_acl allows everything).
    pub fn has_acl(&self) -> bool {
        self.acl.is_some()
    }

    /// The enabled plugins, for `plugin show`.
    pub fn enabled_plugins(&self) -> Vec<PluginInfo> {
        Plugin::ALL
            .into_iter()
            .filter(|p| self.config.enabled(*p))
            .map(|p| *p.info())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AuthVerdict::{Accepted, BadCredentials, NotAuthorized};

    fn rules(passwd: bool, acl: bool, acl_text: Option<&str>) -> AuthRules {
        let (passwords, _) = Passwords::parse(include_str!("testdata/passwd"));
        AuthRules {
            config: PluginConfig {
                vmq_passwd: passwd,
                vmq_acl: acl,
                ..PluginConfig::default()
            },
            passwords: Arc::new(passwords),
            acl: acl_text.map(|text| Arc::new(Acl::parse(text).0)),
        }
    }

    #[test]
    fn authenticate_truth_table() {
        let alice = Some("alice");
        let good = Some(&b"alice-secret"[..]);
        let bad = Some(&b"nope"[..]);
        let on = rules(true, true, None);
        let off = rules(false, true, None);
        for r in [&on, &off] {
            for (user, password) in [(None, None), (alice, bad), (Some("x"), good)] {
                assert_eq!(r.authenticate(true, "c", user, password), Accepted);
            }
        }
        assert_eq!(on.authenticate(false, "c", alice, good), Accepted);
        assert_eq!(on.authenticate(false, "c", alice, bad), BadCredentials);
        assert_eq!(on.authenticate(false, "c", alice, None), BadCredentials);
        assert_eq!(
            on.authenticate(false, "c", Some("mallory"), good),
            BadCredentials
        );
        assert_eq!(on.authenticate(false, "c", None, good), NotAuthorized);
        assert_eq!(on.authenticate(false, "c", None, None), NotAuthorized);
        assert_eq!(off.authenticate(false, "c", alice, good), NotAuthorized);
        assert_eq!(off.authenticate(false, "c", None, None), NotAuthorized);
    }

    #[test]
    fn authorize_truth_table() {
        let file = "topic anon/#\nuser alice\ntopic alice/#\n";
        let with_file = rules(true, true, Some(file));
        assert!(with_file.may_publish("c", Some("alice"), "alice/x"));
        assert!(with_file.may_subscribe("c", Some("alice"), "alice/+"));
        assert!(!with_file.may_publish("c", Some("alice"), "anon/x"));
        assert!(with_file.may_publish("c", None, "anon/x"));
        assert!(!with_file.may_subscribe("c", Some("bob"), "alice/x"));
        let no_file = rules(true, true, None);
        assert!(no_file.may_publish("c", None, "any/topic"));
        assert!(no_file.may_subscribe("c", Some("bob"), "#"));
        for disabled in [rules(true, false, Some(file)), rules(true, false, None)] {
            assert!(!disabled.may_publish("c", Some("alice"), "alice/x"));
            assert!(!disabled.may_subscribe("c", None, "anon/x"));
        }
    }

    #[test]
    fn enabled_plugins_in_show_order() {
        let names =
            |r: &AuthRules| -> Vec<&str> { r.enabled_plugins().iter().map(|p| p.name).collect() };
        assert_eq!(names(&rules(true, true, None)), ["vmq_passwd", "vmq_acl"]);
        assert_eq!(names(&rules(false, true, None)), ["vmq_acl"]);
        assert!(names(&rules(false, false, None)).is_empty());
    }
}
