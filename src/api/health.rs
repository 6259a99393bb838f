//! Liveness and readiness probes.
//!
//! Readiness follows PostgreSQL only, the store a request cannot do without. Redis is an index:
//! while it is down contacts are still taken, and steps fire from PostgreSQL, so a replica that
//! cannot reach Redis stays in service; were readiness to fail on Redis, a Redis outage would
//! take every replica out at once, an intake outage caused by an index. Redis is reported in
//! the body (and to metrics through `RedisStore::health`), asked within a request's bound, or
//! answered for by its open circuit breaker.

use std::sync::Arc;

use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use super::ApiTags;
use crate::state::AppState;

/// Probe result.
#[derive(Debug, Object)]
pub struct HealthStatus {
    /// `ok` or `unavailable`.
    pub status: String,
    /// PostgreSQL reachable (readiness only).
    #[oai(skip_serializing_if_is_none)]
    pub database: Option<bool>,
    /// Redis reachable (readiness only); reported, never a reason to be not ready.
    #[oai(skip_serializing_if_is_none)]
    pub redis: Option<bool>,
}

#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// PostgreSQL answers (whatever Redis does: see `redis` in the body).
    #[oai(status = 200)]
    Ready(Json<HealthStatus>),
    /// PostgreSQL does not answer; take this replica out of rotation.
    #[oai(status = 503)]
    NotReady(Json<HealthStatus>, #[oai(header = "Retry-After")] String),
}

/// Health probes.
pub struct HealthApi {
    pub state: Arc<AppState>,
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness: the process serves requests. Does no I/O.
    #[oai(path = "/health/live", method = "get", operation_id = "health.live")]
    #[expect(clippy::unused_async, reason = "poem-openapi operations are async")]
    async fn live(&self) -> Json<HealthStatus> {
        Json(HealthStatus { status: "ok".into(), database: None, redis: None })
    }

    /// Readiness: PostgreSQL answers.
    ///
    /// Redis is reported in the body but does not decide: contacts are taken while it is down.
    #[oai(path = "/health/ready", method = "get", operation_id = "health.ready")]
    async fn ready(&self) -> ReadyResponse {
        let (database, redis) = tokio::join!(crate::db::ping(&self.state.db), self.state.redis.ping());
        let (database, redis) = (database.is_ok(), redis.is_ok());
        if database {
            ReadyResponse::Ready(Json(HealthStatus { status: "ok".into(), database: Some(true), redis: Some(redis) }))
        } else {
            self.not_ready(redis)
        }
    }
}

impl HealthApi {
    fn not_ready(&self, redis: bool) -> ReadyResponse {
        tracing::warn!(database = false, redis, "not ready");
        ReadyResponse::NotReady(
            Json(HealthStatus { status: "unavailable".into(), database: Some(false), redis: Some(redis) }),
            self.state.settings.http.retry_after_seconds.to_string(),
        )
    }
}
