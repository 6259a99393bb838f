//! Clock operations. Every change runs in the caller's transaction (or its own) with its audit
//! record, and re-derives deadlines and ladder due times from the stored segments, so paused time
//! is never lost and a re-rating re-computes from the original receipt.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::{
    repo::{self, ClockRow, StepRow},
    timer,
};
use crate::{
    audit::{self, Actor, AuditAction},
    db::StoreError,
    id::{ClockId, ContactId},
    policy::{LadderStep, LevelIndex, Policy},
    state::AppState,
    worktime::{
        Budget,
        deadline::{Segment, instant_at, used},
    },
};

/// A ladder step to index in Redis once its transaction has committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledStep {
    pub clock_id: ClockId,
    pub step: String,
    /// `None`: the step has no due time (paused) or is no longer pending; drop it from the index.
    pub due_at: Option<DateTime<Utc>>,
}

/// Why a clock operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    #[error("no such clock")]
    NotFound,
    #[error("the reason is not one the policy allows for pausing")]
    ReasonNotAllowed,
    #[error("the clock is not running")]
    NotRunning,
    #[error("the clock is not paused")]
    NotPaused,
    #[error("the clock has stopped")]
    Stopped,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ClockError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

fn applies(step: &LadderStep, level: Option<LevelIndex>) -> bool {
    step.levels.as_ref().is_none_or(|set| level.is_some_and(|l| set.contains(&l)))
}

/// When a decision clock at `level` started at `start` would end if it never paused: the
/// deadline an agency is told (the hub's pauses are its own working detail).
pub fn unpaused_decision_deadline(policy: &Policy, level: LevelIndex, start: DateTime<Utc>) -> DateTime<Utc> {
    budget_for(policy, "decision", Some(level)).point(&policy.clocks.calendar, start, 1.0)
}

fn budget_for(policy: &Policy, kind: &str, level: Option<LevelIndex>) -> Budget {
    match (kind, level) {
        ("decision", Some(l)) => policy.clocks.decision.get(l).copied().unwrap_or(policy.clocks.feedback),
        ("authorisation", _) => policy.clocks.authorisation,
        _ => policy.clocks.feedback,
    }
}

/// Re-derives a clock's deadline and its pending steps' due times from its segments, under
/// `level` (decision clocks) and the policy. The caller keeps the contact's `decision_due_at`
/// in step (with the rating it writes anyway, where it writes one). Steps that no longer apply are cancelled; fired
/// steps are never touched.
async fn recompute(
    conn: &mut PgConnection,
    policy: &Policy,
    clock_id: ClockId,
    kind: &str,
    level: Option<LevelIndex>,
) -> Result<(Option<DateTime<Utc>>, Vec<ScheduledStep>), sqlx::Error> {
    let segments = repo::segments(conn, clock_id).await?;
    derive(conn, policy, (clock_id, kind, level), &segments).await
}

/// [`recompute`] over `segments` as given.
async fn derive(
    conn: &mut PgConnection,
    policy: &Policy,
    (clock_id, kind, level): (ClockId, &str, Option<LevelIndex>),
    segments: &[Segment],
) -> Result<(Option<DateTime<Utc>>, Vec<ScheduledStep>), sqlx::Error> {
    let plan = plan(policy, kind, level, segments);
    // Only still-pending steps belong in the index (a fired one keeps its place in the record).
    let pending = repo::upsert_steps(conn, clock_id, &plan.steps, &plan.due).await?;
    repo::cancel_pending_steps(conn, clock_id, &plan.steps).await?;
    let level_name = level.and_then(|l| policy.levels.get(l)).map(String::as_str);
    repo::set_deadline(conn, clock_id, level_name, &plan.budget.to_string(), plan.points, &policy.version).await?;
    let scheduled = plan
        .steps
        .into_iter()
        .zip(plan.due)
        .map(|(step, due)| {
            let due_at = if pending.contains(&step) { due } else { None };
            ScheduledStep { clock_id, step, due_at }
        })
        .collect();
    Ok((plan.points.deadline, scheduled))
}

