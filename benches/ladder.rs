//! Ladder benchmark: pending steps in the Redis index, many of them due in the same second, and
//! N workers (each its own state: pools, Redis connection and the real background loops of
//! `app::background_tasks`, with the real clock), for each N in `LADDER_WORKERS`. Reports how
//! late each step fired (median, p99, max), the steps per second completed, and per worker; at
//! the end, a table of the runs.
//!
//! Needs PostgreSQL and Redis (`make bench` provides them); uses its own database
//! `mash_bench_ladder` (dropped and re-created for each run) and Redis prefix `mash-bench:`.
//! `cargo bench --bench ladder` (defaults: 1,000,000 indexed, 10,000 due, one worker), or issue
//! 14's scale-out: `LADDER_INDEXED=3000000 LADDER_DUE=100000 LADDER_WORKERS=1,2,4 cargo bench
//! --bench ladder`. The workers share this process's runtime and the machine's cores with
//! PostgreSQL and Redis, as worker processes on one host would. `load-tests/ladder-ceiling.sh`
//! measures what the database alone does with the workers' statements on the same machine: the
//! reference these figures are read against.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark fails by panicking")]
#![allow(clippy::too_many_lines, reason = "one linear script: seed, run, measure, clean up")]

use std::{sync::Arc, time::Instant};

use chrono::{TimeDelta, Utc};
use figment::{
    Figment,
    providers::{Format, Serialized, Toml},
};
use mash_triage::{
    clock::{Clock, SystemClock},
    config::{DEFAULT_CONFIG, Settings},
    db,
    state::AppState,
};
use sqlx::{Connection, PgConnection};
use tokio_util::sync::CancellationToken;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// One run's figures.
struct Run {
    workers: usize,
    fired: i64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    per_second: f64,
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a listing; this is not a test.
    }
    let indexed: usize = env_or("LADDER_INDEXED", "1000000").parse().unwrap();
    let due: i64 = env_or("LADDER_DUE", "10000").parse().unwrap();
    let counts: Vec<usize> = env_or("LADDER_WORKERS", "1").split(',').map(|n| n.trim().parse().unwrap()).collect();
    let mut runs = Vec::new();
    for workers in counts {
        runs.push(run(indexed, due, workers).await);
    }
    println!("\n{indexed} indexed, {due} due in the same second:\n");
    println!("| workers | fired | lateness p50 | p99 | max | steps/s | per worker |");
    println!("|---|---|---|---|---|---|---|");
    for r in &runs {
        #[expect(clippy::cast_precision_loss, reason = "a handful of workers")]
        let per_worker = r.per_second / r.workers as f64;
        println!(
            "| {} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} | {per_worker:.0} |",
            r.workers, r.fired, r.p50_ms, r.p99_ms, r.max_ms, r.per_second
        );
    }
}

