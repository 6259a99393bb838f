//! The ladder worker: claims due steps from the Redis index and fires them in PostgreSQL
//! transactions whose per-row `pending` -> `fired` update, keyed on (clock, step), is the
//! exactly-once guard, whatever the number of workers, crashes or Redis losses. Steps are fired
//! in batches (one commit for many steps), which is what lets one worker keep up with thousands
//! of steps falling due in the same second.
//!
//! # A step that cannot fire
//! A batch is all-or-nothing, so one step the database refuses would take its whole batch down
//! with it, every round. When a batch fails with a query error, its steps are fired again one
//! per transaction: the others fire (each still through the same guard, so at most once), and
//! the one that fails alone is recorded in `ladder_steps` (attempts, a failure code, a retry
//! time with backoff) with an audit record, and logged at error level. Until its retry time the
//! sweep skips it and the index holds it at that time, so it never heads the queue.
//! [`failing_steps`] counts such steps for monitoring. A store that is unavailable is not a
//! step's fault: that round fails and the next one tries again.
//!
//! Time comes from the process's [`Clock`](crate::clock::Clock) (the app's one authority, which
//! tests replace with a manual clock). [`run_pending_work`] fires everything due now and returns;
//! the run root (`crate::app`) calls it in a loop, sleeping [`next_wake`] between rounds, and
//! re-seeds the index every [`RESEED_EVERY`] (and at once when the index was lost).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::{StreamExt, stream};

