//! The hub-wide aggregates behind the gauges: a handful of grouped counts over the open
//! contacts (the partial index on open contacts keeps them proportional to open work, not
//! to history).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Open contacts counted by queue, urgency, status and escalation.
pub(crate) async fn open_contacts(pool: &PgPool) -> Result<Vec<(String, String, String, bool, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select coalesce(queue, 'none'), coalesce(urgency, 'unrated'), status, escalated, count(*)
           from contacts where status in ('awaiting_screening', 'in_screening')
          group by 1, 2, 3, 4",
    )
    .fetch_all(pool)
    .await
}

/// The horizons of the breach forecast.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Horizons {
    pub now: DateTime<Utc>,
    pub next_working_hour: DateTime<Utc>,
    pub end_of_working_day: DateTime<Utc>,
    pub end_of_next_working_day: DateTime<Utc>,
}

/// Open contacts with a running decision clock, by queue, urgency and status: how many are in
/// each budget band, and how many will breach before each horizon if nobody decides them.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct BudgetRow {
    pub queue: String,
    pub urgency: String,
    pub status: String,
    pub under_50: i64,
    pub from_50_to_75: i64,
    pub from_75_to_100: i64,
    pub breached: i64,
    pub by_next_working_hour: i64,
    pub by_end_of_working_day: i64,
    pub by_end_of_next_working_day: i64,
}

/// A point not reached (`null`: the clock paused before it) counts as not passed, so a paused
/// clock stays in the band it paused in; a paused clock has no deadline and breaches nothing.
pub(crate) async fn budget_bands(pool: &PgPool, h: Horizons) -> Result<Vec<BudgetRow>, sqlx::Error> {
    sqlx::query_as(
        "with open as (
            select coalesce(c.queue, 'none') as queue, coalesce(c.urgency, 'unrated') as urgency, c.status,
                   k.deadline, k.half_at, k.three_quarters_at,
                   (k.deadline <= $1 or exists (select 1 from breaches b where b.clock_id = k.id)) as breached
              from contacts c join clocks k on k.contact_id = c.id and k.kind = 'decision'
             where c.status in ('awaiting_screening', 'in_screening') and k.stopped_at is null)
         select queue, urgency, status,
                count(*) filter (where breached is not true and coalesce(half_at > $1, true)) as under_50,
                count(*) filter (where breached is not true and half_at <= $1
                                   and coalesce(three_quarters_at > $1, true)) as from_50_to_75,
                count(*) filter (where breached is not true and three_quarters_at <= $1) as from_75_to_100,
                count(*) filter (where breached) as breached,
                count(*) filter (where breached is not true and deadline <= $2) as by_next_working_hour,
                count(*) filter (where breached is not true and deadline <= $3) as by_end_of_working_day,
                count(*) filter (where breached is not true and deadline <= $4) as by_end_of_next_working_day
           from open group by 1, 2, 3",
    )
    .bind(h.now)
    .bind(h.next_working_hour)
    .bind(h.end_of_working_day)
    .bind(h.end_of_next_working_day)
    .fetch_all(pool)
    .await
}

/// When each queue's oldest unclaimed contact was received.
pub(crate) async fn oldest_unclaimed(pool: &PgPool) -> Result<Vec<(String, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as(
        "select coalesce(queue, 'none'), min(received_at) from contacts
          where status = 'awaiting_screening' group by 1",
    )
    .fetch_all(pool)
    .await
}

/// Pending ladder steps due before `before`.
pub(crate) async fn steps_due_before(pool: &PgPool, before: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from ladder_steps where status = 'pending' and due_at <= $1")
        .bind(before)
        .fetch_one(pool)
        .await
}

/// Pending webhook deliveries and when the oldest was queued.
pub(crate) async fn pending_deliveries(pool: &PgPool) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
    sqlx::query_as("select count(*), min(created_at) from deliveries where status = 'pending'").fetch_one(pool).await
}
