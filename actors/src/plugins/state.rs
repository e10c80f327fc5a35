//! `PluginsState`: which plugins are enabled, their files, and re-reading a file when its
//! modification time (or size) changes. An unreadable file keeps the rules last read from it.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::acl::Acl;
use super::catalog::Plugin;
use super::passwd::Passwords;
use super::rules::{AuthFile, AuthRules};
use super::SkippedLine;
use crate::call::CallError;

/// Why a plugin request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    /// No built-in plugin has that name.
    #[error("unknown plugin {0}: the built-in plugins are vmq_passwd and vmq_acl")]
    Unknown(String),
    /// `enable` of an enabled plugin.
    #[error("plugin {0} is already enabled")]
    AlreadyEnabled(String),
    /// `disable` of a plugin that is not enabled.
    #[error("plugin {0} is not enabled")]
    NotEnabled(String),
    /// The plugins actor did not answer.
    #[error(transparent)]
    Unavailable(#[from] CallError),
}

impl PluginError {
    /// VerneMQ's reason term for the `Can't enable plugin: <name> due to <reason>` alert.
    pub fn reason(&self) -> String {
        match self {
            PluginError::Unknown(_) => "unknown_plugin".to_owned(),
            PluginError::AlreadyEnabled(_) => "already_enabled".to_owned(),
            PluginError::NotEnabled(_) => "plugin_not_found".to_owned(),
            PluginError::Unavailable(error) => error.to_string(),
        }
    }
}

/// What a file looked like when it was read: a change of either means "read it again".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: SystemTime,
    len: u64,
}

/// What is known about one file.
#[derive(Debug, Default)]
struct Watch {
    /// Set once the file was read; cleared when it can't be, so that it is read when it returns.
    stamp: Option<Stamp>,
    /// The last problem logged, so that a file that stays unreadable is not logged every tick.
    problem: Option<String>,
    /// Bumped when the check interval changes: timers of an older generation are stale.
    generation: u64,
}

/// The plugins' state: the rules last published and what is known about their files.
#[derive(Debug)]
pub(crate) struct PluginsState {
    rules: Arc<AuthRules>,
    passwords: Watch,
    acl: Watch,
}

impl PluginsState {
    /// Starts from published rules (those of the first start, or the last before a restart);
    /// nothing is read until [`Self::reload`].
    pub(crate) fn resume(rules: Arc<AuthRules>) -> Self {
        Self {
            rules,
            passwords: Watch::default(),
            acl: Watch::default(),
        }
    }

    /// The rules as of now.
    pub(crate) fn rules(&self) -> Arc<AuthRules> {
        Arc::clone(&self.rules)
    }

    /// Enables a built-in plugin and reads its file.
    pub(crate) fn enable(&mut self, name: &str) -> Result<(), PluginError> {
        let plugin = Plugin::from_name(name).ok_or_else(|| PluginError::Unknown(name.into()))?;
        if self.rules.config.enabled(plugin) {
            return Err(PluginError::AlreadyEnabled(name.to_owned()));
        }
        self.change(|rules| rules.config.set_enabled(plugin, true));
        let file = AuthFile::ALL.into_iter().find(|f| f.plugin() == plugin);
        if let Some(file) = file {
            self.reload(file, true);
        }
        Ok(())
    }

    /// Disables a built-in plugin: from now on it answers nothing (see `AuthRules`).
    pub(crate) fn disable(&mut self, name: &str) -> Result<(), PluginError> {
        let plugin = Plugin::from_name(name).ok_or_else(|| PluginError::Unknown(name.into()))?;
        if !self.rules.config.enabled(plugin) {
            return Err(PluginError::NotEnabled(name.to_owned()));
        }
        self.change(|rules| rules.config.set_enabled(plugin, false));
        Ok(())
    }

    /// Points `file` at `path` and reads it now.
    pub(crate) fn set_path(&mut self, file: AuthFile, path: Option<std::path::PathBuf>) {
        self.change(|rules| rules.config.set_path(file, path));
        self.reload(file, true);
    }

    /// Changes how often `file` is checked; returns the generation new timers must carry.
    pub(crate) fn set_interval(&mut self, file: AuthFile, interval: Duration) -> u64 {
        self.change(|rules| rules.config.set_interval(file, interval));
        let watch = self.watch(file);
        watch.generation += 1;
        watch.generation
    }

