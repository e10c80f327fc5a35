//! The built-in auth plugins `vmq_passwd` and `vmq_acl`: one actor owns their settings and files
//! and publishes an [`AuthRules`] snapshot that MQTT connections read without a message.
//!
//! Each file is checked every reload interval (zero = never) and read again when its
//! modification time or size changed; setting a path or enabling a plugin reads it at once.
//! Timers carry a generation so that changing an interval retires the old timer.

mod acl;
mod catalog;
mod filter;
mod passwd;
mod rules;
mod state;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::call::{call, DEFAULT_CALL_TIMEOUT};
use crate::slot::ActorSlot;
use crate::supervisor::{spawn_supervised, SupervisorHandle};
pub use acl::Acl;
pub use catalog::{HookInfo, Plugin, PluginInfo};
pub use passwd::Passwords;
pub use rules::{AuthFile, AuthRules, AuthVerdict, PluginConfig};
pub use state::PluginError;
use state::PluginsState;

/// How the actor is named in errors ("the plugin manager is not running").
const ACTOR_NAME: &str = "plugin manager";

/// A line of a password or ACL file that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// One variant per [`PluginsHandle`] method, plus the actor's own timer.
pub(crate) enum PluginsMessage {
    Enable {
        name: String,
        reply: RpcReplyPort<Result<(), PluginError>>,
    },
    Disable {
        name: String,
        reply: RpcReplyPort<Result<(), PluginError>>,
    },
    SetFile {
        file: AuthFile,
        path: Option<PathBuf>,
        reply: RpcReplyPort<()>,
    },
    SetReloadInterval {
        file: AuthFile,
        interval: Duration,
        reply: RpcReplyPort<()>,
    },
    /// Timer: check `file` for changes, if `generation` is still its timer's.
    Check { file: AuthFile, generation: u64 },
}

/// The actor; it holds no data.
pub(crate) struct PluginsActor;

/// The running actor's state (lent to a blocking task while it reads files) and the slot it
/// publishes rules to.
pub(crate) struct Running {
    state: Option<PluginsState>,
    published: Arc<ArcSwap<AuthRules>>,
}

impl Running {
    /// Runs `change` on a blocking thread (it may read files), then publishes the rules.
    async fn change<R, F>(&mut self, change: F) -> Result<R, ActorProcessingErr>
    where
        R: Send + 'static,
        F: FnOnce(&mut PluginsState) -> R + Send + 'static,
    {
        let mut state = self.state.take().ok_or("the plugins state was lost")?;
        let (state, outcome) = tokio::task::spawn_blocking(move || {
            let outcome = change(&mut state);
            (state, outcome)
        })
        .await?;
        self.published.store(state.rules());
        self.state = Some(state);
        Ok(outcome)
    }

    /// Arms `file`'s next check, unless its interval is zero.
    fn schedule(&self, myself: &ActorRef<PluginsMessage>, file: AuthFile) {
        let Some(state) = &self.state else { return };
        let interval = state.rules().config().interval(file);
        let generation = state.generation(file);
        if !interval.is_zero() {
            myself.send_after(interval, move || PluginsMessage::Check { file, generation });
        }
    }
}

impl ractor::Message for PluginsMessage {}

impl Actor for PluginsActor {
    type Msg = PluginsMessage;
    type State = Running;
    type Arguments = Arc<ArcSwap<AuthRules>>;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        published: Self::Arguments,
    ) -> Result<Running, ActorProcessingErr> {
        // The settings survive a restart in the published rules; the files are read afresh
        // (an unreadable one keeps the tables those rules already hold).
        let mut running = Running {
            state: Some(PluginsState::resume(published.load_full())),
            published,
        };
        running
            .change(|state| {
                for file in AuthFile::ALL {
                    state.reload(file, true);
                }
            })
            .await?;
        for file in AuthFile::ALL {
            running.schedule(&myself, file);
        }
        Ok(running)
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        running: &mut Running,
    ) -> Result<(), ActorProcessingErr> {
        // A caller that gave up waiting is not the actor's failure: ignore send errors.
        match message {
            PluginsMessage::Enable { name, reply } => {
                let outcome = running.change(move |state| state.enable(&name)).await?;
                let _ = reply.send(outcome);
            }
            PluginsMessage::Disable { name, reply } => {
                let outcome = running.change(move |state| state.disable(&name)).await?;
                let _ = reply.send(outcome);
            }
            PluginsMessage::SetFile { file, path, reply } => {
                running
                    .change(move |state| state.set_path(file, path))
                    .await?;
                let _ = reply.send(());
            }
            PluginsMessage::SetReloadInterval {
                file,
                interval,
                reply,
            } => {
                running
                    .change(move |state| {
                        state.set_interval(file, interval);
                        state.reload(file, false);
                    })
                    .await?;
                running.schedule(&myself, file);
                let _ = reply.send(());
            }
            PluginsMessage::Check { file, generation } => {
                let current = running.state.as_ref().map(|s| s.generation(file));
                if current == Some(generation) {
                    running
                        .change(move |state| state.reload(file, false))
                        .await?;
                    running.schedule(&myself, file);
                }
            }
        }
        Ok(())
    }
}

