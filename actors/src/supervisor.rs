//! `NodeSupervisor`: owns every long-lived actor, restarts one that fails, gives up when they keep failing.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Respawns a child linked to the supervisor cell it is given and re-points its handle.
pub(crate) type RestartFn = Arc<
    dyn Fn(ActorCell) -> Pin<Box<dyn Future<Output = Result<ActorCell, String>> + Send>>
        + Send
        + Sync,
>;

/// More failures than this within [`RESTART_WINDOW`] and the supervisor gives up on the node.
const MAX_RESTARTS: usize = 3;
const RESTART_WINDOW: Duration = Duration::from_secs(10);

/// The supervisor's messages.
pub(crate) enum SupervisorMessage {
    /// Start watching `child` (already spawned linked to the supervisor).
    Supervise {
        name: &'static str,
        child: ActorCell,
        restart: RestartFn,
    },
    /// Stop every child, then the supervisor: nothing is restarted from here on.
    Shutdown,
}

struct Child {
    name: &'static str,
    restart: RestartFn,
}

/// What the supervisor keeps: its children and their recent failures.
pub(crate) struct SupervisorState {
    children: HashMap<ActorId, (ActorCell, Child)>,
    failures: Vec<Instant>,
    stopping: bool,
    gave_up: watch::Sender<Option<String>>,
}

/// The actor; it holds no data.
pub(crate) struct NodeSupervisor;

// Local only: the `cluster` feature of ractor asks every message type to say whether it is remote.
impl ractor::Message for SupervisorMessage {}

impl Actor for NodeSupervisor {
    type Msg = SupervisorMessage;
    type State = SupervisorState;
    type Arguments = watch::Sender<Option<String>>;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        gave_up: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(SupervisorState {
            children: HashMap::new(),
            failures: Vec::new(),
            stopping: false,
            gave_up,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SupervisorMessage::Supervise {
                name,
                child,
                restart,
            } => {
                state
                    .children
                    .insert(child.get_id(), (child, Child { name, restart }));
            }
            SupervisorMessage::Shutdown => {
                state.stopping = true;
                for (cell, _) in state.children.values() {
                    cell.stop(Some("node shutdown".to_owned()));
                }
                myself.stop(None);
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let (cell, why) = match event {
            SupervisionEvent::ActorFailed(cell, error) => (cell, error.to_string()),
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                (cell, reason.unwrap_or_else(|| "stopped".to_owned()))
            }
            _ => return Ok(()),
        };
        let Some((_, child)) = state.children.remove(&cell.get_id()) else {
            return Ok(());
        };
        if state.stopping {
            return Ok(());
        }
        tracing::error!(actor = child.name, reason = %why, "actor died; restarting it");
        let now = Instant::now();
        state
            .failures
            .retain(|at| now.duration_since(*at) < RESTART_WINDOW);
        state.failures.push(now);
        if state.failures.len() > MAX_RESTARTS {
            return give_up(
                state,
                &myself,
                format!("the {} keeps failing: {why}", child.name),
            );
        }
        match (child.restart)(myself.get_cell()).await {
            Ok(new_cell) => {
                state.children.insert(new_cell.get_id(), (new_cell, child));
                Ok(())
            }
            Err(error) => give_up(
                state,
                &myself,
                format!("the {} could not be restarted: {error}", child.name),
            ),
        }
    }
}

fn give_up(
    state: &mut SupervisorState,
    myself: &ActorRef<SupervisorMessage>,
    reason: String,
) -> Result<(), ActorProcessingErr> {
    tracing::error!(%reason, "supervisor gives up; the node stops");
    state.stopping = true;
    for (cell, _) in state.children.values() {
        cell.stop(None);
    }
    let _ = state.gave_up.send(Some(reason));
    myself.stop(None);
    Ok(())
}

/// The handle to the supervision tree's root.
#[derive(Debug, Clone)]
pub struct SupervisorHandle {
    actor: ActorRef<SupervisorMessage>,
    gave_up: watch::Receiver<Option<String>>,
}

impl SupervisorHandle {
    /// Starts an empty supervisor.
    pub async fn start() -> Result<(Self, JoinHandle<()>), String> {
        let (tx, rx) = watch::channel(None);
        let (actor, join) = Actor::spawn(None, NodeSupervisor, tx)
            .await
            .map_err(|e| format!("could not start the supervisor: {e}"))?;
        Ok((Self { actor, gave_up: rx }, join))
    }

    pub(crate) fn cell(&self) -> ActorCell {
        self.actor.get_cell()
    }

    /// Watches a child spawned linked to [`Self::cell`]; `restart` brings it back after a failure.
    pub(crate) fn supervise(&self, name: &'static str, child: ActorCell, restart: RestartFn) {
        let _ = self.actor.cast(SupervisorMessage::Supervise {
            name,
            child,
            restart,
        });
    }

