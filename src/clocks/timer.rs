//! The Redis index of pending ladder steps: one sorted set, scored by due time, and a marker
//! that says the set is complete.
//!
//! # Keys
//! - `{prefix}ladder:due`: ZSET, member `"{clock_id}|{step}"`, score the due time in Unix
//!   milliseconds (for a step that failed to fire, its retry time).
//! - `{prefix}ladder:seeded`: a plain key that [`reseed`] sets before it writes the set. While it
//!   exists, the set holds every pending step (from the re-seed, or written since). Redis losing
//!   its data (a restart without persistence, a flush, a failover to an empty replica) loses the
//!   marker too, and an index write that was skipped or failed deletes it once Redis answers
//!   again; either way the next claim sees it missing and the worker re-seeds at once.
//! - `{prefix}ladder:reseed-turn`: set for [`IMMEDIATE_RESEED_GAP`] by a worker starting such an
//!   immediate re-seed, so that a Redis that keeps losing writes (slow, flapping) costs at most
//!   one re-seed per gap across all replicas, not one per lost write.
//!
//! # Claiming
//! A worker claims due members with one Lua script that checks the marker, reads the members due
//! by `now` and, in the same atomic step, pushes their scores to `now + lease`. Another worker
//! therefore cannot claim them while the lease runs; a worker that dies mid-step simply lets the
//! lease expire and the member comes due again. Claiming is only a hint: the step fires in
//! PostgreSQL by moving `ladder_steps.status` from `pending` to `fired`, which can happen once, so
//! a repeat claim (expired lease, two workers, a re-seeded Redis) is a no-op.
//!
//! # Losing Redis
//! Nothing in Redis is the truth. [`reseed`] puts every pending step from PostgreSQL back (`ZADD
//! LT`: missing entries are added and stale later ones pulled down); workers run it at start-up,
//! every minute, and at once when the marker is missing. They also sweep PostgreSQL for overdue
//! steps, so a step fires even if the index is wrong or Redis is down. Index writes after a
//! commit are bounded by `redis.request_timeout_ms` and skipped while Redis's breaker is open
//! ([`crate::redis_store`]), so a failing Redis never holds a partner's request.

use chrono::{DateTime, TimeDelta, Utc};

use super::{repo, service::ScheduledStep};
use crate::{
    id::ClockId,
    redis_store::{RedisStore, RedisStoreError, Wait},
};

const DUE_KEY: &str = "ladder:due";
const SEEDED_KEY: &str = "ladder:seeded";
const RESEED_TURN_KEY: &str = "ladder:reseed-turn";

/// The least time between two immediate re-seeds (the periodic one runs regardless). Meanwhile
/// the PostgreSQL sweep fires what the index lacks, at most a few seconds late.
pub const IMMEDIATE_RESEED_GAP: std::time::Duration = std::time::Duration::from_secs(10);

/// Atomically claims up to ARGV[2] members due by ARGV[1] (ms), leasing them until ARGV[3];
/// returns nil (Lua `false`) without claiming when the marker KEYS[2] is missing.
const CLAIM_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[2]) == 0 then
  return false
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[3], member)
end
return due
";

fn member(clock_id: ClockId, step: &str) -> String {
    format!("{clock_id}|{step}")
}

fn parse_member(member: &str) -> Option<(ClockId, String)> {
    let (clock, step) = member.split_once('|')?;
    Some((ClockId(clock.parse().ok()?), step.to_owned()))
}

/// Indexes pending steps (and drops those with no due time), within a request's bound. When an
/// earlier write was lost, the same round trip deletes the "seeded" marker, so the next worker
/// round re-seeds the steps that write would have indexed.
pub async fn schedule(redis: &RedisStore, steps: &[ScheduledStep]) -> Result<(), RedisStoreError> {
    let lost = redis.take_writes_lost();
    if steps.is_empty() && !lost {
        return Ok(());
    }
    let key = redis.key(DUE_KEY);
    let mut pipe = redis::pipe();
    if lost {
        pipe.del(redis.key(SEEDED_KEY)).ignore();
    }
    for s in steps {
        let m = member(s.clock_id, &s.step);
        match s.due_at {
            Some(due) => pipe.zadd(&key, m, due.timestamp_millis()).ignore(),
            None => pipe.zrem(&key, m).ignore(),
        };
    }
    let result = redis.run(Wait::Request, |mut conn| async move { pipe.query_async::<()>(&mut conn).await }).await;
    if result.is_err() {
        redis.note_writes_lost();
    }
    result
}

