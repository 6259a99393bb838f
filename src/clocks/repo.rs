//! SQL for clocks, their segments, ladder steps, breaches and the events outbox.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use crate::worktime::deadline::Segment;
use crate::{
    audit::Actor,
    id::{ClockId, ContactId},
};

/// A stored clock.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ClockRow {
    pub id: ClockId,
    pub contact_id: ContactId,
    pub kind: String,
    pub level: Option<String>,
    pub budget: String,
    pub started_at: DateTime<Utc>,
    pub deadline: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub stop_reason: Option<String>,
    pub policy_version: String,
}

/// A stored ladder step.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StepRow {
    pub clock_id: ClockId,
    pub step: String,
    pub due_at: Option<DateTime<Utc>>,
    pub status: String,
    pub fired_at: Option<DateTime<Utc>>,
}

const CLOCK_COLUMNS: &str =
    "id, contact_id, kind, level, budget, started_at, deadline, stopped_at, stop_reason, policy_version";

/// A clock that starts running now, with its derived budget points and its ladder steps' due
/// times (for [`insert_running_clocks`]).
pub(crate) struct RunningClock {
    pub clock: ClockRow,
    pub points: BudgetPoints,
    pub steps: Vec<String>,
    pub due: Vec<Option<DateTime<Utc>>>,
}

/// Inserts clocks that start running now, in one statement (see [`push_running_clocks`]).
pub(crate) async fn insert_running_clocks(
    conn: &mut PgConnection,
    clocks: &[RunningClock],
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    let mut qb = QueryBuilder::new("with ");
    push_running_clocks(&mut qb, clocks, actor, None);
    qb.push(" select 1").build().execute(conn).await?;
    Ok(())
}