    /// The generation of `file`'s current timer.
    pub(crate) fn generation(&self, file: AuthFile) -> u64 {
        match file {
            AuthFile::Passwords => self.passwords.generation,
            AuthFile::Acl => self.acl.generation,
        }
    }

    /// Reads `file` if it changed since it was last read (always with `force`). Without a path
    /// the plugin has no users / no rules. An unreadable file keeps the rules and is logged once.
    pub(crate) fn reload(&mut self, file: AuthFile, force: bool) {
        let Some(path) = self.rules.config.path(file).cloned() else {
            let generation = self.generation(file);
            *self.watch(file) = Watch {
                generation,
                ..Watch::default()
            };
            self.change(|rules| match file {
                AuthFile::Passwords => rules.passwords = Arc::default(),
                AuthFile::Acl => rules.acl = None,
            });
            return;
        };
        let last = if force { None } else { self.watch(file).stamp };
        match read_if_changed(&path, last) {
            Ok(None) => {}
            Ok(Some((stamp, text))) => {
                self.install(file, &path, &text);
                let watch = self.watch(file);
                watch.stamp = Some(stamp);
                watch.problem = None;
            }
            Err(error) => self.note_problem(file, &path, &error),
        }
    }

    fn install(&mut self, file: AuthFile, path: &Path, text: &str) {
        let plugin = file.plugin().name();
        match file {
            AuthFile::Passwords => {
                let (passwords, skipped) = Passwords::parse(text);
                log_skipped(plugin, path, &skipped);
                tracing::info!(plugin, file = %path.display(), users = passwords.len(), "password file read");
                self.change(|rules| rules.passwords = Arc::new(passwords));
            }
            AuthFile::Acl => {
                let (acl, skipped) = Acl::parse(text);
                log_skipped(plugin, path, &skipped);
                tracing::info!(plugin, file = %path.display(), "ACL file read");
                self.change(|rules| rules.acl = Some(Arc::new(acl)));
            }
        }
    }

    fn note_problem(&mut self, file: AuthFile, path: &Path, error: &io::Error) {
        let plugin = file.plugin().name();
        let never_read = match file {
            AuthFile::Passwords => self.rules.passwords.is_empty(),
            AuthFile::Acl => self.rules.acl.is_none(),
        };
        let watch = self.watch(file);
        watch.stamp = None;
        let problem = error.to_string();
        if watch.problem.as_ref() == Some(&problem) {
            return;
        }
        watch.problem = Some(problem);
        let keeps = if never_read {
            match file {
                AuthFile::Passwords => "no user can log in with a password until it can be read",
                AuthFile::Acl => "vmq_acl allows every topic until it can be read",
            }
        } else {
            "the rules last read from it stay in force"
        };
        if never_read && error.kind() == io::ErrorKind::NotFound {
            tracing::info!(plugin, file = %path.display(), %error, "cannot read the file; {keeps}");
        } else {
            tracing::warn!(plugin, file = %path.display(), %error, "cannot read the file; {keeps}");
        }
    }

    fn watch(&mut self, file: AuthFile) -> &mut Watch {
        match file {
            AuthFile::Passwords => &mut self.passwords,
            AuthFile::Acl => &mut self.acl,
        }
    }

    /// Publishes a changed copy of the rules (the tables are shared, not copied).
    fn change(&mut self, edit: impl FnOnce(&mut AuthRules)) {
        let mut next = AuthRules::clone(&self.rules);
        edit(&mut next);
        self.rules = Arc::new(next);
    }
}

fn log_skipped(plugin: &str, path: &Path, skipped: &[SkippedLine]) {
    for problem in skipped {
        tracing::warn!(
            plugin,
            file = %path.display(),
            line = problem.line,
            reason = %problem.reason,
            "skipped a malformed line"
        );
    }
}

/// The file's text and stamp, or `None` if its stamp is still `last`.
fn read_if_changed(path: &Path, last: Option<Stamp>) -> io::Result<Option<(Stamp, String)>> {
    let meta = std::fs::metadata(path)?;
    let stamp = Stamp {
        modified: meta.modified()?,
        len: meta.len(),
    };
    if last == Some(stamp) {
        return Ok(None);
    }
    let bytes = std::fs::read(path)?;
    Ok(Some((stamp, String::from_utf8_lossy(&bytes).into_owned())))
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