    /// Resolves with the reason once the supervisor has given up (children failing repeatedly).
    pub async fn gave_up(&self) -> String {
        let mut rx = self.gave_up.clone();
        loop {
            if let Some(reason) = rx.borrow_and_update().clone() {
                return reason;
            }
            if rx.changed().await.is_err() {
                return "the supervisor stopped".to_owned();
            }
        }
    }

    /// Stops every child and the supervisor.
    pub fn shutdown(&self) {
        let _ = self.actor.cast(SupervisorMessage::Shutdown);
    }
}

/// Spawns an actor linked to the supervisor and registers how to bring it back: `make` builds
/// the actor and its arguments afresh for every (re)start. Returns the slot handles read.
pub(crate) async fn spawn_supervised<A, F>(
    supervisor: &SupervisorHandle,
    name: &'static str,
    make: F,
) -> Result<crate::slot::ActorSlot<A::Msg>, String>
where
    A: Actor,
    F: Fn() -> (A, A::Arguments) + Send + Sync + 'static,
{
    let (actor, args) = make();
    let (actor_ref, _join) = Actor::spawn_linked(None, actor, args, supervisor.cell())
        .await
        .map_err(|e| format!("could not start the {name}: {e}"))?;
    let slot = crate::slot::ActorSlot::new(actor_ref.clone());
    let make = Arc::new(make);
    let restart_slot = slot.clone();
    let restart: RestartFn = Arc::new(move |supervisor_cell| {
        let make = Arc::clone(&make);
        let slot = restart_slot.clone();
        Box::pin(async move {
            let (actor, args) = make();
            let (actor_ref, _join) = Actor::spawn_linked(None, actor, args, supervisor_cell)
                .await
                .map_err(|e| e.to_string())?;
            let cell = actor_ref.get_cell();
            slot.replace(actor_ref);
            Ok(cell)
        })
    });
    supervisor.supervise(name, actor_ref.get_cell(), restart);
    Ok(slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::call;

    /// A throwaway child for these tests: `Crash` makes it fail, `Ping` answers.
    struct Fragile;

    enum FragileMessage {
        Ping { reply: ractor::RpcReplyPort<()> },
        Crash,
    }

    impl ractor::Message for FragileMessage {}

    impl Actor for Fragile {
        type Msg = FragileMessage;
        type State = ();
        type Arguments = ();

        async fn pre_start(
            &self,
            _myself: ActorRef<Self::Msg>,
            _args: (),
        ) -> Result<(), ActorProcessingErr> {
            Ok(())
        }

        async fn handle(
            &self,
            _myself: ActorRef<Self::Msg>,
            message: Self::Msg,
            _state: &mut (),
        ) -> Result<(), ActorProcessingErr> {
            match message {
                FragileMessage::Ping { reply } => {
                    let _ = reply.send(());
                    Ok(())
                }
                FragileMessage::Crash => Err("asked to crash".into()),
            }
        }
    }

    async fn ping_eventually(slot: &crate::slot::ActorSlot<FragileMessage>) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let answered = call(
                &slot.get(),
                "fragile",
                Duration::from_millis(200),
                |reply| FragileMessage::Ping { reply },
            )
            .await;
            if answered.is_ok() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    #[tokio::test]
    async fn a_failed_child_is_restarted_and_its_handle_follows() {
        let (supervisor, _join) = SupervisorHandle::start().await.expect("supervisor");
        let slot = spawn_supervised(&supervisor, "fragile", || (Fragile, ()))
            .await
            .expect("spawn");
        let first = slot.get().get_id();
        let _ = slot.get().cast(FragileMessage::Crash);
        assert!(
            ping_eventually(&slot).await,
            "the restarted child answers through the same slot"
        );
        assert_ne!(
            slot.get().get_id(),
            first,
            "the slot points at the new actor"
        );
        supervisor.shutdown();
    }

    #[tokio::test]
    async fn a_child_that_keeps_failing_makes_the_supervisor_give_up() {
        let (supervisor, _join) = SupervisorHandle::start().await.expect("supervisor");
        let slot = spawn_supervised(&supervisor, "fragile", || (Fragile, ()))
            .await
            .expect("spawn");
        for _ in 0..=MAX_RESTARTS {
            assert!(ping_eventually(&slot).await, "alive before the next crash");
            let _ = slot.get().cast(FragileMessage::Crash);
        }
        let reason = tokio::time::timeout(Duration::from_secs(5), supervisor.gave_up())
            .await
            .expect("gave up in time");
        assert!(reason.contains("fragile keeps failing"), "{reason}");
    }
}
