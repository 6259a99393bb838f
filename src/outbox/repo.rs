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

/// Disables an endpoint, saying why: it is never sent to again.
pub(crate) async fn disable_endpoint(
    conn: &mut PgConnection,
    id: Uuid,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update webhook_endpoints set disabled_at = $2, disabled_reason = $3 where id = $1 and disabled_at is null",
    )
    .bind(id)
    .bind(now)
    .bind(reason)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Gives an endpoint a new secret, keeping the current one (to sign with as well) until
/// `overlap_until`. A secret still in its overlap from an earlier rotation is dropped.
pub(crate) async fn rotate_secret(
    conn: &mut PgConnection,
    id: Uuid,
    secret: &str,
    overlap_until: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update webhook_endpoints set previous_secret = secret, previous_secret_expires_at = $3, secret = $2 where id = $1",
    )
    .bind(id)
    .bind(secret)
    .bind(overlap_until)
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

/// Moves the pending deliveries of the agency's endpoints disabled for answering 410 Gone to
/// its new endpoint; returns how many. (A removed endpoint's were cancelled; a replaced one's
/// already moved.)
pub(crate) async fn adopt_pending_of_gone(
    conn: &mut PgConnection,
    agency: AgencyId,
    to: Uuid,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "update deliveries set endpoint_id = $2
          where status = 'pending'
            and endpoint_id in (select id from webhook_endpoints where agency_id = $1 and disabled_reason = 'gone')",
    )
    .bind(agency)
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

/// Queues a test delivery (event `webhook.test`, about no contact) to an endpoint.
pub(crate) async fn queue_test(
    conn: &mut PgConnection,
    endpoint: Uuid,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<DeliveryId, sqlx::Error> {
    sqlx::query_scalar(
        "with e as (insert into events (occurred_at, kind, contact_id, payload) values ($2, 'webhook.test', null, $3) returning id)
         insert into deliveries (id, event_id, endpoint_id, status, next_attempt_at, created_at)
         select gen_random_uuid(), e.id, $1, 'pending', $2, $2 from e
         returning id",
    )
    .bind(endpoint)
    .bind(now)
    .bind(payload)
    .fetch_one(conn)
    .await
}

/// Adds the events of ladder steps that have just fired and, for each, a delivery to every live
/// staff-notification endpoint: one statement. No `on conflict`: a step fires once (its
/// `pending` -> `fired` update in the same transaction is the guard, and a fired step never
/// becomes pending again), so each event is new, and the unique `(clock_id, step)` key would refuse
/// a second one rather than let it pass unseen. (Skipping conflicts cost about 4 us a step, 7% of
/// the database's time when firing.)
pub(crate) async fn queue_step_events(
    conn: &mut PgConnection,
    at: DateTime<Utc>,
    steps: &[&str],
    contact_ids: &[ContactId],
    clock_ids: &[crate::id::ClockId],
    payloads: &[serde_json::Value],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "with e as (
            insert into events (occurred_at, kind, contact_id, clock_id, step, payload)
            select $1, e.step, e.contact_id, e.clock_id, e.step, e.payload
              from unnest($2::text[], $3::uuid[], $4::uuid[], $5::jsonb[]) as e(step, contact_id, clock_id, payload)
            returning id)
         insert into deliveries (id, event_id, endpoint_id, status, next_attempt_at, created_at)
         select gen_random_uuid(), e.id, w.id, 'pending', $1, $1
           from e cross join webhook_endpoints w
          where w.purpose = 'staff_notifications' and w.disabled_at is null",
    )
    .bind(at)
    .bind(steps)
    .bind(contact_ids)
    .bind(clock_ids)
    .bind(payloads)
    .execute(conn)
    .await?;
    Ok(())
}

/// A delivery to attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    pub id: DeliveryId,
    pub endpoint_id: Uuid,
    pub attempts: i32,
    pub url: String,
    pub secret: String,
    /// The secret being rotated away from, while its overlap lasts: deliveries carry a
    /// signature by each.
    pub previous_secret: Option<String>,
    pub event_kind: String,
    pub occurred_at: DateTime<Utc>,
    /// None for a test delivery.
    pub contact_id: Option<ContactId>,
    pub payload: serde_json::Value,
}

/// Leases up to `limit` due deliveries until `lease_until` (so no other worker sends them
/// meanwhile) and returns them; the HTTP calls happen outside any transaction. With `agency`,
/// only that agency's (a sandbox agency's, due by its own clock). A rotated-out secret signs
/// until `wall` (the hub's own time: a rotation's overlap is the receiver's real time).
pub(crate) async fn lease_due(
    pool: &PgPool,
    (now, wall): (DateTime<Utc>, DateTime<Utc>),
    lease_until: DateTime<Utc>,
    limit: i64,
    agency: Option<AgencyId>,
) -> Result<Vec<DueDelivery>, sqlx::Error> {
    sqlx::query_as(
        "with due as (
            select d.id from deliveries d join webhook_endpoints w on w.id = d.endpoint_id
             where d.status = 'pending' and d.next_attempt_at <= $1 and w.disabled_at is null
               and ($4::uuid is null or w.agency_id = $4)
             order by d.next_attempt_at limit $3 for update of d skip locked),
         leased as (update deliveries d set next_attempt_at = $2 from due where d.id = due.id returning d.id, d.attempts, d.event_id, d.endpoint_id)
         select l.id, l.endpoint_id, l.attempts, w.url, w.secret,
                case when w.previous_secret_expires_at > $5 then w.previous_secret end as previous_secret,
                e.kind as event_kind, e.occurred_at, e.contact_id, e.payload
           from leased l join webhook_endpoints w on w.id = l.endpoint_id join events e on e.id = l.event_id",
    )
    .bind(now)
    .bind(lease_until)
    .bind(limit)
    .bind(agency)
    .bind(wall)
    .fetch_all(pool)
    .await
}

