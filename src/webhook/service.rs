//! Delivering the outbox by webhook, as the Standard Webhooks specification (1.0) describes.
//!
//! Each delivery is a POST of `{"type", "timestamp", "data"}`, where `data` is thin: for a
//! decision, the contact's id, the agency's reference, the status and the outcome (the agency
//! reads the rest with its own key). Headers:
//! - `webhook-id`: the delivery's id, the same on every retry and replay, so a receiver drops
//!   repeats;
//! - `webhook-timestamp`: Unix seconds when this attempt was sent (the hub's wall clock, even
//!   in a sandbox whose test clock has moved on: receivers reject old timestamps);
//! - `webhook-signature`: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, one per live
//!   secret, space-separated (two while a rotation's overlap lasts).
//!
//! Deprecated, sent until 2027-06-30 for receivers built before: `X-Mash-Delivery` (the id),
//! `X-Mash-Event` (the type) and `X-Mash-Signature: t=<unix seconds>,v1=<hex>` (HMAC-SHA256 with
//! the secret's text over `"<t>.<body>"`).
//!
//! A 2xx answer delivers it. Anything else (or no answer in 10 s) is retried on [`SCHEDULE`],
//! about three days in all, then given up (status `failed`, visible to the hub and the agency,
//! which may replay it). A `410 Gone` disables the endpoint. A delivered decision satisfies the
//! referrer-feedback clock.

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::TimeDelta;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{
    audit::{self, Actor, AuditAction},
    clocks,
    db::StoreError,
    egress,
    id::AgencyId,
    outbox::{self, DueDelivery, secret, service::FailedAttempt},
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

/// The wait before each retry: after the first failed attempt 5 s, then 5 min, 30 min, 2 h,
/// 5 h, 10 h, 14 h, 20 h and 24 h: ten attempts over about three days and four hours, so a
/// receiver down for a long weekend still gets its deliveries.
pub const SCHEDULE: [TimeDelta; 9] = [
    TimeDelta::seconds(5),
    TimeDelta::minutes(5),
    TimeDelta::minutes(30),
    TimeDelta::hours(2),
    TimeDelta::hours(5),
    TimeDelta::hours(10),
    TimeDelta::hours(14),
    TimeDelta::hours(20),
    TimeDelta::hours(24),
];
/// Attempts before a delivery is marked failed: the first and one per [`SCHEDULE`] entry.
pub const MAX_ATTEMPTS: i32 = 10;
/// Deliveries sent per round.
const BATCH: i64 = 50;
/// Deliveries sent at once.
const CONCURRENCY: usize = 8;
/// How long a leased delivery is hidden from other workers while it is being sent.
const LEASE: TimeDelta = TimeDelta::seconds(60);

/// The deprecated `X-Mash-Signature` value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` value: `v1,<base64>` by each secret, space-separated.
pub fn standard_signature(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| {
            let mut mac = Hmac::<Sha256>::new_from_slice(&secret::key(s))
                .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The wait before attempt `n + 1` after `n` failed attempts.
pub fn backoff(attempts: i32) -> TimeDelta {
    let i = usize::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(SCHEDULE.len() - 1);
    SCHEDULE[i]
}

/// The body of a delivery: the event's type, when it happened, and its thin data (the
/// contact's id added for events about a contact).
fn body_of(d: &DueDelivery) -> Result<Vec<u8>, serde_json::Error> {
    let mut data = match &d.payload {
        serde_json::Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    if let Some(contact) = d.contact_id {
        data.entry("contact_id").or_insert_with(|| serde_json::json!(contact));
    }
    serde_json::to_vec(&serde_json::json!({
        "type": d.event_kind,
        "timestamp": d.occurred_at,
        "data": data,
    }))
}

/// Sends every due delivery once, several at a time; returns how many were delivered.
pub async fn deliver_due(state: &AppState) -> Result<usize, WebhookError> {
    deliver_due_for(state, None).await
}

/// [`deliver_due`] for one agency's endpoint only (a sandbox agency's, due by its test clock,
/// which the caller has set for the task).
pub async fn deliver_due_for(state: &AppState, agency: Option<AgencyId>) -> Result<usize, WebhookError> {
    use futures_util::{StreamExt, stream};
    let due = outbox::service::lease_due(state, LEASE, BATCH, agency).await?;
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
    let body = body_of(&d)?;
    let sent_at = state.clock.now();
    // Checked again at sending: the allow-list may have changed since registration, and an
    // IP-literal host never reaches the resolver's check.
    if egress::check_url(&d.url, &state.egress).is_err() {
        return failed(state, &d, None, "refused_destination", sent_at).await;
    }
    // The receiver compares the timestamp with its own clock: the wall clock's, never a sandbox
    // agency's moved one.
    let timestamp = state.clock.wall().timestamp();
    let id = d.id.to_string();
    let secrets: Vec<&str> = std::iter::once(d.secret.as_str()).chain(d.previous_secret.as_deref()).collect();
    let result = state
        .http
        .post(&d.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", standard_signature(&secrets, &id, timestamp, &body))
        .header("x-mash-delivery", &id)
        .header("x-mash-event", &d.event_kind)
        .header("x-mash-signature", sign(&d.secret, timestamp, &body))
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
            if let (Some(contact), "contact.decided") = (d.contact_id, d.event_kind.as_str()) {
                // The referrer has been told: the feedback clock is satisfied.
                stopped = clocks::service::stop_clock(
                    &mut tx,
                    &state.policy,
                    &Actor::system(),
                    contact,
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
                d.contact_id,
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

/// Records a failed attempt (retried on the schedule, or given up after [`MAX_ATTEMPTS`]).
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
    let attempt = FailedAttempt { delivery: d, status, error, at, retry_at: at + backoff(attempts), give_up };
    outbox::service::record_failed_attempt(state, &attempt).await?;
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
    fn standard_signatures_match_the_specifications_example() {
        // The example in the Standard Webhooks specification and its reference libraries' tests.
        let sig = standard_signature(
            &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn two_secrets_give_two_space_separated_signatures() {
        let new = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let old = "whsec_bm90IHRoZSBzYW1lIHNlY3JldCBhdCBhbGwh";
        let both = standard_signature(&[new, old], "id", 1, b"{}");
        let parts: Vec<&str> = both.split(' ').collect();
        assert_eq!(parts, [standard_signature(&[new], "id", 1, b"{}"), standard_signature(&[old], "id", 1, b"{}")]);
        assert_ne!(parts[0], parts[1]);
    }

    #[test]
    fn retries_follow_the_schedule_over_about_three_days() {
        assert_eq!(backoff(1), TimeDelta::seconds(5));
        assert_eq!(backoff(2), TimeDelta::minutes(5));
        assert_eq!(backoff(9), TimeDelta::hours(24));
        let total: TimeDelta = (1..MAX_ATTEMPTS).map(backoff).sum();
        assert!(total > TimeDelta::days(3) && total < TimeDelta::days(4), "{total}");
        assert_eq!(usize::try_from(MAX_ATTEMPTS - 1).unwrap(), SCHEDULE.len());
    }
}