use super::{
    repo::{self, FiredRow},
    service::ScheduledStep,
    timer::{self, Claim},
};
use crate::{
    audit::{self, Actor, AuditAction},
    db::{self, StoreError},
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
/// The first retry of a step that failed to fire comes this many seconds later, each next one
/// twice as late, up to [`RETRY_CAP_SECONDS`]: soon enough that a passing fault (a lock timeout)
/// costs little lateness, spaced enough that a lasting one costs the worker little.
pub const RETRY_BASE_SECONDS: f64 = 10.0;
/// The longest wait between retries of a failing step.
pub const RETRY_CAP_SECONDS: f64 = 900.0;

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

/// Fires a batch of claimed steps: every step still pending and due by `now` is marked fired
/// (the exactly-once guard, row by row), and its effect, event and audit record are written with
/// it, in one transaction; if the database refuses that transaction, one transaction per step,
/// recording the steps that fail alone (see the module docs). Claims that did not fire are put
/// right in the index: re-indexed at their new due or retry time if still pending (a pause or
/// re-rating moved them, or they failed), dropped otherwise. Returns how many fired.
pub async fn fire_batch(
    state: &AppState,
    claimed: &[(ClockId, String)],
    now: DateTime<Utc>,
) -> Result<usize, WorkerError> {
    if claimed.is_empty() {
        return Ok(0);
    }
    let fired = match fire_together(state, claimed, now).await {
        Ok(fired) => fired,
        Err(err) if is_step_fault(&err) && claimed.len() > 1 => fire_one_by_one(state, claimed, now).await?,
        Err(err) if is_step_fault(&err) => {
            record_failure(state, &claimed[0], &err).await?;
            Vec::new()
        }
        Err(err) => return Err(err),
    };
    for f in &fired {
        tracing::debug!(contact_id = %f.contact_id, clock_id = %f.clock_id, step = %f.step, "ladder step fired");
        let urgency = f.urgency.as_deref().unwrap_or("unrated");
        let queue = f.queue.as_deref().unwrap_or("none");
        #[allow(clippy::cast_precision_loss)] // milliseconds of lateness fit an f64 exactly
        let lateness = f.due_at.map_or(0.0, |due| (f.fired_at - due).num_milliseconds() as f64 / 1000.0);
        state.metrics.step_fired(&f.step, urgency, queue, lateness);
        let effect = state.policy.clocks.ladder.iter().find(|s| s.step == f.step).map(|s| s.effect);
        if effect == Some(StepEffect::Breach) {
            state.metrics.breach(&f.kind, urgency, queue);
        }
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

/// Whether a failed firing is the fault of the steps in it (the database answered, and refused),
/// rather than of the store being unavailable (which no step can be blamed for).
fn is_step_fault(err: &WorkerError) -> bool {
    matches!(err, WorkerError::Store(StoreError::Query(_)))
}

/// The steps of a refused batch, each in its own transaction. Sequential: this is the rare path,
/// and it keeps the pool free for requests.
async fn fire_one_by_one(
    state: &AppState,
    claimed: &[(ClockId, String)],
    now: DateTime<Utc>,
) -> Result<Vec<FiredRow>, WorkerError> {
    let mut fired = Vec::new();
    for one in claimed {
        match fire_together(state, std::slice::from_ref(one), now).await {
            Ok(rows) => fired.extend(rows),
            Err(err) if is_step_fault(&err) => record_failure(state, one, &err).await?,
            Err(err) => return Err(err),
        }
    }
    Ok(fired)
}

/// The kind of a failure, safe to store and log: a SQLSTATE or an error class, never a message
/// (a database message can quote the values it refused).
fn failure_kind(err: &WorkerError) -> String {
    let WorkerError::Store(StoreError::Query(err) | StoreError::Unavailable(err)) = err else {
        return "redis".to_owned();
    };
    match err {
        sqlx::Error::Database(db) => db.code().map_or_else(|| "database".to_owned(), std::borrow::Cow::into_owned),
        sqlx::Error::RowNotFound => "row_not_found".to_owned(),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => "decode".to_owned(),
        sqlx::Error::Encode(_) => "encode".to_owned(),
        sqlx::Error::Protocol(_) => "protocol".to_owned(),
        _ => "query".to_owned(),
    }
}

/// Records that `step` failed to fire alone, with its audit record, in one transaction, and
/// raises the alarm in the log (ids and codes only).
async fn record_failure(
    state: &AppState,
    (clock_id, step): &(ClockId, String),
    err: &WorkerError,
) -> Result<(), WorkerError> {
    let failure = failure_kind(err);
    let at = state.clock.now();
    let recorded = db::in_transaction(&state.db, async |tx| {
        // Lock order: the contact first, as every writer does.
        repo::lock_contacts_of_clocks(tx, std::slice::from_ref(clock_id)).await?;
        let recorded =
            repo::record_step_failure(tx, *clock_id, step, &failure, at, (RETRY_BASE_SECONDS, RETRY_CAP_SECONDS))
                .await?;
        if let Some(failed) = &recorded {
            let detail = serde_json::json!({
                "clock_id": clock_id, "step": step, "attempts": failed.fire_attempts, "failure": failure,
            });
            audit::record(tx, at, &Actor::system(), AuditAction::LadderStepFailed, Some(failed.contact_id), detail)
                .await?;
        }
        Ok::<_, WorkerError>(recorded)
    })
    .await?;
    if let Some(failed) = recorded {
        tracing::error!(
            contact_id = %failed.contact_id, clock_id = %clock_id, step = %step, attempts = failed.fire_attempts,
            failure = %failure, retry_at = %failed.retry_at,
            "a ladder step failed to fire; the others go on and it is retried later"
        );
    }
    Ok(())
}

/// Fires `claimed` in one transaction; the steps that fired.
async fn fire_together(
    state: &AppState,
    claimed: &[(ClockId, String)],
    now: DateTime<Utc>,
) -> Result<Vec<FiredRow>, WorkerError> {
    let clock_ids: Vec<ClockId> = claimed.iter().map(|(c, _)| *c).collect();
    let steps: Vec<String> = claimed.iter().map(|(_, s)| s.clone()).collect();
    // `in_transaction` rolls a refused batch back before returning, so its locks are gone before
    // its steps are tried one by one.
    db::in_transaction(&state.db, async |tx| {
        // Lock order: contacts, clocks, steps, as every writer does (see `repo::lock_contact`).
        repo::lock_contacts_of_clocks(tx, &clock_ids).await?;
        // Due by the claim's `now`; fired at the moment it actually fires (what lateness measures).
        let fired_at = state.clock.now().max(now);
        let fired = repo::fire_steps(tx, &clock_ids, &steps, now, fired_at).await?;
        write_effects(state, tx, &fired, fired_at).await?;
        Ok(fired)
    })
    .await
}

/// The effects of steps that have just fired: escalation marks, breaches, events, staff
/// notifications and audit records, set-based.
async fn write_effects(
    state: &AppState,
    tx: &mut sqlx::PgConnection,
    fired: &[FiredRow],
    fired_at: DateTime<Utc>,
) -> Result<(), WorkerError> {
    if fired.is_empty() {
        return Ok(());
    }
    let effect = |step: &str| state.policy.clocks.ladder.iter().find(|s| s.step == step);
    let escalated: Vec<_> = fired
        .iter()
        .filter(|f| effect(&f.step).is_some_and(|d| d.effect == StepEffect::Escalate))
        .map(|f| f.contact_id)
        .collect();
    if !escalated.is_empty() {
        crate::contact::repo::mark_escalated_many(tx, &escalated).await?;
    }
    let breached: Vec<_> =
        fired.iter().filter(|f| effect(&f.step).is_some_and(|d| d.effect == StepEffect::Breach)).collect();
    if !breached.is_empty() {
        repo::record_breaches(
            tx,
            &breached.iter().map(|f| f.clock_id).collect::<Vec<_>>(),
            &breached.iter().map(|f| f.contact_id).collect::<Vec<_>>(),
            // The breach step's own due time is the deadline it breached (read under the step's
            // lock, unlike the clock's columns, which a racing re-rating may just have moved).
            &breached.iter().map(|f| f.due_at.or(f.deadline).unwrap_or(fired_at)).collect::<Vec<_>>(),
            fired_at,
        )
        .await?;
    }
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
    let steps: Vec<&str> = fired.iter().map(|f| f.step.as_str()).collect();
    let contacts: Vec<_> = fired.iter().map(|f| f.contact_id).collect();
    let clocks: Vec<ClockId> = fired.iter().map(|f| f.clock_id).collect();
    crate::outbox::service::queue_step_events(tx, fired_at, &steps, &contacts, &clocks, &payloads).await?;
    let details: Vec<serde_json::Value> =
        fired.iter().map(|f| serde_json::json!({ "clock_id": f.clock_id, "step": f.step })).collect();
    audit::record_many(tx, fired_at, &Actor::system(), AuditAction::LadderStepFired, &contacts, &details).await?;
    Ok(())
}

/// How many pending steps have failed to fire and wait for a retry: zero unless something is
/// wrong. For monitoring to alert on (each failure is also logged at error level).
pub async fn failing_steps(state: &AppState) -> Result<i64, StoreError> {
    Ok(repo::failing_step_count(&state.db).await?)
}

/// Claims and fires everything due at the clock's `now` from the Redis index, then sweeps
/// PostgreSQL for steps overdue by more than [`SWEEP_GRACE`] that the index missed (a stale
/// entry, a lost write, Redis down); returns how many steps fired. If Redis is unavailable the
/// sweep still runs, so steps keep firing from PostgreSQL alone.
pub async fn run_pending_work(state: &AppState) -> Result<usize, WorkerError> {
    let from_index = match drain_index(state).await {
        Ok(n) => n,
        // While the breaker is open this is every round: the breaker's own lines tell the story.
        Err(WorkerError::Redis(RedisStoreError::CircuitOpen)) => 0,
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
    sweep(state, SWEEP_GRACE, None).await
}

/// Fires every pending step of one agency's contacts due by the clock's `now`, in due order:
/// a sandbox agency's, on its test clock (the caller runs this within the agency's
/// [`crate::clock::with_offset`]), so moving the clock fires what the time passing would have.
pub async fn fire_due_for_agency(state: &AppState, agency: crate::id::AgencyId) -> Result<usize, WorkerError> {
    sweep(state, TimeDelta::zero(), Some(agency)).await
}

/// Fires the steps pending in PostgreSQL and due more than `grace` ago (of one agency's
/// contacts, or all), round after round until none is left.
async fn sweep(state: &AppState, grace: TimeDelta, agency: Option<crate::id::AgencyId>) -> Result<usize, WorkerError> {
    let mut fired = 0;
    loop {
        let now = state.clock.now();
        let limit = i64::try_from(CLAIM_BATCH).unwrap_or(1000);
        let overdue = repo::overdue_steps(&state.db, now - grace, limit, agency).await?;
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
    let mut reseeded = false;
    loop {
        let now = state.clock.now();
        let claimed = match timer::claim(&state.redis, now, CLAIM_BATCH, LEASE).await? {
            Claim::Steps(claimed) => claimed,
            // Redis lost data (or a write): rebuild the index now rather than at the next
            // periodic re-seed, then claim again. Once per round, and once per gap across the
            // replicas; otherwise (or if another replica holds the re-seed lock) the sweep
            // covers this round.
            Claim::IndexLost if !reseeded => {
                reseeded = true;
                if timer::take_reseed_turn(&state.redis).await? {
                    // Counted as the periodic re-seed's are: at start-up this one often runs
                    // first, and the periodic one then finds the lock taken.
                    let started = std::time::Instant::now();
                    match timer::reseed_if_free(&state.db, &state.redis).await {
                        Ok(steps) => {
                            tracing::info!(steps = ?steps, "the ladder index was lost; re-seeded it (None: another replica is)");
                            if steps.is_some() {
                                state.metrics.reseed(true, started.elapsed().as_secs_f64());
                            }
                        }
                        Err(err) => {
                            tracing::warn!(error = %err, "the ladder index was lost and could not be re-seeded");
                            state.metrics.reseed(false, started.elapsed().as_secs_f64());
                        }
                    }
                }
                continue;
            }
            Claim::IndexLost => return Ok(fired),
        };
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
