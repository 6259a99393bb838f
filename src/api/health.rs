//! Liveness and readiness probes.

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
    /// Redis reachable (readiness only).
    #[oai(skip_serializing_if_is_none)]
    pub redis: Option<bool>,
}

#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// Both stores answer.
    #[oai(status = 200)]
    Ready(Json<HealthStatus>),
    /// A store does not answer; take this replica out of rotation.
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

    /// Readiness: PostgreSQL and Redis both answer.
    #[oai(path = "/health/ready", method = "get", operation_id = "health.ready")]
    async fn ready(&self) -> ReadyResponse {
        let (database, redis) = tokio::join!(crate::db::ping(&self.state.db), self.state.redis.ping());
        let (database, redis) = (database.is_ok(), redis.is_ok());
        if database && redis {
            ReadyResponse::Ready(Json(HealthStatus { status: "ok".into(), database: Some(true), redis: Some(true) }))
        } else {
            self.not_ready(database, redis)
        }
    }
}

impl HealthApi {
    fn not_ready(&self, database: bool, redis: bool) -> ReadyResponse {
        tracing::warn!(database, redis, "not ready");
        ReadyResponse::NotReady(
            Json(HealthStatus { status: "unavailable".into(), database: Some(database), redis: Some(redis) }),
            self.state.settings.http.retry_after_seconds.to_string(),
        )
    }
}
