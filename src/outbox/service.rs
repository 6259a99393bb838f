//! Registering webhook endpoints, and queueing deliveries inside the transaction of the event
//! they announce. Sending them is [`crate::webhook`]'s job.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{
    repo::{self, DeliveryFilter, DeliveryRow, DueDelivery, EndpointRow},
    secret,
};
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
    /// No live endpoint to replace, remove, rotate or test.
    #[error("no such endpoint")]
    UnknownEndpoint,
    /// No such delivery within the caller's scope.
    #[error("no such delivery")]
    UnknownDelivery,
    /// Only a failed or cancelled delivery is replayed (a pending one is still being tried).
    #[error("the delivery is {0}, not failed or cancelled")]
    NotReplayable(String),
    /// The delivery's endpoint is disabled and its agency has no live one to send it to.
    #[error("no live endpoint to send to")]
    NoLiveEndpoint,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for OutboxError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

/// The endpoint's URL as it will be stored (normalised by the URL parser), if webhooks may go
/// there ([`crate::egress`]: public HTTPS, or allow-listed), and its secret: the one supplied
/// (in the `whsec_` form) or, when none is, a new one to show once.
async fn check_endpoint(state: &AppState, url: &str, supplied: Option<&str>) -> Result<(String, Secret), OutboxError> {
    let secret = checked_secret(supplied)?;
    if url.len() > 2000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(OutboxError::Invalid { pointer: "/url", detail: "must be an http(s) URL".into() });
    }
    let url = egress::check_url_resolving(url, &state.egress)
        .await
        .map(String::from)
        .map_err(|refusal| OutboxError::Invalid { pointer: "/url", detail: refusal.to_string() })?;
    Ok((url, secret))
}

fn checked_secret(supplied: Option<&str>) -> Result<Secret, OutboxError> {
    match supplied {
        Some(s) => {
            secret::check(s).map_err(|rule| OutboxError::Invalid { pointer: "/secret", detail: rule.into() })?;
            Ok(Secret { value: s.to_owned(), generated: false })
        }
        None => Ok(Secret { value: secret::generate(), generated: true }),
    }
}

/// A signing secret, and whether the hub made it (then it is shown once, in the answer).
struct Secret {
    value: String,
    generated: bool,
}

impl Secret {
    fn to_show(&self) -> Option<String> {
        self.generated.then(|| self.value.clone())
    }
}

/// A registered endpoint: its id, and the secret when the hub generated it (shown only now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub id: Uuid,
    pub secret: Option<String>,
}

/// Registers an agency's webhook for decisions on its contacts; admins. Refused when the agency
/// already has one: taking over an agency's decision feed must be the explicit, audited
/// [`replace_agency_webhook`].
pub async fn register_agency_webhook(
    state: &AppState,
    actor: &Actor,
    agency: AgencyId,
    url: &str,
    secret: Option<&str>,
) -> Result<Registered, OutboxError> {
    let (url, secret) = check_endpoint(state, url, secret).await?;
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        known_agency(tx, agency).await?;
        if repo::live_agency_endpoint(tx, agency).await?.is_some() {
            return Err(OutboxError::AlreadyRegistered);
        }
        let id = insert(tx, actor, Some(agency), &url, &secret.value, now).await?;
        repo::adopt_pending_of_gone(tx, agency, id).await?;
        Ok(Registered { id, secret: secret.to_show() })
    })
    .await
}

/// What a replacement did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    /// The new endpoint.
    pub id: Uuid,
    /// The endpoint it replaced (none: this registered the agency's first).
    pub previous: Option<Uuid>,
    /// The secret, when the hub generated it (shown only now).
    pub secret: Option<String>,
}

