//! Request/reply to an actor with a deadline: the only place a ractor `CallResult` is matched.

use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{ActorRef, Message, RpcReplyPort};

/// Why an actor call produced no answer. Callers map it to "did not answer in time" (503).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The actor is alive but did not reply before the deadline.
    #[error("the {actor} did not answer within {timeout_ms} ms")]
    Timeout {
        /// Which actor (a human name such as "api-key vault").
        actor: &'static str,
        /// The deadline that passed.
        timeout_ms: u64,
    },
    /// The actor is not running (stopped, crashed, or restarting).
    #[error("the {actor} is not running")]
    Stopped {
        /// Which actor.
        actor: &'static str,
    },
}

/// Sends the message built by `build` to `actor` and waits up to `timeout` for its reply.
pub async fn call<M, R, F>(
    actor: &ActorRef<M>,
    actor_name: &'static str,
    timeout: Duration,
    build: F,
) -> Result<R, CallError>
where
    M: Message,
    R: Send + 'static,
    F: FnOnce(RpcReplyPort<R>) -> M,
{
    match actor.call(build, Some(timeout)).await {
        Ok(CallResult::Success(reply)) => Ok(reply),
        Ok(CallResult::Timeout) => Err(CallError::Timeout {
            actor: actor_name,
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        }),
        Ok(CallResult::SenderError) | Err(_) => Err(CallError::Stopped { actor: actor_name }),
    }
}

/// The default deadline for control-plane calls: long enough for an fsync on a slow disk.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;
    use ractor::{Actor, ActorProcessingErr};

    /// A throwaway actor used only to exercise `call`: it answers after the delay it is given.
    struct Sleeper;

    enum SleeperMessage {
        Echo {
            delay: Duration,
            value: u32,
            reply: RpcReplyPort<u32>,
        },
    }

    impl ractor::Message for SleeperMessage {}

    impl Actor for Sleeper {
        type Msg = SleeperMessage;
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
            let SleeperMessage::Echo {
                delay,
                value,
                reply,
            } = message;
            tokio::time::sleep(delay).await;
            let _ = reply.send(value);
            Ok(())
        }
    }

    #[tokio::test]
    async fn answers_within_the_deadline() {
        let (actor, handle) = Actor::spawn(None, Sleeper, ()).await.expect("spawn");
        let got = call(&actor, "sleeper", Duration::from_secs(5), |reply| {
            SleeperMessage::Echo {
                delay: Duration::ZERO,
                value: 7,
                reply,
            }
        })
        .await;
        assert_eq!(got, Ok(7));
        actor.stop(None);
        handle.await.expect("join");
    }

    #[tokio::test]
    async fn a_slow_actor_is_a_timeout_naming_it() {
        let (actor, handle) = Actor::spawn(None, Sleeper, ()).await.expect("spawn");
        let got = call(&actor, "sleeper", Duration::from_millis(20), |reply| {
            SleeperMessage::Echo {
                delay: Duration::from_secs(2),
                value: 7,
                reply,
            }
        })
        .await;
        assert_eq!(
            got,
            Err(CallError::Timeout {
                actor: "sleeper",
                timeout_ms: 20
            })
        );
        assert!(got.expect_err("timed out").to_string().contains("sleeper"));
        actor.kill();
        handle.await.expect("join");
    }

    #[tokio::test]
    async fn a_stopped_actor_is_reported_as_stopped() {
        let (actor, handle) = Actor::spawn(None, Sleeper, ()).await.expect("spawn");
        actor.stop(None);
        handle.await.expect("join");
        let got = call(&actor, "sleeper", Duration::from_secs(1), |reply| {
            SleeperMessage::Echo {
                delay: Duration::ZERO,
                value: 1,
                reply,
            }
        })
        .await;
        assert_eq!(got, Err(CallError::Stopped { actor: "sleeper" }));
    }
}
