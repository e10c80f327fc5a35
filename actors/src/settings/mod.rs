//! Runtime settings: the effective configuration as a published snapshot; `set` goes through the actor.
//!
//! The actor knows nothing of the schema: the settings type validates and applies changes
//! itself (`RuntimeSettings::apply`), and the actor only makes sure that writes happen one at a
//! time and that readers always see a whole, consistent snapshot.

use std::marker::PhantomData;
use std::sync::Arc;

use arc_swap::ArcSwap;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::call::{call, CallError, DEFAULT_CALL_TIMEOUT};
use crate::slot::ActorSlot;
use crate::supervisor::{spawn_supervised, SupervisorHandle};

/// A configuration that can take `key=value` changes at run time.
pub trait RuntimeSettings: Send + Sync + Sized + 'static {
    /// Why a change was refused (unknown key, not settable, bad value).
    type Error: Send + 'static;

    /// The settings with `changes` applied, all or nothing.
    fn apply(&self, changes: &[(String, String)]) -> Result<Self, Self::Error>;
}

/// The actor's messages.
pub enum SettingsMessage<S: RuntimeSettings> {
    /// Apply `changes` and publish the result.
    Set {
        /// `key=value` pairs in input order.
        changes: Vec<(String, String)>,
        /// Ok, or why the settings refused the change.
        reply: RpcReplyPort<Result<(), S::Error>>,
    },
}

/// The actor; it holds no data.
pub struct SettingsActor<S>(PhantomData<fn() -> S>);

impl<S: RuntimeSettings> ractor::Message for SettingsMessage<S> {}

impl<S: RuntimeSettings> Actor for SettingsActor<S> {
    type Msg = SettingsMessage<S>;
    type State = Arc<ArcSwap<S>>;
    type Arguments = Arc<ArcSwap<S>>;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        current: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(current)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        current: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let SettingsMessage::Set { changes, reply } = message;
        let outcome = current.load().apply(&changes).map(|next| {
            current.store(Arc::new(next));
        });
        let _ = reply.send(outcome);
        Ok(())
    }
}

/// The handle: lock-free reads of the current settings, writes through the actor.
pub struct SettingsHandle<S: RuntimeSettings> {
    slot: ActorSlot<SettingsMessage<S>>,
    current: Arc<ArcSwap<S>>,
}

impl<S: RuntimeSettings> Clone for SettingsHandle<S> {
    fn clone(&self) -> Self {
        Self {
            slot: self.slot.clone(),
            current: Arc::clone(&self.current),
        }
    }
}

impl<S: RuntimeSettings> std::fmt::Debug for SettingsHandle<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SettingsHandle")
    }
}

impl<S: RuntimeSettings> SettingsHandle<S> {
    /// Starts the actor under `supervisor` with the settings loaded at start.
    pub async fn start(initial: S, supervisor: &SupervisorHandle) -> Result<Self, String> {
        let current = Arc::new(ArcSwap::from_pointee(initial));
        let shared = Arc::clone(&current);
        let slot = spawn_supervised(supervisor, "settings store", move || {
            (SettingsActor(PhantomData), Arc::clone(&shared))
        })
        .await?;
        Ok(Self { slot, current })
    }

    /// The settings in force now.
    pub fn current(&self) -> Arc<S> {
        self.current.load_full()
    }

    /// Reads the current settings without taking a reference count (for hot paths).
    pub fn read<R>(&self, f: impl FnOnce(&S) -> R) -> R {
        f(&self.current.load())
    }

    /// Applies `changes`; the outer error means the actor did not answer.
    pub async fn set(
        &self,
        changes: Vec<(String, String)>,
    ) -> Result<Result<(), S::Error>, CallError> {
        call(
            &self.slot.get(),
            "settings store",
            DEFAULT_CALL_TIMEOUT,
            |reply| SettingsMessage::Set { changes, reply },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A settings type for the test: one integer key `n` that must be non-negative.
    #[derive(Debug, PartialEq)]
    struct Counter(i64);

    impl RuntimeSettings for Counter {
        type Error = String;

        fn apply(&self, changes: &[(String, String)]) -> Result<Self, String> {
            let mut value = self.0;
            for (key, text) in changes {
                if key != "n" {
                    return Err(format!("unknown {key}"));
                }
                value = text.parse().map_err(|_| format!("bad {text}"))?;
            }
            if value < 0 {
                return Err("negative".into());
            }
            Ok(Counter(value))
        }
    }

    #[tokio::test]
    async fn set_publishes_a_new_snapshot_or_changes_nothing() {
        let (supervisor, _join) = SupervisorHandle::start().await.expect("supervisor");
        let settings = SettingsHandle::start(Counter(1), &supervisor)
            .await
            .expect("start");
        let before = settings.current();
        assert_eq!(
            settings.set(vec![("n".into(), "5".into())]).await,
            Ok(Ok(()))
        );
        assert_eq!(*settings.current(), Counter(5));
        assert_eq!(*before, Counter(1), "old snapshots stay valid");
        let refused = settings
            .set(vec![("n".into(), "7".into()), ("n".into(), "-1".into())])
            .await;
        assert_eq!(refused, Ok(Err("negative".to_owned())));
        assert_eq!(*settings.current(), Counter(5), "all or nothing");
        supervisor.shutdown();
    }
}
