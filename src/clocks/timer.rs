//! The Redis index of pending ladder steps: one sorted set, scored by due time.
//!
//! # Keys
//! - `{prefix}ladder:due`: ZSET, member `"{clock_id}|{step}"`, score the due time in Unix
//!   milliseconds.
//!
//! # Claiming
//! A worker claims due members with one Lua script that reads the members due by `now` and, in
//! the same atomic step, pushes their scores to `now + lease`. Another worker therefore cannot
//! claim them while the lease runs; a worker that dies mid-step simply lets the lease expire and
//! the member comes due again. Claiming is only a hint: the step fires in PostgreSQL by moving
//! `ladder_steps.status` from `pending` to `fired`, which can happen once, so a repeat claim
//! (expired lease, two workers, a re-seeded Redis) is a no-op.
//!
//! # Losing Redis
//! Nothing in Redis is the truth. [`reseed`] puts every pending step from PostgreSQL back (`ZADD
//! LT`: missing entries are added and stale later ones pulled down); workers run it at start-up
//! and every minute, and also sweep PostgreSQL for overdue steps, so a step fires even if the
//! index is wrong or Redis is down.

use chrono::{DateTime, TimeDelta, Utc};

use super::{repo, service::ScheduledStep};
use crate::{
    id::ClockId,
    redis_store::{RedisStore, RedisStoreError},
};

const DUE_KEY: &str = "ladder:due";

/// Atomically claims up to ARGV[2] members due by ARGV[1] (ms), leasing them until ARGV[3].
const CLAIM_SCRIPT: &str = r"
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

/// Indexes pending steps (and drops those with no due time).
pub async fn schedule(redis: &RedisStore, steps: &[ScheduledStep]) -> Result<(), RedisStoreError> {
    if steps.is_empty() {
        return Ok(());
    }
    let key = redis.key(DUE_KEY);
    let mut pipe = redis::pipe();
    for s in steps {
        let m = member(s.clock_id, &s.step);
        match s.due_at {
            Some(due) => pipe.zadd(&key, m, due.timestamp_millis()).ignore(),
            None => pipe.zrem(&key, m).ignore(),
        };
    }
    let mut conn = redis.connection().await?;
    pipe.query_async::<()>(&mut conn).await.map_err(RedisStoreError::Unavailable)
}

/// Indexes steps after their transaction committed. A failure is logged, not returned: the
/// change is safe in PostgreSQL and the workers' periodic re-seed restores the index.
pub async fn schedule_or_log(redis: &RedisStore, steps: &[ScheduledStep]) {
    if let Err(err) = schedule(redis, steps).await {
        tracing::warn!(error = %err, steps = steps.len(), "could not index ladder steps; the re-seed will");
    }
}

/// Claims up to `limit` steps due by `now`, leased for `lease`.
pub async fn claim(
    redis: &RedisStore,
    now: DateTime<Utc>,
    limit: usize,
    lease: TimeDelta,
) -> Result<Vec<(ClockId, String)>, RedisStoreError> {
    let mut conn = redis.connection().await?;
    let members: Vec<String> = redis::Script::new(CLAIM_SCRIPT)
        .key(redis.key(DUE_KEY))
        .arg(now.timestamp_millis())
        .arg(limit)
        .arg((now + lease).timestamp_millis())
        .invoke_async(&mut conn)
        .await
        .map_err(RedisStoreError::Unavailable)?;
    Ok(members.iter().filter_map(|m| parse_member(m)).collect())
}

/// Removes a step from the index.
pub async fn remove(redis: &RedisStore, clock_id: ClockId, step: &str) -> Result<(), RedisStoreError> {
    let mut conn = redis.connection().await?;
    redis::cmd("ZREM")
        .arg(redis.key(DUE_KEY))
        .arg(member(clock_id, step))
        .query_async::<()>(&mut conn)
        .await
        .map_err(RedisStoreError::Unavailable)
}

/// The earliest due time in the index.
pub async fn next_due(redis: &RedisStore) -> Result<Option<DateTime<Utc>>, RedisStoreError> {
    let mut conn = redis.connection().await?;
    let first: Vec<(String, i64)> = redis::cmd("ZRANGE")
        .arg(redis.key(DUE_KEY))
        .arg(0)
        .arg(0)
        .arg("WITHSCORES")
        .query_async(&mut conn)
        .await
        .map_err(RedisStoreError::Unavailable)?;
    Ok(first.first().and_then(|(_, ms)| DateTime::from_timestamp_millis(*ms)))
}

/// How many members the index holds.
pub async fn len(redis: &RedisStore) -> Result<usize, RedisStoreError> {
    let mut conn = redis.connection().await?;
    redis::cmd("ZCARD").arg(redis.key(DUE_KEY)).query_async(&mut conn).await.map_err(RedisStoreError::Unavailable)
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
pub async fn reseed_if_free(db: &sqlx::PgPool, redis: &RedisStore) -> Result<Option<usize>, ReseedError> {
    let mut lock_conn = db.acquire().await?;
    if !repo::try_reseed_lock(&mut lock_conn).await? {
        return Ok(None);
    }
    let result = reseed(db, redis).await;
    repo::release_reseed_lock(&mut lock_conn).await?;
    result.map(Some)
}

/// Puts every pending step from PostgreSQL in the index (`ZADD LT`: adds missing ones and pulls
/// down any entry later than the truth, e.g. from two re-ratings whose writes landed out of
/// order); returns how many. Pulling down a live lease only risks a no-op repeat claim.
pub async fn reseed(db: &sqlx::PgPool, redis: &RedisStore) -> Result<usize, ReseedError> {
    const PAGE: i64 = 5000;
    let key = redis.key(DUE_KEY);
    let mut after = None;
    let mut total = 0;
    loop {
        let page = repo::pending_steps(db, after.clone(), PAGE).await?;
        if page.is_empty() {
            return Ok(total);
        }
        let mut pipe = redis::pipe();
        for (clock_id, step, due) in &page {
            pipe.cmd("ZADD").arg(&key).arg("LT").arg(due.timestamp_millis()).arg(member(*clock_id, step)).ignore();
        }
        let mut conn = redis.connection().await?;
        pipe.query_async::<()>(&mut conn).await.map_err(RedisStoreError::Unavailable)?;
        total += page.len();
        after = page.last().map(|(c, s, _)| (*c, s.clone()));
    }
}