/// Replaces an agency's webhook (or registers its first); admins. The old endpoint is disabled
/// and receives nothing more; deliveries still pending move to the new one, as do those left
/// by an endpoint disabled for answering 410 Gone. Audited with both endpoint ids.
pub async fn replace_agency_webhook(
    state: &AppState,
    actor: &Actor,
    agency: AgencyId,
    url: &str,
    secret: Option<&str>,
) -> Result<Replaced, OutboxError> {
    let (url, secret) = check_endpoint(state, url, secret).await?;
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        known_agency(tx, agency).await?;
        let previous = repo::live_agency_endpoint(tx, agency).await?;
        if let Some(old) = previous {
            repo::disable_endpoint(tx, old, now, "replaced").await?;
        }
        let id = Uuid::now_v7();
        repo::insert_endpoint(tx, id, AGENCY_FEEDBACK, Some(agency), &url, &secret.value, now).await?;
        let moved = match previous {
            Some(old) => repo::repoint_pending(tx, old, id).await?,
            None => 0,
        } + repo::adopt_pending_of_gone(tx, agency, id).await?;
        let action = if previous.is_some() { AuditAction::WebhookReplaced } else { AuditAction::WebhookRegistered };
        let detail = serde_json::json!({
            "endpoint_id": id, "purpose": AGENCY_FEEDBACK, "agency_id": agency,
            "replaced_endpoint_id": previous, "pending_deliveries_moved": moved,
        });
        audit::record(tx, now, actor, action, None, detail).await?;
        Ok(Replaced { id, previous, secret: secret.to_show() })
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
    secret: Option<&str>,
) -> Result<Registered, OutboxError> {
    let (url, secret) = check_endpoint(state, url, secret).await?;
    let now = state.clock.now();
    let id = crate::db::in_transaction(&state.db, async |tx| insert(tx, actor, None, &url, &secret.value, now).await)
        .await?;
    Ok(Registered { id, secret: secret.to_show() })
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
    repo::disable_endpoint(tx, endpoint, now, "removed").await?;
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

/// Adds the events of ladder steps that have just fired, each with its staff notifications (in
/// the worker's transaction); the slices run in parallel, one entry a step.
pub async fn queue_step_events(
    conn: &mut sqlx::PgConnection,
    at: DateTime<Utc>,
    steps: &[&str],
    contact_ids: &[ContactId],
    clock_ids: &[ClockId],
    payloads: &[serde_json::Value],
) -> Result<(), StoreError> {
    repo::queue_step_events(conn, at, steps, contact_ids, clock_ids, payloads).await.map_err(StoreError::from)
}

/// Leases up to `limit` deliveries due at `now` for `lease`, hiding them from other senders
/// while they are sent; with `agency`, only that agency's.
pub async fn lease_due(
    state: &AppState,
    lease: TimeDelta,
    limit: i64,
    agency: Option<AgencyId>,
) -> Result<Vec<DueDelivery>, StoreError> {
    let now = state.clock.now();
    Ok(repo::lease_due(&state.db, (now, state.clock.wall()), now + lease, limit, agency).await?)
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

/// A failed attempt, as the sender saw it.
#[derive(Debug, Clone)]
pub struct FailedAttempt<'a> {
    pub delivery: &'a DueDelivery,
    /// The receiver's status, if it answered.
    pub status: Option<i32>,
    pub error: &'a str,
    pub at: DateTime<Utc>,
    pub retry_at: DateTime<Utc>,
    /// No more attempts: the delivery is failed for good.
    pub give_up: bool,
}

/// Records a failed attempt and when to try again, or gives up. A `410 Gone` answer disables
/// the endpoint (audited): its pending deliveries wait for a replacement.
pub async fn record_failed_attempt(state: &AppState, f: &FailedAttempt<'_>) -> Result<(), StoreError> {
    crate::db::in_transaction(&state.db, async |tx| {
        repo::mark_attempt_failed(tx, f.delivery.id, f.status, f.error, (f.at, f.retry_at), f.give_up).await?;
        if f.status == Some(410) && repo::disable_endpoint(tx, f.delivery.endpoint_id, f.at, "gone").await? {
            let detail = serde_json::json!({
                "endpoint_id": f.delivery.endpoint_id, "reason": "gone", "delivery_id": f.delivery.id,
            });
            audit::record(tx, f.at, &Actor::system(), AuditAction::WebhookDisabled, None, detail).await?;
            tracing::warn!(endpoint_id = %f.delivery.endpoint_id, "webhook endpoint answered 410 Gone: disabled");
        }
        Ok::<_, StoreError>(())
    })
    .await
}

/// Which endpoint a rotation is for.
#[derive(Debug, Clone, Copy)]
pub enum EndpointOf {
    /// The agency's live decision webhook.
    Agency(AgencyId),
    /// A staff-notification endpoint.
    Staff(Uuid),
}

/// A rotation's result: the new secret when the hub generated it, and when the old one stops
/// signing.
#[derive(Debug, Clone)]
pub struct Rotated {
    pub id: Uuid,
    pub secret: Option<String>,
    pub previous_secret_expires_at: DateTime<Utc>,
}

/// The longest overlap a rotation may keep the old secret for.
pub const MAX_OVERLAP_HOURS: i64 = 7 * 24;

/// Gives an endpoint a new secret (admins). For `overlap_hours` (default 24) deliveries carry a
/// signature by each, so the receiver can switch when it likes. Audited, without the secrets.
pub async fn rotate_secret(
    state: &AppState,
    actor: &Actor,
    of: EndpointOf,
    secret: Option<&str>,
    overlap_hours: Option<i64>,
) -> Result<Rotated, OutboxError> {
    let secret = checked_secret(secret)?;
    let hours = overlap_hours.unwrap_or(24);
    if !(0..=MAX_OVERLAP_HOURS).contains(&hours) {
        return Err(OutboxError::Invalid { pointer: "/overlap_hours", detail: "must be 0 to 168".into() });
    }
    let now = state.clock.now();
    // The receiver's real time, even in a sandbox.
    let until = state.clock.wall() + TimeDelta::hours(hours);
    crate::db::in_transaction(&state.db, async |tx| {
        let endpoint = match of {
            EndpointOf::Agency(agency) => {
                known_agency(tx, agency).await?;
                repo::live_agency_endpoint(tx, agency).await?
            }
            EndpointOf::Staff(id) => repo::live_endpoint(tx, id, STAFF_NOTIFICATIONS).await?,
        }
        .ok_or(OutboxError::UnknownEndpoint)?;
        repo::rotate_secret(tx, endpoint, &secret.value, until).await?;
        let detail = serde_json::json!({ "endpoint_id": endpoint, "previous_secret_expires_at": until });
        audit::record(tx, now, actor, AuditAction::WebhookSecretRotated, None, detail).await?;
        Ok(Rotated { id: endpoint, secret: secret.to_show(), previous_secret_expires_at: until })
    })
    .await
}

/// Queues a test delivery (`webhook.test`) to the agency's live endpoint; the agency itself or
/// an admin. Audited.
pub async fn queue_test(state: &AppState, actor: &Actor, agency: AgencyId) -> Result<DeliveryId, OutboxError> {
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        let endpoint = repo::live_agency_endpoint(tx, agency).await?.ok_or(OutboxError::NoLiveEndpoint)?;
        let payload = serde_json::json!({ "agency_id": agency, "endpoint_id": endpoint });
        let id = repo::queue_test(tx, endpoint, &payload, now).await?;
        let detail = serde_json::json!({ "endpoint_id": endpoint, "delivery_id": id, "agency_id": agency });
        audit::record(tx, now, actor, AuditAction::WebhookTestRequested, None, detail).await?;
        Ok(id)
    })
    .await
}

