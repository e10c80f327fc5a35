//! The rate limit of one trace: at most `max` lines per `interval`; lines over it are counted,
//! not built.

use tokio::time::{Duration, Instant};

/// A fixed window of `interval` that opens with the first line after the previous one closed.
#[derive(Debug)]
pub(crate) struct RateLimit {
    max: u32,
    interval: Duration,
    window_start: Instant,
    used: u32,
    skipped: u64,
}

impl RateLimit {
    /// `max` lines per `interval`, counting from now.
    pub(crate) fn new(max: u32, interval: Duration) -> Self {
        Self {
            max,
            interval,
            window_start: Instant::now(),
            used: 0,
            skipped: 0,
        }
    }

    /// Whether one more line may go out at `now`; if not, it is counted as skipped.
    pub(crate) fn admit(&mut self, now: Instant) -> bool {
        if now.saturating_duration_since(self.window_start) >= self.interval {
            self.window_start = now;
            self.used = 0;
        }
        if self.used < self.max {
            self.used += 1;
            true
        } else {
            self.skipped += 1;
            false
        }
    }

    /// The lines skipped since the last call.
    pub(crate) fn take_skipped(&mut self) -> u64 {
        std::mem::take(&mut self.skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn at_most_max_lines_per_interval() {
        let mut limit = RateLimit::new(3, Duration::from_millis(100));
        let admitted = (0..5).filter(|_| limit.admit(Instant::now())).count();
        assert_eq!(admitted, 3);
        assert_eq!(limit.take_skipped(), 2);
        assert_eq!(limit.take_skipped(), 0, "counted once");

        tokio::time::advance(Duration::from_millis(99)).await;
        assert!(!limit.admit(Instant::now()), "the window is still full");
        tokio::time::advance(Duration::from_millis(1)).await;
        let admitted = (0..4).filter(|_| limit.admit(Instant::now())).count();
        assert_eq!(admitted, 3, "a new window");
        assert_eq!(limit.take_skipped(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_spell_opens_a_fresh_window() {
        let mut limit = RateLimit::new(1, Duration::from_millis(100));
        assert!(limit.admit(Instant::now()));
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(limit.admit(Instant::now()));
        assert!(!limit.admit(Instant::now()));
        assert_eq!(limit.take_skipped(), 1);
    }
}