/// What a clock's segments imply under a budget: its budget points and each applicable step's
/// due time. Pure: the one derivation, whether a clock starts, is re-rated or resumes.
struct Plan {
    budget: Budget,
    points: repo::BudgetPoints,
    steps: Vec<String>,
    due: Vec<Option<DateTime<Utc>>>,
}

fn plan(policy: &Policy, kind: &str, level: Option<LevelIndex>, segments: &[Segment]) -> Plan {
    let budget = budget_for(policy, kind, level);
    let calendar = &policy.clocks.calendar;
    let (steps, due) = policy
        .clocks
        .ladder
        .iter()
        .filter(|s| applies(s, level))
        .map(|step| (step.step.clone(), instant_at(budget, calendar, segments, step.at)))
        .unzip();
    let points = repo::BudgetPoints {
        half: instant_at(budget, calendar, segments, 0.5),
        three_quarters: instant_at(budget, calendar, segments, 0.75),
        deadline: instant_at(budget, calendar, segments, 1.0),
    };
    Plan { budget, points, steps, due }
}

/// A started clock's deadline and the steps to index once its transaction commits.
pub type Started = (Option<DateTime<Utc>>, Vec<ScheduledStep>);

/// A contact's decision clock as it will start at receipt (see [`plan_decision_clocks`]).
pub struct PlannedClock(repo::RunningClock);

impl PlannedClock {
    /// When the decision is due (none for a clock without a deadline).
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        self.0.points.deadline
    }
}

/// Contacts' decision clocks as they start at receipt, each with the budget of its urgency
/// (`contacts`: each contact and its level). Pure: intake needs the deadlines for the contact
/// rows before it stores them, and [`start_planned_clocks`] stores the clocks after.
pub fn plan_decision_clocks(
    policy: &Policy,
    contacts: &[(ContactId, LevelIndex)],
    received_at: DateTime<Utc>,
) -> Vec<PlannedClock> {
    let clocks = contacts.iter().map(|(contact_id, level)| (*contact_id, Some(*level)));
    plan_clocks(policy, clocks, "decision", received_at).into_iter().map(PlannedClock).collect()
}

/// Adds the planned clocks to intake's statement, for the contacts the expression `only` lists
/// (those it inserted); returns, in the order given, each one's contact, deadline and the steps to
/// index once the statement has committed (only those of contacts stored).
pub fn push_planned_clocks(
    qb: &mut QueryBuilder<Postgres>,
    clocks: Vec<PlannedClock>,
    only: &'static str,
) -> Vec<(ContactId, Started)> {
    let clocks: Vec<repo::RunningClock> = clocks.into_iter().map(|c| c.0).collect();
    repo::push_running_clocks(qb, &clocks, &Actor::system(), Some(only));
    let contacts: Vec<ContactId> = clocks.iter().map(|c| c.clock.contact_id).collect();
    contacts.into_iter().zip(started(clocks)).collect()
}

async fn start_clock(
    conn: &mut PgConnection,
    policy: &Policy,
    contact_id: ContactId,
    kind: &str,
    level: Option<LevelIndex>,
    at: DateTime<Utc>,
) -> Result<Started, sqlx::Error> {
    let mut started = insert_clocks(conn, plan_clocks(policy, [(contact_id, level)], kind, at)).await?;
    Ok(started.pop().unwrap_or_default())
}

/// A clock of `kind` for each contact (at its level, if the kind has levels), all starting at
/// `at`.
fn plan_clocks(
    policy: &Policy,
    contacts: impl IntoIterator<Item = (ContactId, Option<LevelIndex>)>,
    kind: &str,
    at: DateTime<Utc>,
) -> Vec<repo::RunningClock> {
    // The one segment each starts with, as stored (to the microsecond, as sqlx sends it), so
    // every instant derived now equals one derived later from the rows.
    let at = at.trunc_subsecs(6);
    let running = [Segment { running: true, started_at: at, ended_at: None }];
    contacts
        .into_iter()
        .map(|(contact_id, level)| {
            let plan = plan(policy, kind, level, &running);
            repo::RunningClock {
                clock: ClockRow {
                    id: ClockId::generate(),
                    contact_id,
                    kind: kind.to_owned(),
                    level: level.and_then(|l| policy.levels.get(l)).cloned(),
                    budget: plan.budget.to_string(),
                    started_at: at,
                    deadline: plan.points.deadline,
                    stopped_at: None,
                    stop_reason: None,
                    policy_version: policy.version.clone(),
                },
                points: plan.points,
                steps: plan.steps,
                due: plan.due,
            }
        })
        .collect()
}