/// Queues a failed or cancelled delivery again, with its id unchanged (so a receiver that did
/// get it after all drops the repeat). If its endpoint has since been disabled it goes to the
/// agency's live one. `agency`: only that agency's deliveries (an agency's own key); none for
/// admins. Audited.
pub async fn replay(
    state: &AppState,
    actor: &Actor,
    agency: Option<AgencyId>,
    id: DeliveryId,
) -> Result<DeliveryRow, OutboxError> {
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        let (delivery, live) = repo::lock_delivery(tx, id, agency).await?.ok_or(OutboxError::UnknownDelivery)?;
        if !matches!(delivery.status.as_str(), "failed" | "cancelled") {
            return Err(OutboxError::NotReplayable(delivery.status));
        }
        let endpoint = if live {
            delivery.endpoint_id
        } else {
            let owner = delivery.agency_id.ok_or(OutboxError::NoLiveEndpoint)?;
            repo::live_agency_endpoint(tx, owner).await?.ok_or(OutboxError::NoLiveEndpoint)?
        };
        repo::requeue(tx, id, endpoint, now).await?;
        let detail = serde_json::json!({
            "delivery_id": id, "endpoint_id": endpoint, "was": delivery.status, "event": delivery.event,
        });
        audit::record(tx, now, actor, AuditAction::WebhookReplayed, delivery.contact_id, detail).await?;
        let (replayed, _) = repo::lock_delivery(tx, id, agency).await?.ok_or(OutboxError::UnknownDelivery)?;
        Ok(replayed)
    })
    .await
}

/// Endpoints with their health: an agency's own (`agency`), or, for admins, every one or one
/// agency's. Audited.
pub async fn list_endpoints(
    state: &AppState,
    actor: &Actor,
    agency: Option<AgencyId>,
) -> Result<Vec<EndpointRow>, StoreError> {
    let rows = repo::list_endpoints(&state.db, agency).await?;
    record_listing(
        state,
        actor,
        serde_json::json!({ "listed": "endpoints", "agency_id": agency, "count": rows.len() }),
    )
    .await?;
    Ok(rows)
}

/// Deliveries, newest first, as the filter says. Audited.
pub async fn list_deliveries(
    state: &AppState,
    actor: &Actor,
    filter: &DeliveryFilter,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let rows = repo::list_deliveries(&state.db, filter).await?;
    let detail = serde_json::json!({
        "listed": "deliveries", "agency_id": filter.agency, "endpoint_id": filter.endpoint,
        "status": filter.status, "count": rows.len(),
    });
    record_listing(state, actor, detail).await?;
    Ok(rows)
}

async fn record_listing(state: &AppState, actor: &Actor, detail: serde_json::Value) -> Result<(), StoreError> {
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        audit::record(tx, now, actor, AuditAction::WebhookListed, None, detail).await
    })
    .await
}
