//! Counter slots spread over shards, one shard per thread (assigned in turn), each on its own
//! cache lines: threads counting the same event never write the same line, so a count is one
//! uncontended relaxed add. A read sums the shards.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Shards; threads beyond this many share them (still correct, just contended).
const SHARDS: usize = 8;

/// One thread's counters, aligned so that no two shards share a cache line (128 bytes covers
/// the adjacent-line prefetch of x86 and the 128-byte lines of some ARM cores).
#[repr(align(128))]
#[derive(Debug)]
struct Shard<const N: usize>([AtomicU64; N]);

/// `N` counters, sharded.
#[derive(Debug)]
pub struct Sharded<const N: usize> {
    shards: Box<[Shard<N>; SHARDS]>,
}

/// The shard the current thread writes.
fn my_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static MINE: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    MINE.with(|mine| match mine.get() {
        usize::MAX => {
            let shard = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
            mine.set(shard);
            shard
        }
        shard => shard,
    })
}

impl<const N: usize> Default for Sharded<N> {
    fn default() -> Self {
        let shard = || Shard(std::array::from_fn(|_| AtomicU64::new(0)));
        Self {
            shards: Box::new(std::array::from_fn(|_| shard())),
        }
    }
}

impl<const N: usize> Sharded<N> {
    /// Adds `n` to counter `slot` (ignored past `N`).
    pub fn add(&self, slot: usize, n: u64) {
        if let Some(counter) = self.shards[my_shard()].0.get(slot) {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counter `slot`, summed over the shards.
    pub fn get(&self, slot: usize) -> u64 {
        self.shards
            .iter()
            .filter_map(|shard| shard.0.get(slot))
            .map(|counter| counter.load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }

    /// Sets every counter to zero.
    pub fn reset(&self) {
        for counter in self.shards.iter().flat_map(|shard| &shard.0) {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn counts_from_many_threads_add_up() {
        let counters = Arc::new(Sharded::<3>::default());
        let threads: Vec<_> = (0..12)
            .map(|_| {
                let counters = Arc::clone(&counters);
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        counters.add(1, 1);
                    }
                    counters.add(2, 5);
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("no panic");
        }
        assert_eq!(
            (counters.get(0), counters.get(1), counters.get(2)),
            (0, 12_000, 60)
        );
        counters.add(7, 1);
        assert_eq!(counters.get(7), 0, "out of range is ignored");
        counters.reset();
        assert_eq!(counters.get(1), 0);
    }
}
