//! Delivering the outbox by webhook.
//!
//! Each delivery is a POST of `{"delivery_id", "event", "occurred_at", "contact_id", "data"}`
//! with headers:
//! - `X-Mash-Delivery`: the delivery id, the same on every retry, so a receiver drops repeats;
//! - `X-Mash-Event`: the event kind (`contact.decided`, `reminder`, `escalate`, `breach`, ...);
//! - `X-Mash-Signature: t=<unix seconds>,v1=<hex>`, where `v1` is HMAC-SHA256 with the
//!   endpoint's secret over `"<t>.<body>"`; a receiver recomputes it and rejects old `t`.
//!
//! A 2xx answer delivers it. Anything else (or no answer in 10 s) is retried with exponential
//! backoff, from 30 s up to an hour, and given up after [`MAX_ATTEMPTS`] (status `failed`, visible
//! to staff). A delivered decision satisfies the referrer-feedback clock.

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use uuid::Uuid;

use super::repo;
use crate::{
    app::AppState,
    audit::{self, Actor, AuditAction},
    clock::Clock,
    db::StoreError,
    id::{AgencyId, ContactId},
    sla,
    triage::Policy,
};

/// Attempts before a delivery is marked failed.
pub const MAX_ATTEMPTS: i32 = 10;
/// Deliveries sent per round.
const BATCH: i64 = 50;
/// Deliveries sent at once.
const CONCURRENCY: usize = 8;
/// How long a leased delivery is hidden from other workers while it is being sent.
const LEASE: TimeDelta = TimeDelta::seconds(60);

/// Why a webhook operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("invalid field")]
    Invalid { pointer: &'static str, detail: &'static str },
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for WebhookError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

/// The signature header value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait before attempt `n + 1` after `n` failed attempts.
pub fn backoff(attempts: i32) -> TimeDelta {
    let exp = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(0);
    (TimeDelta::seconds(30) * 2_i32.pow(exp)).min(TimeDelta::hours(1))
}

fn check_endpoint(url: &str, secret: &str) -> Result<(), WebhookError> {
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.len() > 2000
        || url.chars().any(char::is_whitespace)
    {
        return Err(WebhookError::Invalid { pointer: "/url", detail: "must be an http(s) URL" });
    }
    if secret.chars().count() < 16 || secret.len() > 200 {
        return Err(WebhookError::Invalid { pointer: "/secret", detail: "must be 16 to 200 characters" });
    }
    Ok(())
}

/// Registers (or replaces) an agency's webhook for decisions on its contacts; admins.
pub async fn register_agency_webhook(
    db: &PgPool,
    clock: &dyn Clock,
    actor: &Actor,
    agency: AgencyId,
    url: &str,
    secret: &str,
) -> Result<Uuid, WebhookError> {
    register(db, clock, actor, Some(agency), url, secret).await
}

/// Registers an endpoint for staff notifications (ladder events); admins.
pub async fn register_staff_endpoint(
    db: &PgPool,
    clock: &dyn Clock,
    actor: &Actor,
    url: &str,
    secret: &str,
) -> Result<Uuid, WebhookError> {
    register(db, clock, actor, None, url, secret).await
}

