//! The ladder worker: claims due steps from the Redis index and fires each in one PostgreSQL
//! transaction keyed on (clock, step), so every step fires exactly once whatever the number of
//! workers, crashes or Redis losses.
//!
//! Time comes from the process's [`Clock`](crate::clock::Clock) (the app's one authority, which
//! tests replace with a manual clock). [`run_pending_work`] fires everything due now and returns;
//! [`run`] is the long-running loop: re-seed, then claim and fire, sleeping until the next due
//! step (or a poll interval), and re-seed periodically.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::{StreamExt, stream};
use tokio_util::sync::CancellationToken;

use super::{repo, timer};
use crate::{
    app::AppState,
    audit::{self, Actor, AuditAction},
    id::ClockId,
    redis_store::RedisStoreError,
    triage::policy::StepEffect,
};

/// Steps claimed per round trip.
const CLAIM_BATCH: usize = 200;
/// How long a claim is held before another worker may take it.
const LEASE: TimeDelta = TimeDelta::seconds(30);
/// Steps fired at once by one worker process.
const CONCURRENCY: usize = 8;
/// Longest sleep between claims, so new steps indexed by other processes are noticed.
const POLL: Duration = Duration::from_millis(500);
/// How often the worker re-seeds Redis from PostgreSQL.
const RESEED_EVERY: Duration = Duration::from_mins(1);

/// A worker failure (the loop logs it and carries on).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Redis(#[from] RedisStoreError),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// What happened to one claimed step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It fired now.
    Fired,
    /// It had fired, or was cancelled, before: nothing done.
    AlreadyDone,
    /// It is still pending but not due (re-scheduled by a pause or a re-rating): re-indexed.
    Rescheduled,
}

/// Fires one claimed step if it is still pending and due; otherwise puts the index right.
pub async fn fire(state: &AppState, clock_id: ClockId, step: &str, now: DateTime<Utc>) -> Result<Outcome, WorkerError> {
    let mut tx = state.db.begin().await?;
    let Some(fired) = repo::fire_step(&mut tx, clock_id, step, now).await? else {
        tx.rollback().await?;
        return match repo::step_state(&state.db, clock_id, step).await? {
            Some((status, Some(due))) if status == "pending" => {
                timer::schedule(
                    &state.redis,
                    &[super::service::ScheduledStep { clock_id, step: step.to_owned(), due_at: Some(due) }],
                )
                .await?;
                Ok(Outcome::Rescheduled)
            }
            _ => {
                timer::remove(&state.redis, clock_id, step).await?;
                Ok(Outcome::AlreadyDone)
            }
        };
    };
    let definition = state.policy.clocks.ladder.iter().find(|s| s.step == step);
    match definition.map(|d| d.effect) {
        Some(StepEffect::Escalate) => repo::mark_escalated(&mut tx, fired.contact_id).await?,
        Some(StepEffect::Breach) => {
            let deadline = fired.deadline.or(fired.due_at).unwrap_or(now);
            repo::record_breach(&mut tx, clock_id, fired.contact_id, deadline, now).await?;
        }
        Some(StepEffect::Notify) | None => {}
    }
    let payload = serde_json::json!({
        "clock": fired.kind,
        "level": fired.level,
        "notify": definition.map(|d| d.notify.as_str()),
        "due_at": fired.due_at,
        "deadline": fired.deadline,
    });
    repo::insert_event(&mut tx, now, step, fired.contact_id, Some(clock_id), Some(step), &payload).await?;
    audit::record(
        &mut tx,
        now,
        &Actor::system(),
        AuditAction::LadderStepFired,
        Some(fired.contact_id),
        serde_json::json!({ "clock_id": clock_id, "step": step }),
    )
    .await
    .map_err(|e| match e {
        crate::db::StoreError::Unavailable(e) | crate::db::StoreError::Query(e) => WorkerError::Store(e),
    })?;
    tx.commit().await?;
    tracing::info!(contact_id = %fired.contact_id, clock_id = %clock_id, step, "ladder step fired");
    // Best effort: if this fails the member comes due again after its lease and is a no-op.
    if let Err(err) = timer::remove(&state.redis, clock_id, step).await {
        tracing::warn!(error = %err, "could not remove a fired step from the index");
    }
    Ok(Outcome::Fired)
}

/// Claims and fires everything due at the clock's `now`; returns how many steps fired.
pub async fn run_pending_work(state: &AppState) -> Result<usize, WorkerError> {
    let mut fired = 0;
    loop {
        let now = state.clock.now();
        let claimed = timer::claim(&state.redis, now, CLAIM_BATCH, LEASE).await?;
        if claimed.is_empty() {
            return Ok(fired);
        }
        let outcomes: Vec<Result<Outcome, WorkerError>> = stream::iter(claimed)
            .map(|(clock_id, step)| async move { fire(state, clock_id, &step, now).await })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for outcome in outcomes {
            if outcome? == Outcome::Fired {
                fired += 1;
            }
        }
    }
}

/// The worker loop, until `shutdown`.
pub async fn run(state: Arc<AppState>, shutdown: CancellationToken) {
    let mut last_reseed: Option<tokio::time::Instant> = None;
    while !shutdown.is_cancelled() {
        if last_reseed.is_none_or(|t| t.elapsed() >= RESEED_EVERY) {
            match timer::reseed(&state.db, &state.redis).await {
                Ok(n) => {
                    tracing::debug!(steps = n, "re-seeded the ladder index");
                    last_reseed = Some(tokio::time::Instant::now());
                }
                Err(err) => tracing::warn!(error = %err, "could not re-seed the ladder index"),
            }
        }
        let sleep = match run_pending_work(&state).await {
            Ok(_) => match timer::next_due(&state.redis).await {
                Ok(Some(next)) => (next - state.clock.now()).to_std().unwrap_or(Duration::ZERO).min(POLL),
                _ => POLL,
            },
            Err(err) => {
                tracing::warn!(error = %err, "ladder worker round failed");
                POLL
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(sleep) => {}
        }
    }
    tracing::info!("ladder worker stopped");
}
