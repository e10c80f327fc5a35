//! A session's two deadlines, keep-alive and the MQTT 3 retry of unacknowledged messages,
//! served by one timer.

use std::collections::HashSet;
use std::num::NonZeroU16;
use std::time::Duration;

use tokio::time::Instant;

use crate::sessions::queue::SessionQueue;

/// A session's deadlines: keep-alive (1.5 × the client's) and the retry of unacknowledged
/// messages, served by one timer so that an idle session waits on a single sleep.
pub(super) struct Deadlines {
    idle: Option<Duration>,
    last_read: Instant,
    retry_every: Option<Duration>,
    /// When the messages in `unacked` are sent again.
    retry_at: Option<Instant>,
    unacked: HashSet<NonZeroU16>,
}

impl Deadlines {
    pub(super) fn new(idle: Option<Duration>, retry_every: Option<Duration>) -> Self {
        Self {
            idle,
            last_read: Instant::now(),
            retry_every,
            retry_at: None,
            unacked: HashSet::new(),
        }
    }

    /// The client sent something.
    pub(super) fn read(&mut self) {
        self.last_read = Instant::now();
    }

    /// Starts the retry clock for what is in flight now, unless it runs already.
    pub(super) fn arm_retry(&mut self, queue: &SessionQueue) {
        if let (None, Some(every)) = (self.retry_at, self.retry_every) {
            self.unacked = queue.inflight_ids().into_iter().collect();
            self.retry_at = (!self.unacked.is_empty()).then(|| Instant::now() + every);
        }
    }

    /// The earliest deadline.
    pub(super) fn next(&self) -> Option<Instant> {
        let idle_at = self.idle.map(|idle| self.last_read + idle);
        match (idle_at, self.retry_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(super) fn idle_expired(&self) -> bool {
        self.idle
            .is_some_and(|idle| Instant::now() >= self.last_read + idle)
    }

    /// When the retry deadline passed: the ids to resend (those unacknowledged since the clock
    /// started), and the clock restarts for what is in flight now.
    pub(super) fn retry_due(&mut self, queue: &SessionQueue) -> Option<HashSet<NonZeroU16>> {
        if self.retry_at.is_none_or(|at| Instant::now() < at) {
            return None;
        }
        self.retry_at = None;
        let due = std::mem::take(&mut self.unacked);
        self.arm_retry(queue);
        Some(due)
    }
}

/// Sleeps until `at`; never resolves for `None`.
pub(super) async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