/// Indexes steps after their transaction committed. A failure is not returned: the change is
/// safe in PostgreSQL, and the lost write leads to a re-seed (see [`schedule`]). The breaker
/// logs Redis failing; a write it refused is only counted.
pub async fn schedule_or_log(redis: &RedisStore, steps: &[ScheduledStep]) {
    match schedule(redis, steps).await {
        Ok(()) | Err(RedisStoreError::CircuitOpen) => {}
        Err(err) => {
            tracing::debug!(error = %err, steps = steps.len(), "could not index ladder steps; the re-seed will");
        }
    }
}

/// What a claim found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The steps now leased to the caller (none: nothing is due).
    Steps(Vec<(ClockId, String)>),
    /// The "seeded" marker is missing: the index may lack steps and must be re-seeded first.
    IndexLost,
}

/// Claims up to `limit` steps due by `now`, leased for `lease`.
pub async fn claim(
    redis: &RedisStore,
    now: DateTime<Utc>,
    limit: usize,
    lease: TimeDelta,
) -> Result<Claim, RedisStoreError> {
    let script = redis::Script::new(CLAIM_SCRIPT);
    let mut invocation = script.key(redis.key(DUE_KEY));
    invocation.key(redis.key(SEEDED_KEY)).arg(now.timestamp_millis()).arg(limit).arg((now + lease).timestamp_millis());
    let members: Option<Vec<String>> =
        redis.run(Wait::Background, |mut conn| async move { invocation.invoke_async(&mut conn).await }).await?;
    Ok(members
        .map_or(Claim::IndexLost, |members| Claim::Steps(members.iter().filter_map(|m| parse_member(m)).collect())))
}

/// Whether this worker may re-seed now for a lost index: true for the first asker in each
/// [`IMMEDIATE_RESEED_GAP`] (Redis's own expiry keeps the time, so all replicas share it).
pub async fn take_reseed_turn(redis: &RedisStore) -> Result<bool, RedisStoreError> {
    let mut cmd = redis::cmd("SET");
    cmd.arg(redis.key(RESEED_TURN_KEY)).arg(1).arg("NX").arg("PX").arg(IMMEDIATE_RESEED_GAP.as_millis().to_string());
    let set: Option<String> =
        redis.run(Wait::Background, |mut conn| async move { cmd.query_async(&mut conn).await }).await?;
    Ok(set.is_some())
}

/// Removes a step from the index.
pub async fn remove(redis: &RedisStore, clock_id: ClockId, step: &str) -> Result<(), RedisStoreError> {
    let mut cmd = redis::cmd("ZREM");
    cmd.arg(redis.key(DUE_KEY)).arg(member(clock_id, step));
    redis.run(Wait::Background, |mut conn| async move { cmd.query_async::<()>(&mut conn).await }).await
}

/// The earliest due time in the index.
pub async fn next_due(redis: &RedisStore) -> Result<Option<DateTime<Utc>>, RedisStoreError> {
    let mut cmd = redis::cmd("ZRANGE");
    cmd.arg(redis.key(DUE_KEY)).arg(0).arg(0).arg("WITHSCORES");
    let first: Vec<(String, i64)> =
        redis.run(Wait::Background, |mut conn| async move { cmd.query_async(&mut conn).await }).await?;
    Ok(first.first().and_then(|(_, ms)| DateTime::from_timestamp_millis(*ms)))
}

/// How many members the index holds.
pub async fn len(redis: &RedisStore) -> Result<usize, RedisStoreError> {
    let mut cmd = redis::cmd("ZCARD");
    cmd.arg(redis.key(DUE_KEY));
    redis.run(Wait::Background, |mut conn| async move { cmd.query_async(&mut conn).await }).await
}

