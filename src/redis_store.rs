//! Redis: one auto-reconnecting connection shared by the process, the key-prefix rule, and the
//! circuit breaker that keeps a failing Redis from slowing anything else down.
//!
//! Redis is an index and a coordinator, never the truth: everything in it can be rebuilt from
//! PostgreSQL. Every key this service writes is built with [`RedisStore::key`], which prepends the
//! configured prefix so that environments and test runs sharing a server never touch each
//! other's keys.
//!
//! # Bounds and the breaker
//! Every command goes through [`RedisStore::run`], bounded by how long its caller can afford to
//! wait ([`Wait`]): an HTTP request waits at most `redis.request_timeout_ms` (a partner's request
//! must not be held by an index), background work at most `redis.timeout_ms`. A failure or
//! timeout opens the breaker: for [`BREAKER_COOLDOWN`] every call is refused at once
//! ([`RedisStoreError::CircuitOpen`]), so a hung Redis costs one bounded wait per cool-down, not
//! one per contact. After the cool-down exactly one call is let through as a trial; its success
//! closes the breaker, its failure opens it for another cool-down.
//!
//! [`RedisStore::health`] reports the breaker for the readiness body and for metrics. The
//! breaker runs on the monotonic clock, like the timeouts it sits beside (a wall clock or the
//! app's PostgreSQL-aligned clock may step); its logic takes the time as an argument, so its
//! tests choose the time.

use std::{
    sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    time::Duration,
};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use tokio::{sync::OnceCell, time::Instant};

use crate::config::RedisSettings;

/// How long the breaker refuses calls after a failure before letting one trial through: short,
/// so a Redis that comes back is used again within seconds; long enough that a hung Redis costs
/// a bounded wait only every so often.
pub const BREAKER_COOLDOWN: Duration = Duration::from_secs(2);

/// A Redis failure.
#[derive(Debug, thiserror::Error)]
pub enum RedisStoreError {
    /// Redis could not be reached or answered with an error.
    #[error("redis is unavailable")]
    Unavailable(#[source] redis::RedisError),
    /// Redis did not answer within the caller's bound.
    #[error("redis did not answer in time")]
    Timeout,
    /// Not tried: Redis failed moments ago and the breaker is open.
    #[error("redis is marked unavailable after a recent failure; not tried")]
    CircuitOpen,
}

/// How long a call may wait on Redis, by who is waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Someone's HTTP request (`redis.request_timeout_ms`): the index write after a commit, the
    /// readiness report.
    Request,
    /// A background loop (`redis.timeout_ms`): claims, the re-seed.
    Background,
}

/// What the breaker knows about Redis, for the readiness body and for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisHealth {
    /// The breaker is open: Redis failed within the last cool-down and calls are refused.
    pub circuit_open: bool,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Failed or timed-out calls since the process started.
    pub failures_total: u64,
    /// Calls refused by the open breaker since the process started.
    pub refused_total: u64,
}

/// The process's handle on Redis.
pub struct RedisStore {
    client: redis::Client,
    /// Created on first use, so the service starts while Redis is down and connects when it is up.
    manager: OnceCell<ConnectionManager>,
    prefix: String,
    timeout: Duration,
    request_timeout: Duration,
    breaker: Breaker,
    /// Set when an index write was skipped or failed, until a later write tells the readers
    /// (`clocks::timer` deletes its "seeded" marker, which makes the next worker round re-seed).
    /// Per process: the worker that re-seeds may run elsewhere, so the news travels via Redis.
    writes_lost: AtomicBool,
}

impl RedisStore {
    /// A handle for `settings`; does not connect yet.
    pub fn new(settings: &RedisSettings) -> Result<Self, RedisStoreError> {
        let client = redis::Client::open(settings.url.expose_secret()).map_err(RedisStoreError::Unavailable)?;
        Ok(Self {
            client,
            manager: OnceCell::new(),
            prefix: settings.key_prefix.clone(),
            timeout: Duration::from_millis(settings.timeout_ms),
            request_timeout: Duration::from_millis(settings.request_timeout_ms),
            breaker: Breaker::new(),
            writes_lost: AtomicBool::new(false),
        })
    }

