//! The ladder worker: claims due steps from the Redis index and fires them in PostgreSQL
//! transactions whose per-row `pending` -> `fired` update, keyed on (clock, step), is the
//! exactly-once guard, whatever the number of workers, crashes or Redis losses. Steps are fired
//! in batches (one commit for many steps), which is what lets one worker keep up with thousands
//! of steps falling due in the same second.
//!
//! Time comes from the process's [`Clock`](crate::clock::Clock) (the app's one authority, which
//! tests replace with a manual clock). [`run_pending_work`] fires everything due now and returns;
//! the run root (`crate::app`) calls it in a loop, sleeping [`next_wake`] between rounds, and
//! re-seeds the index every [`RESEED_EVERY`].

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::{StreamExt, stream};

use super::{repo, service::ScheduledStep, timer};
use crate::{
    audit::{self, Actor, AuditAction},
    db::StoreError,
    id::ClockId,
    policy::StepEffect,
    redis_store::RedisStoreError,
    state::AppState,
};

/// Steps claimed per round trip to Redis.
const CLAIM_BATCH: usize = 1000;
/// Steps fired per PostgreSQL transaction: one commit (one fsync) for many steps.
const FIRE_BATCH: usize = 250;
/// How long a claim is held before another worker may take it.
const LEASE: TimeDelta = TimeDelta::seconds(30);
/// Batches fired at once by one worker process.
const CONCURRENCY: usize = 4;
/// Longest sleep between claims, so new steps indexed by other processes are noticed.
pub const POLL: Duration = Duration::from_millis(500);
/// How overdue a step must be before the PostgreSQL sweep fires it without the index: long
/// enough that the index normally gets there first.
pub const SWEEP_GRACE: TimeDelta = TimeDelta::seconds(5);
/// How often the run root re-seeds Redis from PostgreSQL.
pub const RESEED_EVERY: Duration = Duration::from_mins(1);

/// A worker failure (the loop logs it and carries on).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Redis(#[from] RedisStoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for WorkerError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

/// Fires a batch of claimed steps in one transaction: every step still pending and due by
/// `now` is marked fired (the exactly-once guard, row by row), and its effect, event and audit
/// record are written with it. Claims that did not fire are put right in the index: re-indexed
/// at their new due time if still pending (a pause or re-rating moved them), dropped otherwise.
/// Returns how many fired.
pub async fn fire_batch(
    state: &AppState,
    claimed: &[(ClockId, String)],
    now: DateTime<Utc>,
) -> Result<usize, WorkerError> {
    if claimed.is_empty() {
        return Ok(0);
    }
    let clock_ids: Vec<ClockId> = claimed.iter().map(|(c, _)| *c).collect();
    let steps: Vec<String> = claimed.iter().map(|(_, s)| s.clone()).collect();
    let mut tx = state.db.begin().await?;
    // Lock order: contacts, clocks, steps, as every writer does (see `repo::lock_contact`).
    repo::lock_contacts_of_clocks(&mut tx, &clock_ids).await?;
    // Due by the claim's `now`; fired at the moment it actually fires (what lateness measures).
    let fired_at = state.clock.now().max(now);
    let fired = repo::fire_steps(&mut tx, &clock_ids, &steps, now, fired_at).await?;
    let effect = |step: &str| state.policy.clocks.ladder.iter().find(|s| s.step == step);
    let escalated: Vec<_> = fired
        .iter()
        .filter(|f| effect(&f.step).is_some_and(|d| d.effect == StepEffect::Escalate))
        .map(|f| f.contact_id)
        .collect();
    if !escalated.is_empty() {
        crate::contact::repo::mark_escalated_many(&mut tx, &escalated).await?;
    }
    let breached: Vec<_> =
        fired.iter().filter(|f| effect(&f.step).is_some_and(|d| d.effect == StepEffect::Breach)).collect();
    if !breached.is_empty() {
        repo::record_breaches(
            &mut tx,
            &breached.iter().map(|f| f.clock_id).collect::<Vec<_>>(),
            &breached.iter().map(|f| f.contact_id).collect::<Vec<_>>(),
            // The breach step's own due time is the deadline it breached (read under the step's
            // lock, unlike the clock's columns, which a racing re-rating may just have moved).
            &breached.iter().map(|f| f.due_at.or(f.deadline).unwrap_or(fired_at)).collect::<Vec<_>>(),
            fired_at,
        )
        .await?;
    }
    if !fired.is_empty() {
        let payloads: Vec<serde_json::Value> = fired
            .iter()
            .map(|f| {
                serde_json::json!({
                    "clock": f.kind,
                    "level": f.level,
                    "notify": effect(&f.step).map(|d| d.notify.as_str()),
                    "due_at": f.due_at,
                    "deadline": f.deadline,
                })
            })
            .collect();
        repo::insert_step_events(&mut tx, fired_at, &fired, &payloads).await?;
        let (ids, names): (Vec<ClockId>, Vec<String>) = fired.iter().map(|f| (f.clock_id, f.step.clone())).unzip();
        crate::outbox::service::queue_staff_notifications(&mut tx, &ids, &names, fired_at).await?;
        let contacts: Vec<_> = fired.iter().map(|f| f.contact_id).collect();
        let details: Vec<serde_json::Value> =
            fired.iter().map(|f| serde_json::json!({ "clock_id": f.clock_id, "step": f.step })).collect();
        audit::record_many(&mut tx, fired_at, &Actor::system(), AuditAction::LadderStepFired, &contacts, &details)
            .await?;
    }
    tx.commit().await?;
    for f in &fired {
        tracing::debug!(contact_id = %f.contact_id, clock_id = %f.clock_id, step = %f.step, "ladder step fired");
    }
    if !fired.is_empty() {
        tracing::info!(fired = fired.len(), claimed = claimed.len(), "ladder steps fired");
    }

    // Put the index right: fired steps leave it; the rest follow PostgreSQL.
    let mut index: Vec<ScheduledStep> =
        fired.iter().map(|f| ScheduledStep { clock_id: f.clock_id, step: f.step.clone(), due_at: None }).collect();
    let unfired: Vec<&(ClockId, String)> =
        claimed.iter().filter(|(c, s)| !fired.iter().any(|f| f.clock_id == *c && &f.step == s)).collect();
    if !unfired.is_empty() {
        let ids: Vec<ClockId> = unfired.iter().map(|(c, _)| *c).collect();
        let names: Vec<String> = unfired.iter().map(|(_, s)| s.clone()).collect();
        let states = repo::step_states(&state.db, &ids, &names).await?;
        for (clock_id, step) in unfired {
            let due_at = states
                .iter()
                .find(|(c, s, _, _)| c == clock_id && s == step)
                .and_then(|(_, _, status, due)| (status == "pending").then_some(*due).flatten());
            index.push(ScheduledStep { clock_id: *clock_id, step: step.clone(), due_at });
        }
    }
    // Best effort: a step left in the index comes due again after its lease and is a no-op.
    timer::schedule_or_log(&state.redis, &index).await;
    Ok(fired.len())
}

