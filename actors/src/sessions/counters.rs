//! The data plane's message counters (`node status`, `/status.json`): relaxed atomics, so
//! counting takes no lock on the hot path.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counts since the node started.
#[derive(Debug, Default)]
pub struct Counters {
    msg_in: AtomicU64,
    msg_out: AtomicU64,
    queue_in: AtomicU64,
    queue_out: AtomicU64,
    queue_drop: AtomicU64,
    matches_local: AtomicU64,
    protocol_errors: AtomicU64,
    connects_refused: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterValues {
    /// PUBLISH packets received from clients.
    pub msg_in: u64,
    /// PUBLISH packets sent to clients.
    pub msg_out: u64,
    /// Messages put into session queues.
    pub queue_in: u64,
    /// Messages taken out of session queues for delivery.
    pub queue_out: u64,
    /// Messages dropped by full queues.
    pub queue_drop: u64,
    /// Subscriptions a publish matched.
    pub matches_local: u64,
    /// Connections closed for a malformed packet or a protocol violation.
    pub protocol_errors: u64,
    /// CONNECTs refused with a CONNACK (protocol level, client id, credentials).
    pub connects_refused: u64,
}

fn add(counter: &AtomicU64, n: usize) {
    counter.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
}

impl Counters {
    /// A PUBLISH came in.
    pub fn received(&self) {
        add(&self.msg_in, 1);
    }

    /// `n` PUBLISH packets went out, `taken` of them fresh from the queue.
    pub fn sent(&self, n: usize, taken: usize) {
        add(&self.msg_out, n);
        add(&self.queue_out, taken);
    }

    /// A publish matched `matched` subscriptions; `dropped` of their queues were full.
    pub fn routed(&self, matched: usize, dropped: usize) {
        add(&self.matches_local, matched);
        add(&self.queue_in, matched - dropped.min(matched));
        add(&self.queue_drop, dropped);
    }

    /// A message was dropped on its way out (too big for the client).
    pub fn dropped(&self) {
        add(&self.queue_drop, 1);
    }

    /// A connection was closed for a malformed packet or a protocol violation.
    pub fn protocol_error(&self) {
        add(&self.protocol_errors, 1);
    }

    /// A CONNECT was refused with a CONNACK.
    pub fn connect_refused(&self) {
        add(&self.connects_refused, 1);
    }

    /// The values now.
    pub fn values(&self) -> CounterValues {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CounterValues {
            msg_in: get(&self.msg_in),
            msg_out: get(&self.msg_out),
            queue_in: get(&self.queue_in),
            queue_out: get(&self.queue_out),
            queue_drop: get(&self.queue_drop),
            matches_local: get(&self.matches_local),
            protocol_errors: get(&self.protocol_errors),
            connects_refused: get(&self.connects_refused),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up() {
        let counters = Counters::default();
        counters.received();
        counters.routed(3, 1);
        counters.sent(2, 2);
        counters.protocol_error();
        counters.connect_refused();
        let values = counters.values();
        assert_eq!((values.protocol_errors, values.connects_refused), (1, 1));
        assert_eq!((values.msg_in, values.matches_local), (1, 3));
        assert_eq!((values.queue_in, values.queue_drop), (2, 1));
        assert_eq!((values.msg_out, values.queue_out), (2, 2));
    }
}
