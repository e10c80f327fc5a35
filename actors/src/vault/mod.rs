//! The api-key vault: keys in the replicated cluster metadata (a node's vault), or in a file of
//! their own, changed by one actor that serialises changes and publishes snapshots.
//!
//! On the metadata (`replicated.rs`), writes (`create`, `add`, `delete`) are raft writes and
//! reads derive a snapshot from the state applied on this node. On a file, writes are messages;
//! the actor saves the new list to disk and only then publishes it. Either way reads
//! (`snapshot`, used by HTTP authentication) never wait for a write.

mod policy;
mod replicated;
mod snapshot;
mod state;
mod store;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::call::{call, CallError, DEFAULT_CALL_TIMEOUT};
use crate::raft::MetaMember;
use crate::slot::ActorSlot;
use crate::supervisor::{spawn_supervised, SupervisorHandle};
use crate::{ApiKey, Scope};
pub use policy::{KeyPolicy, GENERATED_KEY_LENGTH};
use replicated::Replicated;
pub use snapshot::{KeyRow, VaultSnapshot};
pub use state::VaultError;
use state::VaultState;
pub(crate) use store::write_atomic;

/// How the vault is named in errors ("the api-key vault is not running").
const ACTOR_NAME: &str = "api-key vault";

/// The vault actor. It holds no data: [`VaultState`] does.
pub(crate) struct VaultActor;

/// One variant per [`VaultHandle`] method.
pub(crate) enum VaultMessage {
    Create {
        scope: Scope,
        expires: Option<DateTime<Utc>>,
        policy: KeyPolicy,
        reply: RpcReplyPort<Result<ApiKey, VaultError>>,
    },
    Add {
        key: ApiKey,
        scope: Scope,
        expires: Option<DateTime<Utc>>,
        policy: KeyPolicy,
        reply: RpcReplyPort<Result<(), VaultError>>,
    },
    Delete {
        key: ApiKey,
        scope: Scope,
        reply: RpcReplyPort<Result<(), VaultError>>,
    },
}

/// What every (re)start of the actor gets: the file, and the slot that already holds the keys
/// as last saved.
pub(crate) struct VaultArgs {
    file: PathBuf,
    published: Arc<ArcSwap<VaultSnapshot>>,
}

/// The running actor's state: the vault (lent to a blocking task while it writes) and the
/// slot it publishes snapshots to.
pub(crate) struct Running {
    vault: Option<VaultState>,
    published: Arc<ArcSwap<VaultSnapshot>>,
}

impl Running {
    /// Runs `change` on a blocking thread (it fsyncs), then publishes the resulting snapshot.
    async fn change<R, F>(&mut self, change: F) -> Result<R, ActorProcessingErr>
    where
        R: Send + 'static,
        F: FnOnce(&mut VaultState, DateTime<Utc>) -> R + Send + 'static,
    {
        let mut vault = self.vault.take().ok_or("the vault state was lost")?;
        let (vault, outcome) = tokio::task::spawn_blocking(move || {
            let outcome = change(&mut vault, Utc::now());
            (vault, outcome)
        })
        .await?;
        self.published.store(vault.snapshot());
        self.vault = Some(vault);
        Ok(outcome)
    }
}

impl ractor::Message for VaultMessage {}

impl Actor for VaultActor {
    type Msg = VaultMessage;
    type State = Running;
    type Arguments = VaultArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: VaultArgs,
    ) -> Result<Running, ActorProcessingErr> {
        // Memory only changes once the file has, so after a restart the published snapshot
        // is exactly the file's content: no need to read (and possibly fail on) it again.
        let vault = VaultState::resume(args.file, args.published.load_full());
        Ok(Running {
            vault: Some(vault),
            published: args.published,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        running: &mut Running,
    ) -> Result<(), ActorProcessingErr> {
        // A caller that gave up waiting is not the vault's failure: ignore send errors.
        match message {
            VaultMessage::Create {
                scope,
                expires,
                policy,
                reply,
            } => {
                let outcome = running
                    .change(move |vault, now| vault.create(scope, expires, policy, now))
                    .await?;
                let _ = reply.send(outcome);
            }
            VaultMessage::Add {
                key,
                scope,
                expires,
                policy,
                reply,
            } => {
                let outcome = running
                    .change(move |vault, now| vault.add(&key, scope, expires, policy, now))
                    .await?;
                let _ = reply.send(outcome);
            }
            VaultMessage::Delete { key, scope, reply } => {
                let outcome = running
                    .change(move |vault, _now| vault.delete(&key, scope))
                    .await?;
                let _ = reply.send(outcome);
            }
        }
        Ok(())
    }
}

/// What callers hold: changes go to the metadata or the vault actor, reads to the published
/// snapshot.
#[derive(Clone)]
pub struct VaultHandle {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    /// The node's own file, changed by the vault actor.
    File {
        slot: ActorSlot<VaultMessage>,
        published: Arc<ArcSwap<VaultSnapshot>>,
    },
    /// The replicated cluster metadata.
    Replicated(Arc<Replicated>),
}

impl std::fmt::Debug for VaultHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VaultHandle({} keys)", self.snapshot().len())
    }
}

