//! Request rate limits per API key (and per address for requests without a key), shared by
//! every replica through Redis, with a per-process fallback when Redis is slow or down.
//!
//! The algorithm is GCRA (the generic cell rate algorithm, as in `redis-cell` and `governor`):
//! one number per caller, the "theoretical arrival time". A caller may send `limit` requests at
//! once and then one per `window / limit`; a client looping as fast as it can is refused within
//! its first second of excess, while a partner sending a 500-contact batch every few seconds
//! (one request each) never comes near the limit.
//!
//! Redis is a coordinator, not a dependency: each check waits at most `rate_limit.redis_timeout_ms`
//! and, when Redis fails, the limit is enforced per process (so a caller spread over N replicas
//! gets up to N times the limit) and Redis is left alone for a few seconds. Intake never fails
//! because the limiter cannot reach Redis.
//!
//! Callers are identified by a hash of their bearer token (no database lookup, so unknown keys
//! are limited too) or by their address; neither appears in logs or metrics.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use sha2::{Digest, Sha256};

use crate::{config::RateLimitSettings, redis_store::RedisStore};

/// Who is being limited.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A bearer token, by a hash of it (never the token itself).
    Key(String),
    /// A request without a key, by the address it came from.
    Address(String),
}

impl Caller {
    /// The caller presenting `token`.
    pub fn key(token: &str) -> Self {
        Self::Key(hex::encode(&Sha256::digest(token.as_bytes())[..16]))
    }

    fn redis_suffix(&self) -> String {
        match self {
            Self::Key(hash) => format!("rl:k:{hash}"),
            Self::Address(addr) => format!("rl:a:{addr}"),
        }
    }
}

/// One limit: `quota` requests per `window_seconds`, all of which may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub quota: u32,
    pub window_seconds: u32,
}

impl Quota {
    fn interval_ms(self) -> i64 {
        (i64::from(self.window_seconds) * 1000 / i64::from(self.quota.max(1))).max(1)
    }

    fn window_ms(self) -> i64 {
        i64::from(self.window_seconds) * 1000
    }
}

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub quota: Quota,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// Seconds until the full quota is available again.
    pub reset_seconds: u32,
    /// When refused: seconds until one request is allowed.
    pub retry_after_seconds: u32,
}

/// GCRA on one caller's stored arrival time `tat` (milliseconds; `None`: never seen). Returns the
/// verdict and the arrival time to store (unchanged when refused).
fn gcra(tat: Option<i64>, now_ms: i64, quota: Quota) -> (Verdict, i64) {
    let (interval, window) = (quota.interval_ms(), quota.window_ms());
    let tat = tat.unwrap_or(now_ms).max(now_ms);
    let new_tat = tat + interval;
    let ahead = new_tat - now_ms;
    let seconds = |ms: i64| u32::try_from((ms + 999) / 1000).unwrap_or(u32::MAX);
    if ahead > window {
        let verdict = Verdict {
            allowed: false,
            quota,
            remaining: 0,
            reset_seconds: seconds(tat - now_ms),
            retry_after_seconds: seconds(ahead - window).max(1),
        };
        return (verdict, tat);
    }
    let remaining = u32::try_from((window - ahead) / interval).unwrap_or(0);
    (Verdict { allowed: true, quota, remaining, reset_seconds: seconds(ahead), retry_after_seconds: 0 }, new_tat)
}

/// The same GCRA, atomically in Redis: returns `{allowed, stored_tat}` after the update.
const GCRA_SCRIPT: &str = r"
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > window then
  return {0, tat}
end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now + 1000)
return {1, tat}
";

/// The limiter: settings, the per-process fallback, and when Redis may be tried again.
pub struct RateLimiter {
    settings: RateLimitSettings,
    local: Mutex<HashMap<Caller, i64>>,
    redis_retry_at_ms: AtomicI64,
}

/// Most callers the per-process fallback remembers; beyond it, it starts afresh (a limit that
/// briefly forgets is better than unbounded memory).
const LOCAL_CALLERS: usize = 100_000;
/// How long Redis is left alone after it failed a check.
const REDIS_BACKOFF_MS: i64 = 5_000;

