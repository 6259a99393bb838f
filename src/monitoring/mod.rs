//! The hub's state now, for monitoring: reads PostgreSQL into the gauges of
//! [`crate::metrics`] (open contacts, budget bands, the breach forecast, the oldest unclaimed
//! contact, overdue and failing ladder steps, the webhook backlog) and serves `/metrics`.
//!
//! The numbers are hub-wide and come from the system of record, so every replica reports the
//! same values (dashboards aggregate them with `max`). They are read at most once per
//! `metrics.cache_seconds` while somebody scrapes, in the background (stale while
//! revalidating, [`crate::cache`]), so monitoring costs a few grouped counts every few seconds
//! whatever the traffic, and a scrape never waits for them.

mod repo;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::{
    clocks::worker,
    metrics::{Series, Snapshot},
    policy::Policy,
    state::AppState,
};

/// A pending step this late has been missed by the index and the sweep alike: the ladder is
/// behind (the sweep itself fires anything more than a few seconds overdue).
pub const OVERDUE_AFTER: TimeDelta = TimeDelta::seconds(60);

/// Band names of `mash_open_contacts_by_budget_band`.
const BANDS: [&str; 4] = ["under_50", "50_to_75", "75_to_100", "breached"];
/// Horizons of `mash_breach_forecast_contacts`.
const HORIZONS: [&str; 3] = ["next_working_hour", "end_of_working_day", "end_of_next_working_day"];
/// The open states of a contact.
const OPEN_STATES: [&str; 2] = ["awaiting_screening", "in_screening"];

/// The Prometheus text for a scrape: the gauges as last read (see [`crate::cache`]: a scrape
/// never waits on the aggregates once they have been read once; a failed read keeps the last
/// values and is logged).
pub async fn scrape(state: &Arc<AppState>) -> String {
    let st = state.clone();
    match state.caches.of::<Snapshot>().get(move || async move { read(&st).await }).await {
        Ok(snapshot) => state.metrics.set_snapshot(snapshot),
        Err(err) => tracing::warn!(error = %err, "could not read the monitoring gauges"),
    }
    state.metrics.render()
}

fn seconds(delta: TimeDelta) -> f64 {
    #[allow(clippy::cast_precision_loss)] // milliseconds of an age fit an f64 exactly
    let ms = delta.num_milliseconds().max(0) as f64;
    ms / 1000.0
}

#[allow(clippy::cast_precision_loss)] // counts of contacts fit an f64 exactly
fn count(n: i64) -> f64 {
    n as f64
}

/// Every gauge, read now.
async fn read(state: &AppState) -> Result<Snapshot, crate::db::StoreError> {
    let (db, policy) = (&state.db, &*state.policy);
    let now = state.clock.now();
    let calendar = &policy.clocks.calendar;
    let (end_of_working_day, end_of_next_working_day) = calendar.next_closes(now);
    let horizons = repo::Horizons {
        now,
        next_working_hour: calendar.add_working(now, TimeDelta::hours(1)),
        end_of_working_day,
        end_of_next_working_day,
    };
    let open = repo::open_contacts(db).await?;
    let bands = repo::budget_bands(db, horizons).await?;
    let oldest = repo::oldest_unclaimed(db).await?;
    let overdue = repo::steps_due_before(db, now - OVERDUE_AFTER).await?;
    let failing = worker::failing_steps(state).await?;
    let (pending, oldest_pending) = repo::pending_deliveries(db).await?;
    let redis_up = state.redis.ping().await.is_ok();

    let mut snapshot = Snapshot::default();
    let mut put = |name: &'static str, series: Vec<Series>| {
        snapshot.series.insert(name, series);
    };
    put("mash_open_contacts", open_series(policy, &open));
    let (bands, forecast) = band_and_forecast_series(policy, &bands);
    put("mash_open_contacts_by_budget_band", bands);
    put("mash_breach_forecast_contacts", forecast);
    put("mash_oldest_unclaimed_contact_age_seconds", oldest_series(policy, &oldest, now));
    put("mash_ladder_overdue_steps", vec![Series::new(&[], count(overdue))]);
    put("mash_ladder_failing_steps", vec![Series::new(&[], count(failing))]);
    put("mash_webhook_pending_deliveries", vec![Series::new(&[], count(pending))]);
    put(
        "mash_webhook_oldest_pending_age_seconds",
        vec![Series::new(&[], oldest_pending.map_or(0.0, |at| seconds(now - at)))],
    );
    put("mash_redis_up", vec![Series::new(&[], if redis_up { 1.0 } else { 0.0 })]);
    Ok(snapshot)
}