/// Clocks that start running now, as common table expressions (`new_clocks`, `new_segments`,
/// `new_steps`) of a statement: each clock with its derived deadline and budget points, its one
/// running segment from `started_at`, and its ladder steps (all pending, none existing yet).
/// Intake's path, where every round trip counts: its one statement (`intake::repo`) holds these,
/// however many contacts it stores. With `only`, only for the contacts that expression lists (in
/// intake's statement, those it inserted).
pub(crate) fn push_running_clocks(
    qb: &mut QueryBuilder<Postgres>,
    clocks: &[RunningClock],
    actor: &Actor,
    only: Option<&'static str>,
) {
    let column = |f: fn(&RunningClock) -> Option<String>| clocks.iter().map(f).collect::<Vec<_>>();
    let instants = |f: fn(&RunningClock) -> Option<DateTime<Utc>>| clocks.iter().map(f).collect::<Vec<_>>();
    let ids: Vec<ClockId> = clocks.iter().map(|c| c.clock.id).collect();
    let contacts: Vec<ContactId> = clocks.iter().map(|c| c.clock.contact_id).collect();
    let (mut step_clocks, mut steps, mut due) = (Vec::new(), Vec::new(), Vec::new());
    for c in clocks {
        for (step, at) in c.steps.iter().zip(&c.due) {
            step_clocks.push(c.clock.id);
            steps.push(step.as_str());
            due.push(*at);
        }
    }
    qb.push(
        "new_clocks as (
            insert into clocks (id, contact_id, kind, level, budget, started_at, deadline, policy_version, half_at, three_quarters_at)
            select * from unnest(",
    );
    qb.push_bind(ids).push("::uuid[], ");
    qb.push_bind(contacts).push("::uuid[], ");
    qb.push_bind(column(|c| Some(c.clock.kind.clone()))).push("::text[], ");
    qb.push_bind(column(|c| c.clock.level.clone())).push("::text[], ");
    qb.push_bind(column(|c| Some(c.clock.budget.clone()))).push("::text[], ");
    qb.push_bind(instants(|c| Some(c.clock.started_at))).push("::timestamptz[], ");
    qb.push_bind(instants(|c| c.points.deadline)).push("::timestamptz[], ");
    qb.push_bind(column(|c| Some(c.clock.policy_version.clone()))).push("::text[], ");
    qb.push_bind(instants(|c| c.points.half)).push("::timestamptz[], ");
    qb.push_bind(instants(|c| c.points.three_quarters)).push(
        "::timestamptz[])
                   as u(id, contact_id, kind, level, budget, started_at, deadline, policy_version, half_at,
                        three_quarters_at)",
    );
    if let Some(only) = only {
        qb.push(format_args!(" where u.contact_id in (select id from {only})"));
    }
    qb.push(
        "
            returning id, started_at),
         new_segments as (
            insert into clock_segments (clock_id, state, started_at, reason, actor_kind, actor_id)
            select id, 'running', started_at, null, ",
    );
    qb.push_bind(actor.kind.as_str()).push("::text, ");
    qb.push_bind(actor.id).push(
        "::uuid from new_clocks),
         new_steps as (
            insert into ladder_steps (clock_id, step, due_at, status)
            select s.clock_id, s.step, s.due_at, 'pending' from unnest(",
    );
    qb.push_bind(step_clocks).push("::uuid[], ");
    qb.push_bind(steps).push("::text[], ");
    qb.push_bind(due)
        .push("::timestamptz[]) as s(clock_id, step, due_at) join new_clocks on new_clocks.id = s.clock_id)");
}

pub(crate) async fn open_segment(
    conn: &mut PgConnection,
    clock_id: ClockId,
    running: bool,
    at: DateTime<Utc>,
    reason: Option<&str>,
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into clock_segments (clock_id, state, started_at, reason, actor_kind, actor_id)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(clock_id)
    .bind(if running { "running" } else { "paused" })
    .bind(at)
    .bind(reason)
    .bind(actor.kind.as_str())
    .bind(actor.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the open segment at `at`; returns whether it was running.
pub(crate) async fn close_segment(
    conn: &mut PgConnection,
    clock_id: ClockId,
    at: DateTime<Utc>,
) -> Result<Option<bool>, sqlx::Error> {
    let state: Option<String> = sqlx::query_scalar(
        "update clock_segments set ended_at = greatest($2, started_at) where clock_id = $1 and ended_at is null returning state",
    )
    .bind(clock_id)
    .bind(at)
    .fetch_optional(conn)
    .await?;
    Ok(state.map(|s| s == "running"))
}

pub(crate) async fn segments(conn: &mut PgConnection, clock_id: ClockId) -> Result<Vec<Segment>, sqlx::Error> {
    let rows: Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)> =
        sqlx::query_as("select state, started_at, ended_at from clock_segments where clock_id = $1 order by id")
            .bind(clock_id)
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(state, started_at, ended_at)| Segment { running: state == "running", started_at, ended_at })
        .collect())
}

/// Sets the steps' due times, creating those that are new, in one statement; returns the steps
/// that are pending afterwards. A cancelled step comes back (a re-rating from red to amber
/// cancels `notify_duty_manager`; back to red needs it again); a fired step is never touched
/// (and so not returned). Only called for clocks that have not stopped.
pub(crate) async fn upsert_steps(
    conn: &mut PgConnection,
    clock_id: ClockId,
    steps: &[String],
    due_at: &[Option<DateTime<Utc>>],
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "insert into ladder_steps (clock_id, step, due_at, status)
         select $1, s.step, s.due_at, 'pending' from unnest($2::text[], $3::timestamptz[]) as s(step, due_at)
         on conflict (clock_id, step) do update set due_at = excluded.due_at, status = 'pending'
             where ladder_steps.status in ('pending', 'cancelled')
         returning step",
    )
    .bind(clock_id)
    .bind(steps)
    .bind(due_at)
    .fetch_all(conn)
    .await
}

/// Cancels the clock's pending steps other than `keep`.
pub(crate) async fn cancel_pending_steps(
    conn: &mut PgConnection,
    clock_id: ClockId,
    keep: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update ladder_steps set status = 'cancelled' where clock_id = $1 and status = 'pending' and step <> all($2)",
    )
    .bind(clock_id)
    .bind(keep)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn steps(conn: &mut PgConnection, clock_id: ClockId) -> Result<Vec<StepRow>, sqlx::Error> {
    sqlx::query_as("select clock_id, step, due_at, status, fired_at from ladder_steps where clock_id = $1 order by due_at nulls last, step")
        .bind(clock_id)
        .fetch_all(conn)
        .await
}

/// Sets a clock's level, budget and derived deadline.
/// The instants a clock reaches half, three quarters and all of its budget (`None`: paused
/// before that point).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BudgetPoints {
    pub half: Option<DateTime<Utc>>,
    pub three_quarters: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
}

pub(crate) async fn set_deadline(
    conn: &mut PgConnection,
    clock_id: ClockId,
    level: Option<&str>,
    budget: &str,
    points: BudgetPoints,
    policy_version: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update clocks set level = $2, budget = $3, deadline = $4, policy_version = $5, half_at = $6,
                three_quarters_at = $7
          where id = $1",
    )
    .bind(clock_id)
    .bind(level)
    .bind(budget)
    .bind(points.deadline)
    .bind(policy_version)
    .bind(points.half)
    .bind(points.three_quarters)
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks the contacts of a batch of clocks, in id order (see [`lock_contact`]).
pub(crate) async fn lock_contacts_of_clocks(conn: &mut PgConnection, clock_ids: &[ClockId]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "select c.id from contacts c join clocks k on k.contact_id = c.id
          where k.id = any($1) order by c.id for no key update of c",
    )
    .bind(clock_ids)
    .execute(conn)
    .await?;
    Ok(())
}