async fn register(
    db: &PgPool,
    clock: &dyn Clock,
    actor: &Actor,
    agency: Option<AgencyId>,
    url: &str,
    secret: &str,
) -> Result<Uuid, WebhookError> {
    check_endpoint(url, secret)?;
    let id = Uuid::now_v7();
    let now = clock.now();
    let mut tx = db.begin().await?;
    if let Some(agency) = agency
        && !crate::auth::service::agency_exists(&mut tx, agency).await?
    {
        return Err(WebhookError::NotFound);
    }
    let purpose = if agency.is_some() { "agency_feedback" } else { "staff_notifications" };
    repo::insert_endpoint(&mut tx, id, purpose, agency, url, secret, now).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        AuditAction::WebhookRegistered,
        None,
        serde_json::json!({ "endpoint_id": id, "purpose": purpose, "agency_id": agency }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
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
    clock_ids: &[crate::id::ClockId],
    steps: &[String],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    repo::queue_staff_notifications(conn, clock_ids, steps, now).await.map_err(StoreError::from)
}

/// Staff record that the referrer was told the outcome another way: the feedback clock stops.
pub async fn feedback_given(
    db: &PgPool,
    clock: &dyn Clock,
    policy: &Policy,
    actor: &Actor,
    contact: ContactId,
    method: &str,
) -> Result<(), WebhookError> {
    if !matches!(method, "phone" | "email" | "letter" | "meeting" | "other") {
        return Err(WebhookError::Invalid {
            pointer: "/method",
            detail: "must be phone, email, letter, meeting or other",
        });
    }
    let now = clock.now();
    let mut tx = db.begin().await?;
    let scheduled = sla::service::stop_clock(
        &mut tx,
        policy,
        actor,
        contact,
        "feedback",
        &format!("referrer_informed_by_{method}"),
        now,
    )
    .await?;
    if scheduled.is_empty() {
        return Err(WebhookError::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

/// Sends every due delivery once, several at a time; returns how many were delivered.
pub async fn deliver_due(state: &AppState) -> Result<usize, WebhookError> {
    use futures_util::{StreamExt, stream};
    let now = state.clock.now();
    let due = repo::lease_due(&state.db, now, now + LEASE, BATCH).await?;
    let results: Vec<Result<bool, WebhookError>> = stream::iter(due)
        .map(|d| async move { deliver_one(state, d).await })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut delivered = 0;
    for result in results {
        if result? {
            delivered += 1;
        }
    }
    Ok(delivered)
}

/// The delivery loop, until `shutdown`: one round a second (a round waits at most for its
/// slowest receiver's 10 s timeout).
pub async fn run(state: std::sync::Arc<AppState>, shutdown: tokio_util::sync::CancellationToken) {
    while !shutdown.is_cancelled() {
        if let Err(err) = deliver_due(&state).await {
            tracing::warn!(error = %err, "webhook delivery round failed");
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
}

/// Sends one leased delivery and records the result; `true` when delivered now.
async fn deliver_one(state: &AppState, d: repo::DueDelivery) -> Result<bool, WebhookError> {
    let body = serde_json::to_vec(&serde_json::json!({
        "delivery_id": d.id,
        "event": d.event_kind,
        "occurred_at": d.occurred_at,
        "contact_id": d.contact_id,
        "data": d.payload,
    }))
    .map_err(|_| WebhookError::Invalid { pointer: "", detail: "unencodable payload" })?;
    let sent_at = state.clock.now();
    let result = state
        .http
        .post(&d.url)
        .header("content-type", "application/json")
        .header("x-mash-delivery", d.id.to_string())
        .header("x-mash-event", &d.event_kind)
        .header("x-mash-signature", sign(&d.secret, sent_at.timestamp(), &body))
        .body(body)
        .send()
        .await;
    match result {
        Ok(resp) if resp.status().is_success() => {
            let status = i32::from(resp.status().as_u16());
            let mut tx = state.db.begin().await?;
            if !repo::mark_delivered(&mut tx, d.id, status, sent_at).await? {
                return Ok(false);
            }
            let mut scheduled = Vec::new();
            if d.event_kind == "contact.decided" {
                // The referrer has been told: the feedback clock is satisfied.
                scheduled = sla::service::stop_clock(
                    &mut tx,
                    &state.policy,
                    &Actor::system(),
                    d.contact_id,
                    "feedback",
                    "referrer_informed_by_webhook",
                    sent_at,
                )
                .await?;
            }
            audit::record(
                &mut tx,
                sent_at,
                &Actor::system(),
                AuditAction::WebhookDelivered,
                Some(d.contact_id),
                serde_json::json!({ "delivery_id": d.id, "event": d.event_kind }),
            )
            .await?;
            tx.commit().await?;
            sla::timer::schedule_or_log(&state.redis, &scheduled).await;
            Ok(true)
        }
        other => {
            let (status, error) = match &other {
                Ok(resp) => (Some(i32::from(resp.status().as_u16())), format!("http_{}", resp.status().as_u16())),
                Err(e) if e.is_timeout() => (None, "timeout".to_owned()),
                Err(e) if e.is_connect() => (None, "connect".to_owned()),
                Err(_) => (None, "request".to_owned()),
            };
            let attempts = d.attempts + 1;
            let give_up = attempts >= MAX_ATTEMPTS;
            tracing::warn!(delivery_id = %d.id, attempts, error = %error, give_up, "webhook delivery failed");
            repo::mark_attempt_failed(&state.db, d.id, status, &error, sent_at + backoff(attempts), give_up).await?;
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_over_timestamp_and_body() {
        // RFC 4231-style check against an independent computation.
        let sig = sign("0123456789abcdef", 1_700_000_000, br#"{"a":1}"#);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"0123456789abcdef").unwrap();
        mac.update(br#"1700000000.{"a":1}"#);
        assert_eq!(sig, format!("t=1700000000,v1={}", hex::encode(mac.finalize().into_bytes())));
        assert_ne!(sig, sign("another secret 1234", 1_700_000_000, br#"{"a":1}"#));
    }

    #[test]
    fn backoff_doubles_from_30_seconds_to_an_hour() {
        assert_eq!(backoff(1), TimeDelta::seconds(30));
        assert_eq!(backoff(2), TimeDelta::seconds(60));
        assert_eq!(backoff(5), TimeDelta::seconds(480));
        assert_eq!(backoff(9), TimeDelta::hours(1));
    }
}
