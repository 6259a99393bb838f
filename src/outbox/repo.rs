//! SQL for webhook endpoints and deliveries.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::id::{AgencyId, ContactId, DeliveryId};

pub(crate) async fn insert_endpoint(
    conn: &mut PgConnection,
    id: Uuid,
    purpose: &str,
    agency: Option<AgencyId>,
    url: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("insert into webhook_endpoints (id, purpose, agency_id, url, secret, created_at) values ($1, $2, $3, $4, $5, $6)")
        .bind(id)
        .bind(purpose)
        .bind(agency)
        .bind(url)
        .bind(secret)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// The agency's live endpoint. The agency's row is locked first (`FOR NO KEY UPDATE`, which
/// contacts' foreign-key checks do not wait for), so two registrations or replacements for one
/// agency queue rather than race to the one-live-endpoint index.
pub(crate) async fn live_agency_endpoint(
    conn: &mut PgConnection,
    agency: AgencyId,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query("select 1 from agencies where id = $1 for no key update").bind(agency).execute(&mut *conn).await?;
    sqlx::query_scalar(
        "select id from webhook_endpoints
          where agency_id = $1 and purpose = 'agency_feedback' and disabled_at is null for update",
    )
    .bind(agency)
    .fetch_optional(conn)
    .await
}

/// A live endpoint by id and purpose, locked; `None` if there is none or it is disabled.
pub(crate) async fn live_endpoint(
    conn: &mut PgConnection,
    id: Uuid,
    purpose: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "select id from webhook_endpoints where id = $1 and purpose = $2 and disabled_at is null for update",
    )
    .bind(id)
    .bind(purpose)
    .fetch_optional(conn)
    .await
}

/// Disables an endpoint: it is never sent to again.
pub(crate) async fn disable_endpoint(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("update webhook_endpoints set disabled_at = $2 where id = $1 and disabled_at is null")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves an endpoint's pending deliveries to its replacement; returns how many.
pub(crate) async fn repoint_pending(conn: &mut PgConnection, from: Uuid, to: Uuid) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("update deliveries set endpoint_id = $2 where endpoint_id = $1 and status = 'pending'")
        .bind(from)
        .bind(to)
        .execute(conn)
        .await?
        .rows_affected())
}

/// Cancels an endpoint's pending deliveries; returns how many.
pub(crate) async fn cancel_pending(conn: &mut PgConnection, endpoint: Uuid) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "update deliveries set status = 'cancelled', last_error = 'endpoint_removed' where endpoint_id = $1 and status = 'pending'",
    )
    .bind(endpoint)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Adds the decision event for a contact and a delivery to its agency's live endpoint, if any.
/// Returns whether a delivery was queued.
pub(crate) async fn queue_decision(
    conn: &mut PgConnection,
    contact_id: ContactId,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let queued: Option<Uuid> = sqlx::query_scalar(
        "with e as (insert into events (occurred_at, kind, contact_id, payload) values ($2, 'contact.decided', $1, $3) returning id)
         insert into deliveries (id, event_id, endpoint_id, status, next_attempt_at, created_at)
         select gen_random_uuid(), e.id, w.id, 'pending', $2, $2
           from e, contacts c join webhook_endpoints w on w.agency_id = c.agency_id
          where c.id = $1 and w.purpose = 'agency_feedback' and w.disabled_at is null
         returning id",
    )
    .bind(contact_id)
    .bind(now)
    .bind(payload)
    .fetch_optional(conn)
    .await?;
    Ok(queued.is_some())
}

/// Queues deliveries of the given ladder events to every live staff-notification endpoint.
pub(crate) async fn queue_staff_notifications(
    conn: &mut PgConnection,
    clock_ids: &[crate::id::ClockId],
    steps: &[String],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into deliveries (id, event_id, endpoint_id, status, next_attempt_at, created_at)
         select gen_random_uuid(), e.id, w.id, 'pending', $3, $3
           from events e join unnest($1::uuid[], $2::text[]) as t(clock_id, step) on e.clock_id = t.clock_id and e.step = t.step
          cross join webhook_endpoints w
          where w.purpose = 'staff_notifications' and w.disabled_at is null
         on conflict (event_id, endpoint_id) do nothing",
    )
    .bind(clock_ids)
    .bind(steps)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A delivery to attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    pub id: DeliveryId,
    pub attempts: i32,
    pub url: String,
    pub secret: String,
    pub event_kind: String,
    pub occurred_at: DateTime<Utc>,
    pub contact_id: ContactId,
    pub payload: serde_json::Value,
}

/// Leases up to `limit` due deliveries until `lease_until` (so no other worker sends them
/// meanwhile) and returns them; the HTTP calls happen outside any transaction.
pub(crate) async fn lease_due(
    pool: &PgPool,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DueDelivery>, sqlx::Error> {
    sqlx::query_as(
        "with due as (
            select d.id from deliveries d join webhook_endpoints w on w.id = d.endpoint_id
             where d.status = 'pending' and d.next_attempt_at <= $1 and w.disabled_at is null
             order by d.next_attempt_at limit $3 for update of d skip locked),
         leased as (update deliveries d set next_attempt_at = $2 from due where d.id = due.id returning d.id, d.attempts, d.event_id, d.endpoint_id)
         select l.id, l.attempts, w.url, w.secret, e.kind as event_kind, e.occurred_at, e.contact_id, e.payload
           from leased l join webhook_endpoints w on w.id = l.endpoint_id join events e on e.id = l.event_id",
    )
    .bind(now)
    .bind(lease_until)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Records a successful delivery; `false` if it had already been recorded.
pub(crate) async fn mark_delivered(
    conn: &mut PgConnection,
    id: DeliveryId,
    status: i32,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update deliveries set status = 'delivered', attempts = attempts + 1, last_status = $2, last_error = null, delivered_at = $3
          where id = $1 and status = 'pending'",
    )
    .bind(id)
    .bind(status)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed attempt: retried at `next` or, when `give_up`, failed for good.
pub(crate) async fn mark_attempt_failed(
    pool: &PgPool,
    id: DeliveryId,
    status: Option<i32>,
    error: &str,
    next: DateTime<Utc>,
    give_up: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update deliveries set attempts = attempts + 1, last_status = $2, last_error = $3, next_attempt_at = $4,
                status = case when $5 then 'failed' else status end
          where id = $1 and status = 'pending'",
    )
    .bind(id)
    .bind(status)
    .bind(error)
    .bind(next)
    .bind(give_up)
    .execute(pool)
    .await?;
    Ok(())
}