/// The contact's clock of `kind`, locked for update (after its contact).
pub(crate) async fn lock_clock(
    conn: &mut PgConnection,
    contact_id: ContactId,
    kind: &str,
) -> Result<Option<ClockRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {CLOCK_COLUMNS} from clocks where contact_id = $1 and kind = $2 for no key update"
    )))
    .bind(contact_id)
    .bind(kind)
    .fetch_optional(conn)
    .await
}

pub(crate) async fn clocks_of(conn: &mut PgConnection, contact_id: ContactId) -> Result<Vec<ClockRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {CLOCK_COLUMNS} from clocks where contact_id = $1 order by started_at"
    )))
    .bind(contact_id)
    .fetch_all(conn)
    .await
}

/// Marks a stopped clock running again (its new segment is the caller's to open).
pub(crate) async fn restart_clock(conn: &mut PgConnection, clock_id: ClockId) -> Result<(), sqlx::Error> {
    sqlx::query("update clocks set stopped_at = null, stop_reason = null where id = $1")
        .bind(clock_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn stop_clock(
    conn: &mut PgConnection,
    clock_id: ClockId,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update clocks set stopped_at = $2, stop_reason = $3, deadline = null where id = $1 and stopped_at is null",
    )
    .bind(clock_id)
    .bind(at)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    sqlx::query("update ladder_steps set status = 'cancelled' where clock_id = $1 and status = 'pending'")
        .bind(clock_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The advisory-lock key that lets one replica at a time re-seed the index.
const RESEED_LOCK: i64 = 0x6d61_7368_7265_7365; // "mashrese"

/// Tries to take the re-seed lock for the rest of `conn`'s transaction: it is released with the
/// transaction, whatever ends it, so it can never be left behind on a pooled connection.
pub(crate) async fn try_reseed_lock(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select pg_try_advisory_xact_lock($1)").bind(RESEED_LOCK).fetch_one(conn).await
}

/// Pending steps with a due time, in pages by (clock, step), for re-seeding Redis; each with the
/// time to index it at: its due time, or its retry time if it failed to fire and waits.
pub(crate) async fn pending_steps(
    conn: &mut PgConnection,
    after: Option<(ClockId, String)>,
    limit: i64,
) -> Result<Vec<(ClockId, String, DateTime<Utc>)>, sqlx::Error> {
    let (clock, step) = after.map_or((None, String::new()), |(c, s)| (Some(c), s));
    sqlx::query_as(
        "select clock_id, step, greatest(due_at, retry_at) from ladder_steps
          where status = 'pending' and due_at is not null and ($1::uuid is null or (clock_id, step) > ($1, $2))
          order by clock_id, step limit $3",
    )
    .bind(clock)
    .bind(step)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub xid: String,
    pub occurred_at: DateTime<Utc>,
    pub kind: String,
    pub contact_id: ContactId,
    pub clock_id: Option<ClockId>,
    pub step: Option<String>,
    pub payload: serde_json::Value,
}

/// Events after the cursor `(xid, id)`, only from transactions older than every running one, so
/// an event committing late can never be skipped by a reader who moved past it. Only events
/// about a contact: a webhook test delivery's event is the agency's, not the hub's.
pub(crate) async fn events_after(
    pool: &PgPool,
    after: Option<(String, i64)>,
    limit: i64,
) -> Result<Vec<EventRow>, sqlx::Error> {
    let (xid, id) = after.map_or((None, 0), |(x, i)| (Some(x), i));
    sqlx::query_as(
        "select id, xid::text as xid, occurred_at, kind, contact_id, clock_id, step, payload from events
          where xid < pg_snapshot_xmin(pg_current_snapshot()) and contact_id is not null
            and ($1::text is null or (xid, id) > ($1::xid8, $2))
          order by xid, id limit $3",
    )
    .bind(xid)
    .bind(id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A step of a batch that has just fired.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct FiredRow {
    pub clock_id: ClockId,
    pub step: String,
    pub due_at: Option<DateTime<Utc>>,
    pub contact_id: ContactId,
    pub kind: String,
    pub level: Option<String>,
    pub deadline: Option<DateTime<Utc>>,
    pub fired_at: DateTime<Utc>,
    /// The contact's hub urgency and queue, for monitoring.
    pub urgency: Option<String>,
    pub queue: Option<String>,
}

/// The exactly-once guard for a batch: marks fired every listed step that is pending and due by
/// `due_by` (and, if it failed before, whose retry time has come), and returns those (a step
/// another worker fired first is simply not returned).
pub(crate) async fn fire_steps(
    conn: &mut PgConnection,
    clock_ids: &[ClockId],
    steps: &[String],
    due_by: DateTime<Utc>,
    fired_at: DateTime<Utc>,
) -> Result<Vec<FiredRow>, sqlx::Error> {
    sqlx::query_as(
        "with s as (
            update ladder_steps l set status = 'fired', fired_at = $4
              from unnest($1::uuid[], $2::text[]) as t(clock_id, step)
             where l.clock_id = t.clock_id and l.step = t.step and l.status = 'pending' and l.due_at <= $3
               and (l.retry_at is null or l.retry_at <= $3)
            returning l.clock_id, l.step, l.due_at, l.fired_at)
         select s.clock_id, s.step, s.due_at, c.contact_id, c.kind, c.level, c.deadline, s.fired_at,
                k.urgency, k.queue
           from s join clocks c on c.id = s.clock_id join contacts k on k.id = c.contact_id",
    )
    .bind(clock_ids)
    .bind(steps)
    .bind(due_by)
    .bind(fired_at)
    .fetch_all(conn)
    .await
}

pub(crate) async fn record_breaches(
    conn: &mut PgConnection,
    clock_ids: &[ClockId],
    contact_ids: &[ContactId],
    deadlines: &[DateTime<Utc>],
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into breaches (clock_id, contact_id, deadline, recorded_at)
         select b.clock_id, b.contact_id, b.deadline, $4 from unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) as b(clock_id, contact_id, deadline)
         on conflict do nothing",
    )
    .bind(clock_ids)
    .bind(contact_ids)
    .bind(deadlines)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The state of several steps, for claims that did not fire: status and the time to index it at
/// (as in [`pending_steps`]; none while paused).
pub(crate) async fn step_states(
    pool: &PgPool,
    clock_ids: &[ClockId],
    steps: &[String],
) -> Result<Vec<(ClockId, String, String, Option<DateTime<Utc>>)>, sqlx::Error> {
    sqlx::query_as(
        "select l.clock_id, l.step, l.status, case when l.due_at is not null then greatest(l.due_at, l.retry_at) end
           from ladder_steps l join unnest($1::uuid[], $2::text[]) as t(clock_id, step) on l.clock_id = t.clock_id and l.step = t.step",
    )
    .bind(clock_ids)
    .bind(steps)
    .fetch_all(pool)
    .await
}

/// Pending steps due by `before`, oldest first: the sweep that fires from PostgreSQL alone when
/// the Redis index is stale or unavailable. A step that failed to fire waits for its retry time,
/// so it cannot hold the head of the queue. With `agency`, only its contacts' steps (a sandbox
/// agency's, due by its test clock).
pub(crate) async fn overdue_steps(
    pool: &PgPool,
    before: DateTime<Utc>,
    limit: i64,
    agency: Option<crate::id::AgencyId>,
) -> Result<Vec<(ClockId, String)>, sqlx::Error> {
    sqlx::query_as(
        "select s.clock_id, s.step from ladder_steps s
          where s.status = 'pending' and s.due_at <= $1 and (s.retry_at is null or s.retry_at <= $1)
            and ($3::uuid is null or exists (
                 select 1 from clocks k join contacts c on c.id = k.contact_id where k.id = s.clock_id and c.agency_id = $3))
          order by s.due_at limit $2",
    )
    .bind(before)
    .bind(limit)
    .bind(agency)
    .fetch_all(pool)
    .await
}

/// A step that failed to fire, as recorded.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct FailedStep {
    pub contact_id: ContactId,
    pub fire_attempts: i32,
    pub retry_at: DateTime<Utc>,
}

/// Records a failed attempt to fire a pending step: one more attempt, the failure's kind (a code,
/// never a message), and the next try after `base * 2^(attempts - 1)`, at most `cap` (seconds).
/// `None` when the step is no longer pending.
pub(crate) async fn record_step_failure(
    conn: &mut PgConnection,
    clock_id: ClockId,
    step: &str,
    failure: &str,
    at: DateTime<Utc>,
    (base, cap): (f64, f64),
) -> Result<Option<FailedStep>, sqlx::Error> {
    sqlx::query_as(
        "with s as (
            update ladder_steps
               set fire_attempts = fire_attempts + 1, last_failure = $3,
                   retry_at = $4 + make_interval(secs => least($5 * power(2, fire_attempts), $6))
             where clock_id = $1 and step = $2 and status = 'pending'
            returning clock_id, fire_attempts, retry_at)
         select c.contact_id, s.fire_attempts, s.retry_at from s join clocks c on c.id = s.clock_id",
    )
    .bind(clock_id)
    .bind(step)
    .bind(failure)
    .bind(at)
    .bind(base)
    .bind(cap)
    .fetch_optional(conn)
    .await
}

/// How many pending steps have failed to fire at least once and not fired since.
pub(crate) async fn failing_step_count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from ladder_steps where status = 'pending' and fire_attempts > 0")
        .fetch_one(pool)
        .await
}