// Every queue, level and state of the policy appears, at zero when empty, so panels and sums
// never miss a series; a contact rated under an older policy adds its own.

fn open_series(policy: &Policy, open: &[(String, String, String, bool, i64)]) -> Vec<Series> {
    let mut series = Vec::new();
    for queue in &policy.queues {
        for urgency in &policy.levels {
            for status in OPEN_STATES {
                for escalated in [false, true] {
                    let n = open
                        .iter()
                        .filter(|(q, u, s, e, _)| q == queue && u == urgency && s == status && *e == escalated)
                        .map(|r| r.4)
                        .sum();
                    let escalated = escalated.to_string();
                    series.push(Series::new(
                        &[("queue", queue), ("urgency", urgency), ("state", status), ("escalated", &escalated)],
                        count(n),
                    ));
                }
            }
        }
    }
    for (q, u, s, e, n) in open {
        if !policy.queues.contains(q) || !policy.levels.contains(u) {
            let escalated = e.to_string();
            series
                .push(Series::new(&[("queue", q), ("urgency", u), ("state", s), ("escalated", &escalated)], count(*n)));
        }
    }
    series
}

fn band_and_forecast_series(policy: &Policy, rows: &[repo::BudgetRow]) -> (Vec<Series>, Vec<Series>) {
    let (mut bands, mut forecast) = (Vec::new(), Vec::new());
    let mut pairs: Vec<(String, String)> =
        policy.queues.iter().flat_map(|q| policy.levels.iter().map(move |u| (q.clone(), u.clone()))).collect();
    for row in rows {
        if !pairs.iter().any(|(q, u)| *q == row.queue && *u == row.urgency) {
            pairs.push((row.queue.clone(), row.urgency.clone()));
        }
    }
    for (queue, urgency) in &pairs {
        let mine: Vec<&repo::BudgetRow> = rows.iter().filter(|r| r.queue == *queue && r.urgency == *urgency).collect();
        let sum = |f: fn(&repo::BudgetRow) -> i64| count(mine.iter().map(|r| f(r)).sum());
        let by_band = [sum(|r| r.under_50), sum(|r| r.from_50_to_75), sum(|r| r.from_75_to_100), sum(|r| r.breached)];
        for (band, n) in BANDS.iter().zip(by_band) {
            bands.push(Series::new(&[("queue", queue), ("urgency", urgency), ("band", band)], n));
        }
        for status in OPEN_STATES {
            let row = mine.iter().find(|r| r.status == status);
            let by_horizon = row
                .map_or([0, 0, 0], |r| [r.by_next_working_hour, r.by_end_of_working_day, r.by_end_of_next_working_day]);
            for (horizon, n) in HORIZONS.iter().zip(by_horizon) {
                forecast.push(Series::new(
                    &[("queue", queue), ("urgency", urgency), ("state", status), ("horizon", horizon)],
                    count(n),
                ));
            }
        }
    }
    (bands, forecast)
}

fn oldest_series(policy: &Policy, oldest: &[(String, DateTime<Utc>)], now: DateTime<Utc>) -> Vec<Series> {
    let mut series: Vec<Series> = policy
        .queues
        .iter()
        .map(|queue| {
            let age = oldest.iter().find(|(q, _)| q == queue).map_or(0.0, |(_, at)| seconds(now - *at));
            Series::new(&[("queue", queue)], age)
        })
        .collect();
    for (q, at) in oldest {
        if !policy.queues.contains(q) {
            series.push(Series::new(&[("queue", q)], seconds(now - *at)));
        }
    }
    series
}