/// Claims and fires everything due at the clock's `now` from the Redis index, then sweeps
/// PostgreSQL for steps overdue by more than [`SWEEP_GRACE`] that the index missed (a stale
/// entry, a lost write, Redis down); returns how many steps fired. If Redis is unavailable the
/// sweep still runs, so steps keep firing from PostgreSQL alone.
pub async fn run_pending_work(state: &AppState) -> Result<usize, WorkerError> {
    let from_index = match drain_index(state).await {
        Ok(n) => n,
        Err(WorkerError::Redis(err)) => {
            tracing::warn!(error = %err, "ladder index unavailable; firing from PostgreSQL only");
            0
        }
        Err(err) => return Err(err),
    };
    Ok(from_index + sweep_overdue(state).await?)
}

/// Fires steps pending in PostgreSQL and overdue by more than [`SWEEP_GRACE`].
pub async fn sweep_overdue(state: &AppState) -> Result<usize, WorkerError> {
    let mut fired = 0;
    loop {
        let now = state.clock.now();
        let overdue =
            repo::overdue_steps(&state.db, now - SWEEP_GRACE, i64::try_from(CLAIM_BATCH).unwrap_or(1000)).await?;
        if overdue.is_empty() {
            return Ok(fired);
        }
        let mut round = 0;
        for chunk in overdue.chunks(FIRE_BATCH) {
            round += fire_batch(state, chunk, now).await?;
        }
        fired += round;
        if round == 0 {
            // Everything listed was taken by another worker meanwhile; the next round will see.
            return Ok(fired);
        }
    }
}

async fn drain_index(state: &AppState) -> Result<usize, WorkerError> {
    let mut fired = 0;
    loop {
        let now = state.clock.now();
        let claimed = timer::claim(&state.redis, now, CLAIM_BATCH, LEASE).await?;
        if claimed.is_empty() {
            return Ok(fired);
        }
        let chunks: Vec<Vec<(ClockId, String)>> = claimed.chunks(FIRE_BATCH).map(<[_]>::to_vec).collect();
        let results: Vec<Result<usize, WorkerError>> = stream::iter(chunks)
            .map(|chunk| async move { fire_batch(state, &chunk, now).await })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for result in results {
            fired += result?;
        }
    }
}

/// How long the ladder loop may sleep before its next round: until the next step in the index
/// falls due, but never longer than [`POLL`], so steps indexed by other processes (and the
/// PostgreSQL sweep) are noticed.
pub async fn next_wake(state: &AppState) -> Duration {
    match timer::next_due(&state.redis).await {
        Ok(Some(next)) => (next - state.clock.now()).to_std().unwrap_or(Duration::ZERO).min(POLL),
        _ => POLL,
    }
}
