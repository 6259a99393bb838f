//! Registering webhook endpoints, and queueing deliveries inside the transaction of the event
//! they announce. Sending them is [`crate::webhook`]'s job.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::repo::{self, DueDelivery};
use crate::{
    audit::{self, Actor, AuditAction},
    db::StoreError,
    egress,
    id::{AgencyId, ClockId, ContactId, DeliveryId},
    state::AppState,
};

/// Why registering an endpoint did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("invalid field")]
    Invalid { pointer: &'static str, detail: String },
    #[error("no such agency")]
    UnknownAgency,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for OutboxError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

/// The endpoint's URL as it will be stored (normalised by the URL parser), if webhooks may go
/// there ([`crate::egress`]: public HTTPS, or allow-listed), and its secret is usable.
async fn check_endpoint(state: &AppState, url: &str, secret: &str) -> Result<String, OutboxError> {
    if secret.chars().count() < 16 || secret.chars().count() > 200 || secret.chars().any(char::is_control) {
        return Err(OutboxError::Invalid { pointer: "/secret", detail: "must be 16 to 200 characters".into() });
    }
    if url.len() > 2000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(OutboxError::Invalid { pointer: "/url", detail: "must be an http(s) URL".into() });
    }
    egress::check_url_resolving(url, &state.egress)
        .await
        .map(String::from)
        .map_err(|refusal| OutboxError::Invalid { pointer: "/url", detail: refusal.to_string() })
}

/// Registers (or replaces) an agency's webhook for decisions on its contacts; admins.
pub async fn register_agency_webhook(
    state: &AppState,
    actor: &Actor,
    agency: AgencyId,
    url: &str,
    secret: &str,
) -> Result<Uuid, OutboxError> {
    register(state, actor, Some(agency), url, secret).await
}

/// Registers an endpoint for staff notifications (ladder events); admins.
pub async fn register_staff_endpoint(
    state: &AppState,
    actor: &Actor,
    url: &str,
    secret: &str,
) -> Result<Uuid, OutboxError> {
    register(state, actor, None, url, secret).await
}

async fn register(
    state: &AppState,
    actor: &Actor,
    agency: Option<AgencyId>,
    url: &str,
    secret: &str,
) -> Result<Uuid, OutboxError> {
    let url = check_endpoint(state, url, secret).await?;
    let id = Uuid::now_v7();
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        if let Some(agency) = agency
            && !crate::auth::service::agency_exists(tx, agency).await?
        {
            return Err(OutboxError::UnknownAgency);
        }
        let purpose = if agency.is_some() { "agency_feedback" } else { "staff_notifications" };
        repo::insert_endpoint(tx, id, purpose, agency, &url, secret, now).await?;
        audit::record(
            tx,
            now,
            actor,
            AuditAction::WebhookRegistered,
            None,
            serde_json::json!({ "endpoint_id": id, "purpose": purpose, "agency_id": agency }),
        )
        .await?;
        Ok(id)
    })
    .await
}

/// Queues the decision for the agency's webhook (in the decision's transaction).
pub async fn queue_decision(
    conn: &mut sqlx::PgConnection,
    contact_id: ContactId,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    repo::queue_decision(conn, contact_id, payload, now).await.map_err(StoreError::from)
}

/// Queues staff notifications for ladder events (in the worker's transaction).
pub async fn queue_staff_notifications(
    conn: &mut sqlx::PgConnection,
    clock_ids: &[ClockId],
    steps: &[String],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    repo::queue_staff_notifications(conn, clock_ids, steps, now).await.map_err(StoreError::from)
}

/// Leases up to `limit` deliveries due at `now` for `lease`, hiding them from other senders
/// while they are sent.
pub async fn lease_due(state: &AppState, lease: TimeDelta, limit: i64) -> Result<Vec<DueDelivery>, StoreError> {
    let now = state.clock.now();
    Ok(repo::lease_due(&state.db, now, now + lease, limit).await?)
}

/// Marks a delivery delivered (in the caller's transaction); `false` if it was already.
pub async fn mark_delivered(
    conn: &mut sqlx::PgConnection,
    id: DeliveryId,
    status: i32,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(repo::mark_delivered(conn, id, status, at).await?)
}

/// Records a failed attempt and when to try again, or gives up.
pub async fn mark_attempt_failed(
    state: &AppState,
    id: DeliveryId,
    status: Option<i32>,
    error: &str,
    retry_at: DateTime<Utc>,
    give_up: bool,
) -> Result<(), StoreError> {
    Ok(repo::mark_attempt_failed(&state.db, id, status, error, retry_at, give_up).await?)
}
