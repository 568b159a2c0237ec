//! A keyed GCRA limiter in this process's memory: per user, per node. Used where a database
//! round trip per request would cost more than the limit protects (every message post, every
//! WebSocket frame); with N nodes a user gets at most N times the rate.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{decide, Decision, Rate};

/// Locks are held for a few hundred nanoseconds; shards keep cores from queueing on one.
const SHARDS: usize = 16;
/// A shard forgets its full buckets (arrival time past) once it holds this many keys.
const PRUNE_AT: usize = 4096;

pub struct KeyedLimiter<K> {
    rate: Rate,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<K, Instant>>>,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Takes one request for `key` now, if the limit admits it.
    pub fn take(&self, key: &K) -> Decision {
        let now = Instant::now();
        let shard = &self.shards[self.hasher.hash_one(key) as usize % SHARDS];
        // A poisoned lock only means another request panicked mid-update of a timestamp.
        let mut buckets = shard.lock().unwrap_or_else(|e| e.into_inner());
        let ahead = buckets
            .get(key)
            .map_or(Duration::ZERO, |tat| tat.saturating_duration_since(now));
        let (decision, next) = decide(self.rate, ahead);
        if let Some(next) = next {
            if buckets.len() >= PRUNE_AT && !buckets.contains_key(key) {
                buckets.retain(|_, tat| *tat > now);
            }
            buckets.insert(key.clone(), now + next);
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn keys_have_their_own_buckets_that_refill() {
        let limiter = KeyedLimiter::new(Rate::new(2, Duration::from_secs(2)));
        assert!(limiter.take(&1).allowed);
        assert!(limiter.take(&1).allowed);
        let refused = limiter.take(&1);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, Duration::from_secs(1));
        assert!(limiter.take(&2).allowed, "another key is unaffected");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(limiter.take(&1).allowed);
        assert!(!limiter.take(&1).allowed);
    }

    #[tokio::test(start_paused = true)]
    async fn full_buckets_are_forgotten_when_a_shard_grows() {
        let limiter = KeyedLimiter::new(Rate::new(1, Duration::from_secs(1)));
        for key in 0..(PRUNE_AT * SHARDS * 2) {
            limiter.take(&key);
        }
        tokio::time::advance(Duration::from_secs(2)).await;
        for key in 0..(PRUNE_AT * SHARDS * 2) {
            assert!(limiter.take(&(key + 1_000_000)).allowed);
        }
        let held: usize = limiter.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(held <= PRUNE_AT * SHARDS * 2, "{held}");
    }
}