/// A failure of re-seeding.
#[derive(Debug, thiserror::Error)]
pub enum ReseedError {
    #[error(transparent)]
    Redis(#[from] RedisStoreError),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// Re-seeds unless another replica is doing so right now (then `Ok(None)`): with many replicas,
/// the periodic re-seed runs once per period, not once per replica.
///
/// The lock is transaction-scoped, so nothing can leave it behind: commit, rollback, an error, a
/// cancelled future (its transaction is rolled back before the connection is used again) or a
/// dead connection all release it. A session lock on a pooled connection would outlive a failed
/// unlock and stop every replica re-seeding until that connection closed. Holding a transaction
/// for the whole re-seed is cheap: taking an advisory lock and reading assign no transaction id,
/// so it holds back neither the events feed (`pg_snapshot_xmin`) nor vacuum.
pub async fn reseed_if_free(db: &sqlx::PgPool, redis: &RedisStore) -> Result<Option<usize>, ReseedError> {
    let mut tx = db.begin().await?;
    if !repo::try_reseed_lock(&mut tx).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    let result = reseed(&mut tx, redis).await;
    // Commit or roll back, the lock goes with the transaction (nothing was written).
    tx.rollback().await?;
    result.map(Some)
}

/// Puts every pending step from PostgreSQL in the index (`ZADD LT`: adds missing ones and pulls
/// down any entry later than the truth, e.g. from two re-ratings whose writes landed out of
/// order); returns how many. Pulling down a live lease only risks a no-op repeat claim.
///
/// Streamed: pages of [`RESEED_PAGE`] steps by key, each a short statement (so no snapshot is
/// held for the whole walk), and each page written to Redis as `ZADD`s of
/// [`RESEED_MEMBERS_PER_ZADD`] members in one pipeline while the next page is read, so
/// PostgreSQL and Redis work at the same time and memory holds at most two pages.
///
/// The "seeded" marker is set first, so Redis losing its data at any moment after (even midway)
/// also loses the marker and is noticed. A re-seed that fails midway leaves the marker set; the
/// periodic re-seed, retried within seconds after a failure, covers that.
pub async fn reseed(conn: &mut sqlx::PgConnection, redis: &RedisStore) -> Result<usize, ReseedError> {
    let key = redis.key(DUE_KEY);
    let mut set = redis::cmd("SET");
    set.arg(redis.key(SEEDED_KEY)).arg(1);
    redis.run(Wait::Background, |mut conn| async move { set.query_async::<()>(&mut conn).await }).await?;
    let mut page = repo::pending_steps(&mut *conn, None, RESEED_PAGE).await?;
    let mut total = 0;
    while !page.is_empty() {
        let after = page.last().map(|(c, s, _)| (*c, s.clone()));
        let pipe = zadd_pipeline(&key, &page);
        let write = redis.run(Wait::Background, |mut conn| async move { pipe.query_async::<()>(&mut conn).await });
        let read = repo::pending_steps(&mut *conn, after, RESEED_PAGE);
        let (written, next) = tokio::join!(write, read);
        written?;
        total += page.len();
        page = next?;
    }
    Ok(total)
}

/// Steps read from PostgreSQL per page of a re-seed.
const RESEED_PAGE: i64 = 20_000;
/// Members per `ZADD` command of a re-seed.
const RESEED_MEMBERS_PER_ZADD: usize = 1_000;

/// `ZADD <key> LT <due> <member> ...` for the page, [`RESEED_MEMBERS_PER_ZADD`] members a command,
/// in one pipeline.
fn zadd_pipeline(key: &str, page: &[(ClockId, String, DateTime<Utc>)]) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    for chunk in page.chunks(RESEED_MEMBERS_PER_ZADD) {
        let cmd = pipe.cmd("ZADD").arg(key).arg("LT");
        for (clock_id, step, due) in chunk {
            cmd.arg(due.timestamp_millis()).arg(member(*clock_id, step));
        }
        cmd.ignore();
    }
    pipe
}