/// Stores running clocks: clocks, segments and steps in one statement (intake's transaction pays
/// one round trip here, however many contacts it stores).
async fn insert_clocks(conn: &mut PgConnection, clocks: Vec<repo::RunningClock>) -> Result<Vec<Started>, sqlx::Error> {
    repo::insert_running_clocks(conn, &clocks, &Actor::system()).await?;
    Ok(started(clocks))
}

/// Each clock's deadline and the steps to index once its transaction commits.
fn started(clocks: Vec<repo::RunningClock>) -> Vec<Started> {
    clocks
        .into_iter()
        .map(|c| {
            let id = c.clock.id;
            let scheduled = c
                .steps
                .into_iter()
                .zip(c.due)
                .map(|(step, due_at)| ScheduledStep { clock_id: id, step, due_at })
                .collect();
            (c.points.deadline, scheduled)
        })
        .collect()
}

/// Re-computes the decision clock under a new level, from the original receipt (a re-rating);
/// returns the new deadline and the steps to index once committed.
pub async fn relevel_decision_clock(
    conn: &mut PgConnection,
    policy: &Policy,
    contact_id: ContactId,
    level: LevelIndex,
) -> Result<(Option<DateTime<Utc>>, Vec<ScheduledStep>), StoreError> {
    let Some(clock) = repo::lock_clock(conn, contact_id, "decision").await? else {
        return Ok((None, Vec::new()));
    };
    if clock.stopped_at.is_some() {
        return Ok((clock.deadline, Vec::new()));
    }
    Ok(recompute(conn, policy, clock.id, "decision", Some(level)).await?)
}

/// Starts the contact's clock of `kind` at `at`, or, if it ran before and stopped, runs it again
/// from `at` with the time it used then still counted (a decision sent back for another look
/// resumes its decision clock; a second decision needing authorisation resumes that clock).
/// Fired ladder steps never fire again. Returns the deadline and the steps to index once
/// committed.
pub async fn start_or_resume(
    conn: &mut PgConnection,
    policy: &Policy,
    contact_id: ContactId,
    kind: &str,
    at: DateTime<Utc>,
) -> Result<(Option<DateTime<Utc>>, Vec<ScheduledStep>), StoreError> {
    let Some(clock) = repo::lock_clock(conn, contact_id, kind).await? else {
        let level = match kind {
            "decision" => crate::contact::repo::lock_contact_rating(conn, contact_id)
                .await?
                .and_then(|(urgency, _)| urgency)
                .and_then(|u| policy.levels.iter().position(|l| *l == u)),
            _ => None,
        };
        return Ok(start_clock(conn, policy, contact_id, kind, level, at).await?);
    };
    if clock.stopped_at.is_none() {
        return Ok((clock.deadline, Vec::new()));
    }
    repo::restart_clock(conn, clock.id).await?;
    repo::open_segment(conn, clock.id, true, at, None, &Actor::system()).await?;
    let (deadline, scheduled) = recompute(conn, policy, clock.id, kind, level_index(policy, &clock)).await?;
    if kind == "decision" {
        crate::contact::repo::set_decision_due(conn, contact_id, deadline).await?;
    }
    Ok((deadline, scheduled))
}