    /// The full key for `suffix` under this service's prefix.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The shared connection, connecting on first use. Bypasses the breaker: for tools and
    /// tests; the service's own calls go through [`Self::run`].
    pub async fn connection(&self) -> Result<ConnectionManager, RedisStoreError> {
        let manager = self
            .manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(1);
                // The connect itself can hang on a black-holed address: bound it.
                tokio::time::timeout(self.timeout, ConnectionManager::new_with_config(self.client.clone(), config))
                    .await
                    .map_err(|_| RedisStoreError::Timeout)?
                    .map_err(RedisStoreError::Unavailable)
            })
            .await?;
        Ok(manager.clone())
    }

    /// Runs `op` on the shared connection, within `wait`'s bound and through the breaker.
    /// Dropping a command at the bound is safe: the connection discards its late answer, and
    /// every write the service makes is an idempotent index update that the re-seed repairs.
    pub async fn run<T, F, Fut>(&self, wait: Wait, op: F) -> Result<T, RedisStoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if !self.breaker.allow(self.breaker.now_ms()) {
            return Err(RedisStoreError::CircuitOpen);
        }
        let bound = match wait {
            Wait::Request => self.request_timeout,
            Wait::Background => self.timeout,
        };
        let call = async { op(self.connection().await?).await.map_err(RedisStoreError::Unavailable) };
        let outcome = tokio::time::timeout(bound, call).await.unwrap_or(Err(RedisStoreError::Timeout));
        match &outcome {
            Ok(_) => self.breaker.succeeded(),
            Err(err) => self.breaker.failed(err, self.breaker.now_ms()),
        }
        outcome
    }

    /// Checks that Redis answers, within a request's bound (the breaker may answer for it).
    pub async fn ping(&self) -> Result<(), RedisStoreError> {
        let reply: String =
            self.run(Wait::Request, |mut conn| async move { redis::cmd("PING").query_async(&mut conn).await }).await?;
        debug_assert_eq!(reply, "PONG");
        Ok(())
    }

    /// What the breaker knows (no I/O).
    pub fn health(&self) -> RedisHealth {
        self.breaker.health()
    }

    /// Records that an index write was skipped or failed (see [`Self::take_writes_lost`]).
    pub fn note_writes_lost(&self) {
        self.writes_lost.store(true, Ordering::Release);
    }

    /// Whether writes were lost since the last call; clears the flag (a caller that then fails
    /// to pass the news on sets it again with [`Self::note_writes_lost`]).
    pub fn take_writes_lost(&self) -> bool {
        self.writes_lost.swap(false, Ordering::AcqRel)
    }
}

/// The circuit breaker: lock-free, so the fast path (closed) is one atomic load.
struct Breaker {
    origin: Instant,
    /// Milliseconds after `origin` until which calls are refused; 0 while closed.
    open_until: AtomicU64,
    consecutive_failures: AtomicU32,
    failures_total: AtomicU64,
    refused_total: AtomicU64,
}

impl Breaker {
    fn new() -> Self {
        Self {
            origin: Instant::now(),
            open_until: AtomicU64::new(0),
            consecutive_failures: AtomicU32::new(0),
            failures_total: AtomicU64::new(0),
            refused_total: AtomicU64::new(0),
        }
    }

    /// Never 0 (that means closed), even at the very start.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX).max(1)
    }

    fn reopen_at(now: u64) -> u64 {
        now.saturating_add(u64::try_from(BREAKER_COOLDOWN.as_millis()).unwrap_or(u64::MAX))
    }

    /// Whether a call may go ahead at `now` (ms): always while closed; once the cool-down is
    /// over, to exactly one caller (the trial), whose compare-and-swap pushes the reopening on
    /// for the others.
    fn allow(&self, now: u64) -> bool {
        let until = self.open_until.load(Ordering::Acquire);
        let allowed = until == 0
            || (now >= until
                && self
                    .open_until
                    .compare_exchange(until, Self::reopen_at(now), Ordering::AcqRel, Ordering::Acquire)
                    .is_ok());
        if !allowed {
            self.refused_total.fetch_add(1, Ordering::Relaxed);
        }
        allowed
    }

    fn succeeded(&self) {
        self.consecutive_failures.store(0, Ordering::Relaxed);
        if self.open_until.swap(0, Ordering::AcqRel) != 0 {
            tracing::info!("redis answers again; its circuit breaker is closed");
        }
    }

    fn failed(&self, err: &RedisStoreError, now: u64) {
        self.failures_total.fetch_add(1, Ordering::Relaxed);
        let failures = self.consecutive_failures.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        // Logged when the breaker opens, not on every refused call: a long outage is one line per
        // cool-down at most (the failed trials), not one per contact.
        if self.open_until.swap(Self::reopen_at(now), Ordering::AcqRel) == 0 {
            tracing::warn!(error = %err, "redis failed; its circuit breaker is open and calls are refused for a while");
        } else {
            tracing::debug!(error = %err, failures, "redis still failing");
        }
    }

    fn health(&self) -> RedisHealth {
        RedisHealth {
            circuit_open: self.open_until.load(Ordering::Acquire) != 0,
            consecutive_failures: self.consecutive_failures.load(Ordering::Relaxed),
            failures_total: self.failures_total.load(Ordering::Relaxed),
            refused_total: self.refused_total.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_refuses_calls_after_a_failure_and_lets_one_trial_through_after_the_cooldown() {
        let cooldown = u64::try_from(BREAKER_COOLDOWN.as_millis()).unwrap();
        let breaker = Breaker::new();
        assert!(breaker.allow(1) && breaker.allow(2), "closed: everything goes ahead");
        breaker.failed(&RedisStoreError::Timeout, 10);
        assert!(breaker.health().circuit_open);
        assert!(!breaker.allow(11), "open: refused at once");
        let trial = 10 + cooldown;
        assert!(breaker.allow(trial), "the trial");
        assert!(!breaker.allow(trial), "only one trial at a time");
        breaker.failed(&RedisStoreError::Timeout, trial + 5);
        assert!(!breaker.allow(trial + 5 + cooldown / 2), "a failed trial opens it for another cool-down");
        assert!(breaker.allow(trial + 5 + cooldown));
        breaker.succeeded();
        assert!(
            breaker.allow(trial + 6 + cooldown) && breaker.allow(trial + 7 + cooldown),
            "a successful trial closes it"
        );
        let health = breaker.health();
        assert_eq!((health.circuit_open, health.consecutive_failures, health.failures_total), (false, 0, 2));
        assert_eq!(health.refused_total, 3);
    }
}