async fn run(indexed: usize, due: i64, workers: usize) -> Run {
    let admin = env_or("MASH_TEST_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres");
    let redis_url = env_or("MASH_TEST_REDIS_URL", "redis://127.0.0.1:6379");

    let mut conn = PgConnection::connect(&admin).await.unwrap();
    sqlx::raw_sql("drop database if exists mash_bench_ladder with (force)").execute(&mut conn).await.unwrap();
    sqlx::raw_sql("create database mash_bench_ladder").execute(&mut conn).await.unwrap();
    let db_url = format!("{}/mash_bench_ladder", admin.rsplit_once('/').unwrap().0);
    let settings = Settings::from_figment(
        &Figment::new()
            .merge(Toml::string(DEFAULT_CONFIG))
            .merge(Serialized::global("database.url", &db_url))
            .merge(Serialized::global("database.max_connections", 16))
            .merge(Serialized::global("redis.url", &redis_url))
            .merge(Serialized::global("redis.key_prefix", "mash-bench:")),
    )
    .unwrap();
    let pool = db::connect(&settings.database).await.unwrap();
    db::MIGRATOR.run(&pool).await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let state = AppState::new(settings, clock.clone()).unwrap();
    let key = state.redis.key("ladder:due");
    let mut redis = state.redis.connection().await.unwrap();
    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut redis).await.unwrap();

    // The due steps: real contacts, clocks and pending steps in PostgreSQL, all due at `due_at`.
    let started = Instant::now();
    // Far enough ahead that seeding (about 4 s a million index entries here) is done first.
    let lead = 5 + i64::try_from(indexed / 200_000).unwrap();
    let due_at = Utc::now() + TimeDelta::seconds(lead);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "insert into agencies (id, name, kind, created_at, contact_source) values ('00000000-0000-7000-8000-000000000001', 'Bench', 'police', now(), '6');
         insert into contacts (id, agency_id, agency_reference, request_hash, received_at, submission, urgency, queue)
           select uuid_generate_v7_bench(i), '00000000-0000-7000-8000-000000000001', 'B-' || i, '\\x00', now(), '{{}}', 'amber', 'screening'
             from generate_series(1, {due}) i;",
    ).replace("uuid_generate_v7_bench(i)", "('00000000-0000-7000-9000-' || lpad(to_hex(i), 12, '0'))::uuid")))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into clocks (id, contact_id, kind, level, budget, started_at, deadline, policy_version)
           select id, id, 'decision', 'amber', '1 working days', now(), $1, 'bench' from contacts;
         ",
    )
    .bind(due_at)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into ladder_steps (clock_id, step, due_at, status) select id, 'reminder', $1, 'pending' from clocks",
    )
    .bind(due_at)
    .execute(&pool)
    .await
    .unwrap();
    // Statistics, as a database that has held such rows for a while has them. (Planned against a
    // nearly empty audit table, the chain's head lookup used to scan the whole table for every row,
    // and firing fell to about 1,000 steps/s: migration 20261204000003.)
    sqlx::raw_sql("analyze").execute(&pool).await.unwrap();
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar("select id from clocks").fetch_all(&pool).await.unwrap();

    // The index: the due steps plus fillers due over the next days, 1,000,000 in all.
    let due_ms = due_at.timestamp_millis();
    for chunk in ids.chunks(10_000) {
        let mut pipe = redis::pipe();
        for id in chunk {
            pipe.zadd(&key, format!("{id}|reminder"), due_ms).ignore();
        }
        let _: () = pipe.query_async(&mut redis).await.unwrap();
    }
    let fillers = indexed.saturating_sub(ids.len());
    for start in (0..fillers).step_by(10_000) {
        let mut pipe = redis::pipe();
        for i in start..(start + 10_000).min(fillers) {
            let score = due_ms + 3_600_000 + i64::try_from(i).unwrap() * 100;
            pipe.zadd(&key, format!("00000000-0000-7000-a000-{i:012x}|reminder"), score).ignore();
        }
        let _: () = pipe.query_async(&mut redis).await.unwrap();
    }
    let card: usize = redis::cmd("ZCARD").arg(&key).query_async(&mut redis).await.unwrap();
    assert!(Utc::now() < due_at, "seeding took longer than the lead: the steps were already late");
    println!("seeded {card} indexed steps ({due} due at {due_at}) in {:.1} s", started.elapsed().as_secs_f64());

    // The workers: each the run root's background loops over a state of its own.
    let shutdown = CancellationToken::new();
    let mut supervisors = Vec::new();
    for _ in 0..workers {
        let worker_state = AppState::new((*state.settings).clone(), clock.clone()).unwrap();
        let mut tasks = mash_triage::app::Tasks::new(shutdown.clone());
        for (name, task) in mash_triage::app::background_tasks(&worker_state, &shutdown) {
            tasks.spawn(name, task);
        }
        supervisors.push(tokio::spawn(tasks.supervise()));
    }
    let deadline = Instant::now() + std::time::Duration::from_mins(5);
    loop {
        let fired: i64 = sqlx::query_scalar("select count(*) from ladder_steps where status = 'fired'")
            .fetch_one(&pool)
            .await
            .unwrap();
        if fired >= due || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    shutdown.cancel();
    for worker in supervisors {
        worker.await.unwrap().unwrap();
    }

    let (fired, p50, p99, max, first, last): (i64, f64, f64, f64, chrono::DateTime<Utc>, chrono::DateTime<Utc>) =
        sqlx::query_as(
            "select count(*),
                percentile_cont(0.5) within group (order by extract(epoch from fired_at - due_at)),
                percentile_cont(0.99) within group (order by extract(epoch from fired_at - due_at)),
                max(extract(epoch from fired_at - due_at))::float8,
                min(fired_at), max(fired_at)
           from ladder_steps where status = 'fired'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
    let span = (last - first).num_milliseconds().max(1);
    #[expect(clippy::cast_precision_loss, reason = "counts and milliseconds are small")]
    let per_second = fired as f64 * 1000.0 / span as f64;
    println!(
        "{workers} worker(s): fired {fired}/{due} steps; lateness p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; {per_second:.0} steps/s",
        p50 * 1000.0,
        p99 * 1000.0,
        max * 1000.0
    );
    let events: i64 = sqlx::query_scalar("select count(*) from events").fetch_one(&pool).await.unwrap();
    assert_eq!(events, fired, "one event per fired step");

    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut redis).await.unwrap();
    pool.close().await;
    state.db.close().await;
    sqlx::raw_sql("drop database if exists mash_bench_ladder with (force)").execute(&mut conn).await.unwrap();
    Run { workers, fired, p50_ms: p50 * 1000.0, p99_ms: p99 * 1000.0, max_ms: max * 1000.0, per_second }
}