impl RateLimiter {
    pub fn new(settings: RateLimitSettings) -> Self {
        Self { settings, local: Mutex::new(HashMap::new()), redis_retry_at_ms: AtomicI64::new(0) }
    }

    /// Whether limits are enforced at all.
    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    fn quota_for(&self, caller: &Caller) -> Quota {
        let window_seconds = self.settings.window_seconds;
        match caller {
            Caller::Key(_) => Quota { quota: self.settings.per_key, window_seconds },
            Caller::Address(_) => Quota { quota: self.settings.per_address, window_seconds },
        }
    }

    /// Counts one request by `caller` at `now_ms`.
    pub async fn check(&self, redis: &RedisStore, caller: &Caller, now_ms: i64) -> Verdict {
        let quota = self.quota_for(caller);
        if now_ms >= self.redis_retry_at_ms.load(Ordering::Relaxed) {
            if let Some(verdict) = self.check_redis(redis, caller, now_ms, quota).await {
                return verdict;
            }
            self.redis_retry_at_ms.store(now_ms + REDIS_BACKOFF_MS, Ordering::Relaxed);
            tracing::warn!("rate limits fall back to this process: Redis did not answer");
        }
        self.check_local(caller, now_ms, quota)
    }

    async fn check_redis(&self, redis: &RedisStore, caller: &Caller, now_ms: i64, quota: Quota) -> Option<Verdict> {
        let timeout = Duration::from_millis(self.settings.redis_timeout_ms);
        let attempt = async {
            let mut conn = redis.connection().await.ok()?;
            let (allowed, tat): (i64, i64) = redis::Script::new(GCRA_SCRIPT)
                .key(redis.key(&caller.redis_suffix()))
                .arg(now_ms)
                .arg(quota.interval_ms())
                .arg(quota.window_ms())
                .invoke_async(&mut conn)
                .await
                .ok()?;
            let (verdict, _) = gcra(Some(tat), now_ms, quota);
            debug_assert_eq!(verdict.allowed, allowed == 1);
            Some(verdict)
        };
        tokio::time::timeout(timeout, attempt).await.ok().flatten()
    }

    fn check_local(&self, caller: &Caller, now_ms: i64, quota: Quota) -> Verdict {
        let mut local = self.local.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if local.len() >= LOCAL_CALLERS && !local.contains_key(caller) {
            local.retain(|_, tat| *tat > now_ms);
            if local.len() >= LOCAL_CALLERS {
                local.clear();
            }
        }
        let (verdict, tat) = gcra(local.get(caller).copied(), now_ms, quota);
        local.insert(caller.clone(), tat);
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: Quota = Quota { quota: 10, window_seconds: 60 };

    fn run(n: usize, now: i64, mut tat: Option<i64>) -> (Vec<bool>, Option<i64>) {
        let mut allowed = Vec::new();
        for _ in 0..n {
            let (v, t) = gcra(tat, now, Q);
            allowed.push(v.allowed);
            tat = Some(t);
        }
        (allowed, tat)
    }

    #[test]
    fn the_whole_quota_may_come_at_once_then_one_per_interval() {
        let (allowed, tat) = run(11, 0, None);
        assert_eq!(allowed.iter().filter(|a| **a).count(), 10);
        assert!(!allowed[10]);
        let (refused, _) = gcra(tat, 0, Q);
        assert_eq!((refused.retry_after_seconds, refused.remaining), (6, 0), "one more after 60 s / 10");
        let (later, _) = run(2, 6_000, tat);
        assert_eq!(later, [true, false], "one interval later, one more");
        let (rested, _) = run(10, 60_000, tat);
        assert!(rested.iter().all(|a| *a), "a full window later, the full quota");
    }

    #[test]
    fn remaining_and_reset_count_down() {
        let (first, tat) = gcra(None, 0, Q);
        assert_eq!((first.remaining, first.reset_seconds), (9, 6));
        let (second, _) = gcra(Some(tat), 0, Q);
        assert_eq!((second.remaining, second.reset_seconds), (8, 12));
    }

    #[test]
    fn callers_are_known_by_a_hash_never_the_key() {
        let caller = Caller::key("mash_secret_key");
        assert!(!format!("{caller:?}").contains("secret"));
        assert_eq!(caller, Caller::key("mash_secret_key"));
        assert_ne!(caller, Caller::key("another"));
    }
}
