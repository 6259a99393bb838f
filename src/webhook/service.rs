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

use chrono::TimeDelta;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{
    audit::{self, Actor, AuditAction},
    clocks,
    db::StoreError,
    egress,
    outbox::{self, DueDelivery},
    state::AppState,
};

/// Why a round of deliveries did not complete.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("could not encode a delivery")]
    Encode(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for WebhookError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

/// Attempts before a delivery is marked failed.
pub const MAX_ATTEMPTS: i32 = 10;
/// Deliveries sent per round.
const BATCH: i64 = 50;
/// Deliveries sent at once.
const CONCURRENCY: usize = 8;
/// How long a leased delivery is hidden from other workers while it is being sent.
const LEASE: TimeDelta = TimeDelta::seconds(60);

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

/// Sends every due delivery once, several at a time; returns how many were delivered.
pub async fn deliver_due(state: &AppState) -> Result<usize, WebhookError> {
    use futures_util::{StreamExt, stream};
    let due = outbox::service::lease_due(state, LEASE, BATCH).await?;
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

/// Sends one leased delivery and records the result; `true` when delivered now.
async fn deliver_one(state: &AppState, d: DueDelivery) -> Result<bool, WebhookError> {
    let body = serde_json::to_vec(&serde_json::json!({
        "delivery_id": d.id,
        "event": d.event_kind,
        "occurred_at": d.occurred_at,
        "contact_id": d.contact_id,
        "data": d.payload,
    }))?;
    let sent_at = state.clock.now();
    // Checked again at sending: the allow-list may have changed since registration, and an
    // IP-literal host never reaches the resolver's check.
    if egress::check_url(&d.url, &state.egress).is_err() {
        return failed(state, &d, None, "refused_destination", sent_at).await;
    }
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
            if !outbox::service::mark_delivered(&mut tx, d.id, status, sent_at).await? {
                return Ok(false);
            }
            let mut stopped = clocks::service::Stopped::default();
            if d.event_kind == "contact.decided" {
                // The referrer has been told: the feedback clock is satisfied.
                stopped = clocks::service::stop_clock(
                    &mut tx,
                    &state.policy,
                    &Actor::system(),
                    d.contact_id,
                    "feedback",
                    "referrer_informed_by_webhook",
                    sent_at,
                    None,
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
            clocks::timer::schedule_or_log(&state.redis, &stopped.scheduled).await;
            state.metrics.webhook_attempt("delivered");
            if let Some(usage) = &stopped.usage {
                state.metrics.feedback_given(&usage.urgency, usage.working_seconds);
            }
            Ok(true)
        }
        other => {
            let (status, error) = match &other {
                // A redirect is an answer like any other non-2xx: never followed.
                Ok(resp) => (Some(i32::from(resp.status().as_u16())), format!("http_{}", resp.status().as_u16())),
                Err(e) if refused_by_resolver(e) => (None, "refused_destination".to_owned()),
                Err(e) if e.is_timeout() => (None, "timeout".to_owned()),
                Err(e) if e.is_connect() => (None, "connect".to_owned()),
                Err(_) => (None, "request".to_owned()),
            };
            failed(state, &d, status, &error, sent_at).await
        }
    }
}

/// Records a failed attempt (retried with backoff, or given up after [`MAX_ATTEMPTS`]).
async fn failed(
    state: &AppState,
    d: &DueDelivery,
    status: Option<i32>,
    error: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, WebhookError> {
    let attempts = d.attempts + 1;
    let give_up = attempts >= MAX_ATTEMPTS;
    tracing::warn!(delivery_id = %d.id, attempts, error = %error, give_up, "webhook delivery failed");
    outbox::service::mark_attempt_failed(state, d.id, status, error, at + backoff(attempts), give_up).await?;
    let receiver_refused = status.is_some_and(|s| (400..500).contains(&s));
    state.metrics.webhook_attempt(if receiver_refused { "rejected" } else { "failed" });
    Ok(false)
}

/// Whether the request failed because [`egress::Resolver`] found no address it may reach.
fn refused_by_resolver(err: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<egress::Refused>() {
            return true;
        }
        source = e.source();
    }
    false
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