/// What callers hold: rules as a snapshot, changes through the actor.
#[derive(Clone)]
pub struct PluginsHandle {
    slot: ActorSlot<PluginsMessage>,
    published: Arc<ArcSwap<AuthRules>>,
}

impl std::fmt::Debug for PluginsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PluginsHandle({:?})", self.published.load().config())
    }
}

impl PluginsHandle {
    /// Starts the actor under `supervisor`; the files are read before this returns.
    pub async fn start(
        supervisor: &SupervisorHandle,
        config: PluginConfig,
    ) -> Result<Self, String> {
        let published = Arc::new(ArcSwap::from_pointee(AuthRules::new(config)));
        let shared = Arc::clone(&published);
        let slot = spawn_supervised(supervisor, ACTOR_NAME, move || {
            (PluginsActor, Arc::clone(&shared))
        })
        .await?;
        Ok(Self { slot, published })
    }

    /// The rules in force now: a lock-free read, no message.
    pub fn rules(&self) -> Arc<AuthRules> {
        self.published.load_full()
    }

    /// The enabled plugins, for `plugin show`.
    pub fn show(&self) -> Vec<PluginInfo> {
        self.published.load().enabled_plugins()
    }

    /// Enables a built-in plugin (and reads its file).
    pub async fn enable(&self, name: &str) -> Result<(), PluginError> {
        let name = name.to_owned();
        self.ask(|reply| PluginsMessage::Enable { name, reply })
            .await?
    }

    /// Disables a built-in plugin.
    pub async fn disable(&self, name: &str) -> Result<(), PluginError> {
        let name = name.to_owned();
        self.ask(|reply| PluginsMessage::Disable { name, reply })
            .await?
    }

    /// Points vmq_passwd at `path` (`None`: no users) and reads it now.
    pub async fn set_password_file(&self, path: Option<PathBuf>) -> Result<(), PluginError> {
        self.set_file(AuthFile::Passwords, path).await
    }

    /// Points vmq_acl at `path` (`None`: no rules) and reads it now.
    pub async fn set_acl_file(&self, path: Option<PathBuf>) -> Result<(), PluginError> {
        self.set_file(AuthFile::Acl, path).await
    }

    /// How often the password file is checked for changes (zero: never).
    pub async fn set_password_reload_interval(
        &self,
        interval: Duration,
    ) -> Result<(), PluginError> {
        self.set_reload_interval(AuthFile::Passwords, interval)
            .await
    }

    /// How often the ACL file is checked for changes (zero: never).
    pub async fn set_acl_reload_interval(&self, interval: Duration) -> Result<(), PluginError> {
        self.set_reload_interval(AuthFile::Acl, interval).await
    }

    async fn set_file(&self, file: AuthFile, path: Option<PathBuf>) -> Result<(), PluginError> {
        self.ask(|reply| PluginsMessage::SetFile { file, path, reply })
            .await
    }

    async fn set_reload_interval(
        &self,
        file: AuthFile,
        interval: Duration,
    ) -> Result<(), PluginError> {
        self.ask(|reply| PluginsMessage::SetReloadInterval {
            file,
            interval,
            reply,
        })
        .await
    }

    async fn ask<R, F>(&self, build: F) -> Result<R, PluginError>
    where
        R: Send + 'static,
        F: FnOnce(RpcReplyPort<R>) -> PluginsMessage,
    {
        Ok(call(&self.slot.get(), ACTOR_NAME, DEFAULT_CALL_TIMEOUT, build).await?)
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