/// Records a successful delivery, and the endpoint's health; `false` if it had already been
/// recorded.
pub(crate) async fn mark_delivered(
    conn: &mut PgConnection,
    id: DeliveryId,
    status: i32,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done: i64 = sqlx::query_scalar(
        "with d as (
            update deliveries set status = 'delivered', attempts = attempts + 1, last_status = $2, last_error = null, delivered_at = $3
             where id = $1 and status = 'pending' returning endpoint_id),
         w as (update webhook_endpoints w set last_success_at = $3, consecutive_failures = 0, last_error = null
                 from d where w.id = d.endpoint_id)
         select count(*) from d",
    )
    .bind(id)
    .bind(status)
    .bind(at)
    .fetch_one(conn)
    .await?;
    Ok(done == 1)
}

/// Records a failed attempt, and the endpoint's health: retried at `next` or, when `give_up`,
/// failed for good.
pub(crate) async fn mark_attempt_failed(
    conn: &mut PgConnection,
    id: DeliveryId,
    status: Option<i32>,
    error: &str,
    (at, next): (DateTime<Utc>, DateTime<Utc>),
    give_up: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "with d as (
            update deliveries set attempts = attempts + 1, last_status = $2, last_error = $3, next_attempt_at = $4,
                   status = case when $5 then 'failed' else status end
             where id = $1 and status = 'pending' returning endpoint_id)
         update webhook_endpoints w set last_failure_at = $6, consecutive_failures = consecutive_failures + 1, last_error = $3
           from d where w.id = d.endpoint_id",
    )
    .bind(id)
    .bind(status)
    .bind(error)
    .bind(next)
    .bind(give_up)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// An endpoint as listed to the hub and to its agency.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: Uuid,
    pub purpose: String,
    pub agency_id: Option<AgencyId>,
    pub url: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub consecutive_failures: i32,
    pub last_error: Option<String>,
    pub pending: i64,
    pub failed: i64,
}

/// Endpoints, newest first: one agency's (`agency`), or every one.
pub(crate) async fn list_endpoints(pool: &PgPool, agency: Option<AgencyId>) -> Result<Vec<EndpointRow>, sqlx::Error> {
    sqlx::query_as(
        "select w.id, w.purpose, w.agency_id, w.url, w.created_at, w.disabled_at, w.disabled_reason,
                w.previous_secret_expires_at, w.last_success_at, w.last_failure_at, w.consecutive_failures, w.last_error,
                (select count(*) from deliveries d where d.endpoint_id = w.id and d.status = 'pending') as pending,
                (select count(*) from deliveries d where d.endpoint_id = w.id and d.status = 'failed') as failed
           from webhook_endpoints w
          where ($1::uuid is null or w.agency_id = $1)
          order by w.created_at desc, w.id desc limit 1000",
    )
    .bind(agency)
    .fetch_all(pool)
    .await
}

/// A delivery as listed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: DeliveryId,
    pub endpoint_id: Uuid,
    pub agency_id: Option<AgencyId>,
    pub event: String,
    pub contact_id: Option<ContactId>,
    pub status: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// One agency's (its endpoints'), or every one.
    pub agency: Option<AgencyId>,
    pub endpoint: Option<Uuid>,
    pub status: Option<String>,
    /// Only deliveries older than this one (the page before).
    pub before: Option<DeliveryId>,
    pub limit: i64,
}

const DELIVERY_COLUMNS: &str = "d.id, d.endpoint_id, w.agency_id, e.kind as event, e.contact_id, d.status, d.attempts,
     d.last_status, d.last_error, d.next_attempt_at, d.delivered_at, d.created_at";

/// Deliveries, newest first.
pub(crate) async fn list_deliveries(pool: &PgPool, f: &DeliveryFilter) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {DELIVERY_COLUMNS}
           from deliveries d join webhook_endpoints w on w.id = d.endpoint_id join events e on e.id = d.event_id
          where ($1::uuid is null or w.agency_id = $1)
            and ($2::uuid is null or d.endpoint_id = $2)
            and ($3::text is null or d.status = $3)
            and ($4::uuid is null or (d.created_at, d.id) < (select b.created_at, b.id from deliveries b where b.id = $4))
          order by d.created_at desc, d.id desc limit $5"
    )))
    .bind(f.agency)
    .bind(f.endpoint)
    .bind(f.status.as_deref())
    .bind(f.before)
    .bind(f.limit)
    .fetch_all(pool)
    .await
}

/// One delivery, locked, with its endpoint's state; within `agency` when given.
pub(crate) async fn lock_delivery(
    conn: &mut PgConnection,
    id: DeliveryId,
    agency: Option<AgencyId>,
) -> Result<Option<(DeliveryRow, bool)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        delivery: DeliveryRow,
        endpoint_live: bool,
    }
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {DELIVERY_COLUMNS}, w.disabled_at is null as endpoint_live
           from deliveries d join webhook_endpoints w on w.id = d.endpoint_id join events e on e.id = d.event_id
          where d.id = $1 and ($2::uuid is null or w.agency_id = $2)
          for update of d"
    )))
    .bind(id)
    .bind(agency)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.delivery, r.endpoint_live)))
}

/// Queues a delivery again to `endpoint`, due now, its attempts counted afresh; its id (the
/// `webhook-id` receivers de-duplicate on) is unchanged.
pub(crate) async fn requeue(
    conn: &mut PgConnection,
    id: DeliveryId,
    endpoint: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update deliveries set status = 'pending', endpoint_id = $2, attempts = 0, next_attempt_at = $3,
                last_status = null, last_error = null
          where id = $1",
    )
    .bind(id)
    .bind(endpoint)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