/// Stops a contact's clock of `kind` (the decision clock when the outcome is recorded): its
/// pending steps are cancelled and never fire. Then starts (or resumes) the clock `next`, if
/// any: the feedback clock when the referrer is to be told, the authorisation clock when a
/// manager must first authorise the decision.
#[allow(clippy::too_many_arguments)] // one transaction's worth of context; a struct would only rename them
pub async fn stop_clock(
    conn: &mut PgConnection,
    policy: &Policy,
    actor: &Actor,
    contact_id: ContactId,
    kind: &str,
    reason: &str,
    at: DateTime<Utc>,
    next: Option<&str>,
) -> Result<Stopped, StoreError> {
    let rating = crate::contact::repo::lock_contact_rating(conn, contact_id).await?;
    let Some(clock) = repo::lock_clock(conn, contact_id, kind).await? else {
        return Ok(Stopped::default());
    };
    if clock.stopped_at.is_some() {
        return Ok(Stopped::default());
    }
    repo::close_segment(conn, clock.id, at).await?;
    let budget = budget_for(policy, kind, level_index(policy, &clock));
    let calendar = &policy.clocks.calendar;
    let length = budget.length(calendar).num_milliseconds();
    let segments = repo::segments(conn, clock.id).await?;
    #[allow(clippy::cast_precision_loss)] // milliseconds of a clock's life fit an f64 exactly
    let usage = (length > 0).then(|| {
        let (urgency, queue) = rating.unwrap_or_default();
        ClockUsage {
            urgency: urgency.unwrap_or_else(|| "unrated".to_owned()),
            queue: queue.unwrap_or_else(|| "none".to_owned()),
            budget_used: used(budget, calendar, &segments, at).num_milliseconds() as f64 / length as f64,
            working_seconds: calendar.working_between(clock.started_at, at).num_milliseconds() as f64 / 1000.0,
        }
    });
    repo::stop_clock(conn, clock.id, at, reason).await?;
    if kind == "decision" {
        crate::contact::repo::set_decision_due(conn, contact_id, None).await?;
    }
    audit::record(
        conn,
        at,
        actor,
        AuditAction::ClockStopped,
        Some(contact_id),
        serde_json::json!({ "clock_id": clock.id, "kind": kind, "reason": reason }),
    )
    .await?;
    let mut scheduled: Vec<ScheduledStep> = repo::steps(conn, clock.id)
        .await?
        .into_iter()
        .map(|s| ScheduledStep { clock_id: clock.id, step: s.step, due_at: None })
        .collect();
    if let Some(next) = next {
        scheduled.extend(start_or_resume(conn, policy, contact_id, next, at).await?.1);
    }
    Ok(Stopped { scheduled, usage })
}

/// What stopping a clock did: the steps to take out of the index once committed, and what the
/// clock used (for monitoring, reported after the commit).
#[derive(Debug, Default)]
pub struct Stopped {
    pub scheduled: Vec<ScheduledStep>,
    /// `None` when there was no running clock to stop.
    pub usage: Option<ClockUsage>,
}

/// What a clock had used when it stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockUsage {
    /// The contact's urgency and queue as the hub rated it.
    pub urgency: String,
    pub queue: String,
    /// The share of the clock's budget used, paused time excluded (1.0 = at the deadline).
    pub budget_used: f64,
    /// Working time from the clock's start, on the hub's calendar.
    pub working_seconds: f64,
}

fn level_index(policy: &Policy, clock: &ClockRow) -> Option<LevelIndex> {
    clock.level.as_ref().and_then(|l| policy.levels.iter().position(|x| x == l))
}

/// Pauses a running clock with a reason the policy allows; audited.
pub async fn pause(
    state: &AppState,
    actor: &Actor,
    contact_id: ContactId,
    kind: &str,
    reason: &str,
) -> Result<(), ClockError> {
    if !state.policy.clocks.pause_reasons.iter().any(|r| r == reason) {
        return Err(ClockError::ReasonNotAllowed);
    }
    change_state(state, actor, contact_id, kind, Some(reason)).await
}

/// Resumes a paused clock; audited.
pub async fn resume(state: &AppState, actor: &Actor, contact_id: ContactId, kind: &str) -> Result<(), ClockError> {
    change_state(state, actor, contact_id, kind, None).await
}

