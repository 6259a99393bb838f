//! The service context: everything a domain service or a background loop needs, in one value.
//!
//! Every service takes `&AppState` first (`intake::service::submit_contact(state, ..)`), so a
//! service is called the same way from the API, the run root's loops, the CLI and the tests.
//! This module knows nothing of HTTP: the API layer holds an `Arc<AppState>` like every other
//! caller. Parts of a larger transaction (a clock started inside intake's transaction, say) take
//! the transaction's connection and the policy instead, because they must not open their own.

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;

use crate::{
    cache,
    clock::SharedClock,
    config::{PolicySettings, Settings},
    db, egress, metrics,
    policy::{DEFAULT_POLICY, Policy},
    ratelimit,
    redis_store::RedisStore,
};

/// The policy named by `policy.file`, or the shipped default when it is empty.
pub fn load_policy(settings: &PolicySettings) -> anyhow::Result<Policy> {
    let (text, source) = match settings.file.as_deref() {
        None | Some("") => (DEFAULT_POLICY.to_owned(), "the built-in default policy".to_owned()),
        Some(path) => (
            std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read policy.file {path}: {e}"))?,
            format!("policy.file {path}"),
        ),
    };
    Policy::parse(&text).map_err(|errors| anyhow::anyhow!("{source} is invalid: {errors}"))
}

/// Everything a request or worker needs, shared behind an `Arc`.
pub struct AppState {
    /// PostgreSQL, the system of record.
    pub db: PgPool,
    /// Redis, index and coordinator.
    pub redis: RedisStore,
    /// The one source of time.
    pub clock: SharedClock,
    /// Validated settings.
    pub settings: Arc<Settings>,
    /// The hub's policy, loaded and checked at start-up; its version is on every decision.
    pub policy: Arc<Policy>,
    /// Request rate limits.
    pub rate_limiter: ratelimit::RateLimiter,
    /// Where webhooks may go (`webhooks.allow_hosts` beyond public HTTPS).
    pub egress: Arc<egress::AllowList>,
    /// The HTTP client for webhook deliveries: a 10 s timeout per attempt, no redirects, no
    /// proxy, and a resolver that refuses non-public addresses at connection time.
    pub http: reqwest::Client,
    /// The instruments monitoring reads (`/metrics`, OTLP).
    pub metrics: Arc<metrics::Metrics>,
    /// Hub-wide counts reused for `metrics.cache_seconds` (the queue board, the gauges).
    pub caches: cache::Caches,
    /// Key lookups reused until a key, staff or agency change is announced, for at most
    /// `http.key_cache_seconds` (see `cache::revocable`).
    pub keys: cache::Revocable,
}

impl AppState {
    /// State for `settings`. Connects to nothing yet: the stores are reached on first use, so
    /// the service starts (and reports not-ready) while a store is down.
    /// Fails when the policy file is missing or invalid: the service must not triage under a
    /// policy nobody checked.
    pub fn new(settings: Settings, clock: SharedClock) -> anyhow::Result<Arc<Self>> {
        let policy = Arc::new(load_policy(&settings.policy)?);
        let db = db::connect_lazy(&settings.database)?;
        let redis = RedisStore::new(&settings.redis)?;
        let egress = Arc::new(egress::AllowList::parse(&settings.webhooks.allow_hosts)?);
        let http = egress::client(Arc::clone(&egress), Duration::from_secs(10))?;
        let rate_limiter = ratelimit::RateLimiter::new(settings.rate_limit.clone());
        let metrics = Arc::new(metrics::Metrics::new(env!("CARGO_PKG_VERSION"), &policy.version)?);
        let steps: Vec<String> = policy.clocks.ladder.iter().map(|s| s.step.clone()).collect();
        metrics.start_at_zero(&metrics::Known {
            agency_kinds: <crate::vocabulary::AgencyKind as strum::VariantNames>::VARIANTS,
            levels: &policy.levels,
            queues: &policy.queues,
            outcomes: &policy.outcomes,
            steps: &steps,
            late_reasons: &policy.late_reasons,
        });
        let caches = cache::Caches::new(Duration::from_secs(settings.metrics.cache_seconds));
        let keys = cache::Revocable::new(Duration::from_secs(settings.http.key_cache_seconds));
        // A sandbox moves each agency's time by its test clock's offset (within its work only).
        let clock: SharedClock =
            if settings.sandbox.enabled { Arc::new(crate::clock::SandboxClock::new(clock)) } else { clock };
        Ok(Arc::new(Self {
            db,
            redis,
            clock,
            settings: Arc::new(settings),
            policy,
            rate_limiter,
            egress,
            http,
            metrics,
            caches,
            keys,
        }))
    }

    /// Seconds a client should wait before retrying after a 503 (`http.retry_after_seconds`).
    pub fn retry_after(&self) -> u32 {
        self.settings.http.retry_after_seconds
    }
}