impl VaultHandle {
    /// Loads `file` (missing = empty vault; unreadable = [`VaultError::Corrupt`]) and spawns the
    /// actor under `supervisor`, which restarts it with the keys as last saved.
    pub async fn start(
        file: PathBuf,
        supervisor: &SupervisorHandle,
    ) -> Result<VaultHandle, VaultError> {
        let initial = tokio::task::spawn_blocking({
            let file = file.clone();
            move || VaultState::load(file)
        })
        .await
        .map_err(|e| {
            VaultError::Corrupt(format!(
                "could not load the api-key file {}: {e}",
                file.display()
            ))
        })??;
        let published = Arc::new(ArcSwap::new(initial.snapshot()));
        let shared = Arc::clone(&published);
        let slot = spawn_supervised(supervisor, ACTOR_NAME, move || {
            let args = VaultArgs {
                file: file.clone(),
                published: Arc::clone(&shared),
            };
            (VaultActor, args)
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "could not start the api-key vault");
            VaultError::Unavailable(CallError::Stopped { actor: ACTOR_NAME })
        })?;
        let backend = Backend::File { slot, published };
        Ok(VaultHandle { backend })
    }

    /// The vault on the cluster metadata `meta`. The keys of `legacy_file` (the api-key file of
    /// the previous version) are imported first, once; an unreadable one is
    /// [`VaultError::Corrupt`] and is left untouched.
    pub async fn replicated(meta: MetaMember, legacy_file: &Path) -> Result<Self, VaultError> {
        let replicated = Replicated::new(meta);
        replicated.import(legacy_file).await?;
        let backend = Backend::Replicated(Arc::new(replicated));
        Ok(VaultHandle { backend })
    }

    /// Generates a key for `scope` and returns it: the only time the whole key is seen.
    pub async fn create(
        &self,
        scope: Scope,
        expires: Option<DateTime<Utc>>,
        policy: KeyPolicy,
    ) -> Result<ApiKey, VaultError> {
        let slot = match &self.backend {
            Backend::File { slot, .. } => slot,
            Backend::Replicated(meta) => return meta.create(scope, expires, policy).await,
        };
        call(&slot.get(), ACTOR_NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            VaultMessage::Create {
                scope,
                expires,
                policy,
                reply,
            }
        })
        .await?
    }

    /// Stores a key chosen by the user in `scope`.
    pub async fn add(
        &self,
        key: ApiKey,
        scope: Scope,
        expires: Option<DateTime<Utc>>,
        policy: KeyPolicy,
    ) -> Result<(), VaultError> {
        let slot = match &self.backend {
            Backend::File { slot, .. } => slot,
            Backend::Replicated(meta) => return meta.add(&key, scope, expires, policy).await,
        };
        call(&slot.get(), ACTOR_NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            VaultMessage::Add {
                key,
                scope,
                expires,
                policy,
                reply,
            }
        })
        .await?
    }

    /// Removes `key` from `scope`.
    pub async fn delete(&self, key: ApiKey, scope: Scope) -> Result<(), VaultError> {
        let slot = match &self.backend {
            Backend::File { slot, .. } => slot,
            Backend::Replicated(meta) => return meta.delete(&key, scope).await,
        };
        call(&slot.get(), ACTOR_NAME, DEFAULT_CALL_TIMEOUT, |reply| {
            VaultMessage::Delete { key, scope, reply }
        })
        .await?
    }

    /// The keys as last saved (applied on this node): a lock-free read, no message.
    pub fn snapshot(&self) -> Arc<VaultSnapshot> {
        match &self.backend {
            Backend::File { published, .. } => published.load_full(),
            Backend::Replicated(meta) => meta.snapshot(),
        }
    }

    /// Whether `key` opens `scope` now. The hot path of every authenticated request: it reads
    /// the published snapshot, never waiting for a write.
    pub fn authorize(&self, key: &[u8], scope: Scope, now: DateTime<Utc>) -> bool {
        match &self.backend {
            Backend::File { published, .. } => published.load().authorize(key, scope, now),
            Backend::Replicated(meta) => meta.snapshot().authorize(key, scope, now),
        }
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