/// Pause (`reason` given) or resume (`None`); the ladder index follows after the commit.
async fn change_state(
    state: &AppState,
    actor: &Actor,
    contact_id: ContactId,
    kind: &str,
    reason: Option<&str>,
) -> Result<(), ClockError> {
    let policy = &*state.policy;
    let scheduled = crate::db::in_transaction(&state.db, async |tx| {
        // Lock order: contact, clock, steps (see `repo::lock_contact`); read the time once locked, so
        // segments from racing changes stay in order.
        crate::contact::repo::lock_contact(tx, contact_id).await?;
        let row = repo::lock_clock(tx, contact_id, kind).await?.ok_or(ClockError::NotFound)?;
        let now = state.clock.now();
        if row.stopped_at.is_some() {
            return Err(ClockError::Stopped);
        }
        let was_running = repo::close_segment(tx, row.id, now).await?.unwrap_or(false);
        let pausing = reason.is_some();
        match (pausing, was_running) {
            (true, false) => return Err(ClockError::NotRunning),
            (false, true) => return Err(ClockError::NotPaused),
            _ => {}
        }
        repo::open_segment(tx, row.id, !pausing, now, reason, actor).await?;
        let (deadline, scheduled) = recompute(tx, policy, row.id, kind, level_index(policy, &row)).await?;
        if kind == "decision" {
            crate::contact::repo::set_decision_due(tx, contact_id, deadline).await?;
        }
        audit::record(
            tx,
            now,
            actor,
            if pausing { AuditAction::ClockPaused } else { AuditAction::ClockResumed },
            Some(contact_id),
            serde_json::json!({ "clock_id": row.id, "kind": kind, "reason": reason, "deadline": deadline }),
        )
        .await?;
        Ok(scheduled)
    })
    .await?;
    timer::schedule_or_log(&state.redis, &scheduled).await;
    Ok(())
}

/// A clock as staff see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockView {
    pub clock: ClockRow,
    pub state: &'static str,
    pub budget_minutes: i64,
    pub working_time: bool,
    pub used: TimeDelta,
    pub left: TimeDelta,
    pub steps: Vec<StepRow>,
}

/// Every clock of a contact with its state, time used and left, and ladder steps; audited as a
/// read of the contact. `None` when the contact has no clocks (no such contact).
pub async fn clocks_of(
    state: &AppState,
    actor: &Actor,
    contact_id: ContactId,
) -> Result<Option<Vec<ClockView>>, StoreError> {
    let (policy, now) = (&*state.policy, state.clock.now());
    crate::db::in_transaction(&state.db, async |tx| {
        let conn = &mut *tx;
        let mut views = Vec::new();
        for clock in repo::clocks_of(conn, contact_id).await? {
            let segments = repo::segments(conn, clock.id).await?;
            let budget = budget_for(policy, &clock.kind, level_index(policy, &clock));
            let until = clock.stopped_at.unwrap_or(now);
            let used = used(budget, &policy.clocks.calendar, &segments, until);
            let length = budget.length(&policy.clocks.calendar);
            let state = if clock.stopped_at.is_some() {
                "stopped"
            } else if segments.last().is_some_and(|s| !s.running) {
                "paused"
            } else {
                "running"
            };
            views.push(ClockView {
                steps: repo::steps(conn, clock.id).await?,
                clock,
                state,
                budget_minutes: length.num_minutes(),
                working_time: budget.is_working(),
                used,
                left: length - used,
            });
        }
        if views.is_empty() {
            return Ok(None);
        }
        audit::record(
            tx,
            now,
            actor,
            AuditAction::ContactRead,
            Some(contact_id),
            serde_json::json!({ "view": "clocks" }),
        )
        .await?;
        Ok(Some(views))
    })
    .await
}

/// Events of the outbox after `after` (a cursor from an earlier page), at most `limit`; the
/// listing is audited (it shows contacts' urgency and escalations).
pub async fn events(
    state: &AppState,
    actor: &Actor,
    after: Option<(String, i64)>,
    limit: i64,
) -> Result<Vec<repo::EventRow>, StoreError> {
    let now = state.clock.now();
    let rows = repo::events_after(&state.db, after, limit).await?;
    crate::db::in_transaction(&state.db, async |tx| {
        audit::record(tx, now, actor, AuditAction::EventsListed, None, serde_json::json!({ "returned": rows.len() }))
            .await?;
        Ok(rows)
    })
    .await
}
