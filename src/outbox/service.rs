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
    /// Registering would silently replace the agency's endpoint: replacing is its own act.
    #[error("the agency already has a webhook endpoint")]
    AlreadyRegistered,
    /// No live endpoint to replace or remove.
    #[error("no such endpoint")]
    UnknownEndpoint,
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

/// Registers an agency's webhook for decisions on its contacts; admins. Refused when the agency
/// already has one: taking over an agency's decision feed must be the explicit, audited
/// [`replace_agency_webhook`].
pub async fn register_agency_webhook(
    state: &AppState,
    actor: &Actor,
    agency: AgencyId,
    url: &str,
    secret: &str,
) -> Result<Uuid, OutboxError> {
    let url = check_endpoint(state, url, secret).await?;
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        known_agency(tx, agency).await?;
        if repo::live_agency_endpoint(tx, agency).await?.is_some() {
            return Err(OutboxError::AlreadyRegistered);
        }
        let id = insert(tx, actor, Some(agency), &url, secret, now).await?;
        Ok(id)
    })
    .await
}

/// What a replacement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replaced {
    /// The new endpoint.
    pub id: Uuid,
    /// The endpoint it replaced (none: this registered the agency's first).
    pub previous: Option<Uuid>,
}

/// Replaces an agency's webhook (or registers its first); admins. The old endpoint is disabled
/// and receives nothing more; deliveries still pending move to the new one. Audited with both
/// endpoint ids.
pub async fn replace_agency_webhook(
    state: &AppState,
    actor: &Actor,
    agency: AgencyId,
    url: &str,
    secret: &str,
) -> Result<Replaced, OutboxError> {
    let url = check_endpoint(state, url, secret).await?;
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        known_agency(tx, agency).await?;
        let previous = repo::live_agency_endpoint(tx, agency).await?;
        if let Some(old) = previous {
            repo::disable_endpoint(tx, old, now).await?;
        }
        let id = Uuid::now_v7();
        repo::insert_endpoint(tx, id, AGENCY_FEEDBACK, Some(agency), &url, secret, now).await?;
        let moved = match previous {
            Some(old) => repo::repoint_pending(tx, old, id).await?,
            None => 0,
        };
        let action = if previous.is_some() { AuditAction::WebhookReplaced } else { AuditAction::WebhookRegistered };
        let detail = serde_json::json!({
            "endpoint_id": id, "purpose": AGENCY_FEEDBACK, "agency_id": agency,
            "replaced_endpoint_id": previous, "pending_deliveries_moved": moved,
        });
        audit::record(tx, now, actor, action, None, detail).await?;
        Ok(Replaced { id, previous })
    })
    .await
}

/// Removes an agency's webhook; admins. Its pending deliveries are cancelled (the referrer
/// feedback clock keeps running, so staff tell the referrer another way).
pub async fn remove_agency_webhook(state: &AppState, actor: &Actor, agency: AgencyId) -> Result<(), OutboxError> {
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        known_agency(tx, agency).await?;
        let endpoint = repo::live_agency_endpoint(tx, agency).await?.ok_or(OutboxError::UnknownEndpoint)?;
        remove(tx, actor, endpoint, AGENCY_FEEDBACK, now).await
    })
    .await
}

/// Registers an endpoint for staff notifications (ladder events); admins. A hub may have several.
pub async fn register_staff_endpoint(
    state: &AppState,
    actor: &Actor,
    url: &str,
    secret: &str,
) -> Result<Uuid, OutboxError> {
    let url = check_endpoint(state, url, secret).await?;
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| insert(tx, actor, None, &url, secret, now).await).await
}

/// Removes a staff-notification endpoint; admins. Its pending deliveries are cancelled.
pub async fn remove_staff_endpoint(state: &AppState, actor: &Actor, endpoint: Uuid) -> Result<(), OutboxError> {
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        let endpoint =
            repo::live_endpoint(tx, endpoint, STAFF_NOTIFICATIONS).await?.ok_or(OutboxError::UnknownEndpoint)?;
        remove(tx, actor, endpoint, STAFF_NOTIFICATIONS, now).await
    })
    .await
}

const AGENCY_FEEDBACK: &str = "agency_feedback";
const STAFF_NOTIFICATIONS: &str = "staff_notifications";

async fn known_agency(tx: &mut sqlx::PgConnection, agency: AgencyId) -> Result<(), OutboxError> {
    if crate::auth::service::agency_exists(tx, agency).await? { Ok(()) } else { Err(OutboxError::UnknownAgency) }
}

async fn insert(
    tx: &mut sqlx::PgConnection,
    actor: &Actor,
    agency: Option<AgencyId>,
    url: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, OutboxError> {
    let id = Uuid::now_v7();
    let purpose = if agency.is_some() { AGENCY_FEEDBACK } else { STAFF_NOTIFICATIONS };
    repo::insert_endpoint(tx, id, purpose, agency, url, secret, now).await?;
    let detail = serde_json::json!({ "endpoint_id": id, "purpose": purpose, "agency_id": agency });
    audit::record(tx, now, actor, AuditAction::WebhookRegistered, None, detail).await?;
    Ok(id)
}

async fn remove(
    tx: &mut sqlx::PgConnection,
    actor: &Actor,
    endpoint: Uuid,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<(), OutboxError> {
    repo::disable_endpoint(tx, endpoint, now).await?;
    let cancelled = repo::cancel_pending(tx, endpoint).await?;
    let detail =
        serde_json::json!({ "endpoint_id": endpoint, "purpose": purpose, "pending_deliveries_cancelled": cancelled });
    audit::record(tx, now, actor, AuditAction::WebhookRemoved, None, detail).await?;
    Ok(())
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
