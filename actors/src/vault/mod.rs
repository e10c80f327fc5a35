//! The api-key vault: one actor that serialises changes to the keys and publishes snapshots.
//!
//! Writes (`create`, `add`, `delete`) are messages; the actor saves the new list to disk and only
//! then publishes it. Reads (`snapshot`, used by HTTP authentication) never touch the actor.

mod snapshot;
mod state;
mod store;

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::call::{call, CallError, DEFAULT_CALL_TIMEOUT};
use crate::slot::ActorSlot;
use crate::supervisor::{spawn_supervised, SupervisorHandle};
use crate::{ApiKey, Scope};
pub use snapshot::{KeyRow, VaultSnapshot};
use state::VaultState;
pub use state::{KeyPolicy, VaultError, GENERATED_KEY_LENGTH};
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

/// What callers hold: sends changes to the vault actor, reads its published snapshot.
#[derive(Clone)]
pub struct VaultHandle {
    slot: ActorSlot<VaultMessage>,
    published: Arc<ArcSwap<VaultSnapshot>>,
}

impl std::fmt::Debug for VaultHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VaultHandle({} keys)", self.published.load().len())
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
        Ok(VaultHandle { slot, published })
    }

    /// Generates a key for `scope` and returns it: the only time the whole key is seen.
    pub async fn create(
        &self,
        scope: Scope,
        expires: Option<DateTime<Utc>>,
        policy: KeyPolicy,
    ) -> Result<ApiKey, VaultError> {
        call(
            &self.slot.get(),
            ACTOR_NAME,
            DEFAULT_CALL_TIMEOUT,
            |reply| VaultMessage::Create {
                scope,
                expires,
                policy,
                reply,
            },
        )
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
        call(
            &self.slot.get(),
            ACTOR_NAME,
            DEFAULT_CALL_TIMEOUT,
            |reply| VaultMessage::Add {
                key,
                scope,
                expires,
                policy,
                reply,
            },
        )
        .await?
    }

    /// Removes `key` from `scope`.
    pub async fn delete(&self, key: ApiKey, scope: Scope) -> Result<(), VaultError> {
        call(
            &self.slot.get(),
            ACTOR_NAME,
            DEFAULT_CALL_TIMEOUT,
            |reply| VaultMessage::Delete { key, scope, reply },
        )
        .await?
    }

    /// The keys as last saved: a lock-free read, no message to the actor.
    pub fn snapshot(&self) -> Arc<VaultSnapshot> {
        self.published.load_full()
    }

    /// Whether `key` opens `scope` now. The hot path of every authenticated request: it reads
    /// the published snapshot without taking a reference count.
    pub fn authorize(&self, key: &[u8], scope: Scope, now: DateTime<Utc>) -> bool {
        self.published.load().authorize(key, scope, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    async fn supervised(file: &std::path::Path) -> (SupervisorHandle, VaultHandle) {
        let (supervisor, _join) = SupervisorHandle::start().await.expect("supervisor");
        let vault = VaultHandle::start(file.to_owned(), &supervisor)
            .await
            .expect("start");
        (supervisor, vault)
    }

    #[tokio::test]
    async fn keys_go_through_the_handle_and_survive_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("api_keys.json");
        let (supervisor, vault) = supervised(&file).await;
        let policy = KeyPolicy::default();
        let key = vault
            .create(Scope::Mgmt, None, policy)
            .await
            .expect("create");
        let user_key = ApiKey::new("user-chosen-key");
        let add = |key: &ApiKey| vault.add(key.clone(), Scope::Status, None, policy);
        add(&user_key).await.expect("add");
        let again = add(&user_key).await;
        assert_eq!(
            again,
            Err(VaultError::KeyExists {
                scope: Scope::Status
            })
        );
        let now = Utc::now();
        assert!(vault
            .snapshot()
            .authorize(key.expose().as_bytes(), Scope::Mgmt, now));
        assert!(vault
            .snapshot()
            .authorize(b"user-chosen-key", Scope::Status, now));

        vault
            .delete(key.clone(), Scope::Mgmt)
            .await
            .expect("delete");
        assert!(!vault
            .snapshot()
            .authorize(key.expose().as_bytes(), Scope::Mgmt, now));
        let absent = vault.delete(key, Scope::Mgmt).await;
        assert_eq!(absent, Err(VaultError::KeyNotFound { scope: Scope::Mgmt }));
        supervisor.shutdown();
        let deadline = Instant::now() + Duration::from_secs(5);
        let absent = ApiKey::new("never-added");
        while !matches!(
            vault.delete(absent.clone(), Scope::Mgmt).await,
            Err(VaultError::Unavailable(_))
        ) {
            assert!(Instant::now() < deadline, "the vault still answers");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        let (supervisor, restarted) = supervised(&file).await;
        let snapshot = restarted.snapshot();
        assert_eq!(snapshot.len(), 1);
        assert!(snapshot.authorize(b"user-chosen-key", Scope::Status, Utc::now()));
        supervisor.shutdown();
    }

    #[tokio::test]
    async fn a_killed_vault_comes_back_with_its_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (supervisor, vault) = supervised(&dir.path().join("api_keys.json")).await;
        let policy = KeyPolicy::default();
        let first = vault
            .create(Scope::Mgmt, None, policy)
            .await
            .expect("create");
        let killed = vault.slot.get();
        killed.kill();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Arc::ptr_eq(&killed, &vault.slot.get()) {
            assert!(Instant::now() < deadline, "the vault was not restarted");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let second = vault
            .create(Scope::Mgmt, None, policy)
            .await
            .expect("create");
        let snapshot = vault.snapshot();
        assert_eq!(snapshot.len(), 2);
        for key in [first, second] {
            assert!(snapshot.authorize(key.expose().as_bytes(), Scope::Mgmt, Utc::now()));
        }
        supervisor.shutdown();
    }

    #[tokio::test]
    async fn a_corrupt_file_stops_the_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("api_keys.json");
        std::fs::write(&file, "{").expect("write");
        let (supervisor, _join) = SupervisorHandle::start().await.expect("supervisor");
        let started = VaultHandle::start(file, &supervisor).await;
        assert!(
            matches!(started, Err(VaultError::Corrupt(_))),
            "{started:?}"
        );
        supervisor.shutdown();
    }
}
