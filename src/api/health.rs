//! Liveness and readiness probes.
//!
//! Readiness follows PostgreSQL only, the store a request cannot do without, and asks that it
//! hold every migration this build embeds (`db::schema_is_current`): a replica started before
//! `mash-triage migrate` stays out of rotation instead of answering 500. Redis is an index:
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
    /// The database holds every migration this build embeds (readiness only; absent when the
    /// database does not answer). `false`: run `mash-triage migrate`.
    #[oai(skip_serializing_if_is_none)]
    pub schema: Option<bool>,
}

#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// PostgreSQL answers and holds this build's migrations (whatever Redis does: see `redis` in
    /// the body).
    #[oai(status = 200)]
    Ready(Json<HealthStatus>),
    /// PostgreSQL does not answer, or lacks a migration of this build (`schema` is `false`);
    /// take this replica out of rotation.
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
        Json(HealthStatus { status: "ok".into(), database: None, redis: None, schema: None })
    }

    /// Readiness: PostgreSQL answers and holds every migration of this build.
    ///
    /// Redis is reported in the body but does not decide: contacts are taken while it is down.
    #[oai(path = "/health/ready", method = "get", operation_id = "health.ready")]
    async fn ready(&self) -> ReadyResponse {
        let state = &self.state;
        // The schema query is the database's ping too: one round trip, one acquire timeout.
        let (schema, redis) = tokio::join!(crate::db::schema_is_current(&state.db), state.redis.ping());
        let (schema, redis) = (schema.ok(), redis.is_ok());
        let database = schema.is_some();
        let status = |ok: bool| HealthStatus {
            status: if ok { "ok" } else { "unavailable" }.into(),
            database: Some(database),
            redis: Some(redis),
            schema,
        };
        if schema == Some(true) {
            return ReadyResponse::Ready(Json(status(true)));
        }
        if schema == Some(false) {
            tracing::warn!(redis, "not ready: the database lacks migrations of this build; run `mash-triage migrate`");
        } else {
            tracing::warn!(database = false, redis, "not ready");
        }
        ReadyResponse::NotReady(Json(status(false)), state.settings.http.retry_after_seconds.to_string())
    }
}
