//! Re-seed benchmark (issue 14): a million open clocks, three million pending ladder steps in
//! PostgreSQL, and an empty Redis index; times `clocks::timer::reseed_if_free` (what a worker
//! runs at start-up and every minute), checks every step is indexed, and meanwhile submits
//! contacts' worth of writes to show the re-seed blocks neither intake nor firing. Reports steps
//! per second and the process's peak RSS (`VmHWM`) before and after.
//!
//! Needs PostgreSQL and Redis (`make bench` provides them); uses its own database
//! `mash_bench_reseed` (dropped and re-created) and Redis prefix `mash-bench-reseed:`.
//! `cargo bench --bench reseed` (default 1,000,000 clocks), or `RESEED_CLOCKS=100000 cargo
//! bench --bench reseed`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark fails by panicking")]
#![allow(clippy::too_many_lines, reason = "one linear script: seed, run, measure, clean up")]

use std::{sync::Arc, time::Instant};

use figment::{
    Figment,
    providers::{Format, Serialized, Toml},
};
use mash_triage::{
    clock::{Clock, SystemClock},
    clocks::timer,
    config::{DEFAULT_CONFIG, Settings},
    db,
    state::AppState,
};
use sqlx::{Connection, PgConnection};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The process's peak resident set so far, in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a listing; this is not a test.
    }
    let admin = env_or("MASH_TEST_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres");
    let redis_url = env_or("MASH_TEST_REDIS_URL", "redis://127.0.0.1:6379");
    let clocks: i64 = env_or("RESEED_CLOCKS", "1000000").parse().unwrap();

    let mut conn = PgConnection::connect(&admin).await.unwrap();
    sqlx::raw_sql("drop database if exists mash_bench_reseed with (force)").execute(&mut conn).await.unwrap();
    sqlx::raw_sql("create database mash_bench_reseed").execute(&mut conn).await.unwrap();
    let db_url = format!("{}/mash_bench_reseed", admin.rsplit_once('/').unwrap().0);
    let settings = Settings::from_figment(
        &Figment::new()
            .merge(Toml::string(DEFAULT_CONFIG))
            .merge(Serialized::global("database.url", &db_url))
            .merge(Serialized::global("database.max_connections", 8))
            .merge(Serialized::global("redis.url", &redis_url))
            .merge(Serialized::global("redis.key_prefix", "mash-bench-reseed:"))
            .merge(Serialized::global("redis.timeout_ms", 10_000)),
    )
    .unwrap();
    let pool = db::connect(&settings.database).await.unwrap();
    db::MIGRATOR.run(&pool).await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let state = AppState::new(settings, clock).unwrap();
    let key = state.redis.key("ladder:due");
    let mut redis = state.redis.connection().await.unwrap();
    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut redis).await.unwrap();

    // A million open clocks on a million contacts, each with three pending steps (reminder,
    // escalate, breach) due over the coming weeks.
    let started = Instant::now();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "insert into agencies (id, name, kind, created_at, contact_source) values ('00000000-0000-7000-8000-000000000001', 'Bench', 'police', now(), '6');
         insert into contacts (id, agency_id, agency_reference, request_hash, received_at, submission, urgency, queue)
           select ('00000000-0000-7000-9000-' || lpad(to_hex(i), 12, '0'))::uuid,
                  '00000000-0000-7000-8000-000000000001', 'B-' || i, '\\x00', now(), '{{}}', 'green', 'screening'
             from generate_series(1, {clocks}) i;
         insert into clocks (id, contact_id, kind, level, budget, started_at, deadline, policy_version)
           select id, id, 'decision', 'green', '3 working days', now(), now() + interval '21 days', 'bench' from contacts;
         insert into ladder_steps (clock_id, step, due_at, status)
           select c.id, s.step, now() + (s.n * interval '1 day') + (random() * interval '14 days'), 'pending'
             from clocks c cross join (values ('reminder', 1), ('escalate', 2), ('breach', 3)) as s(step, n);"
    )))
    .execute(&pool)
    .await
    .unwrap();
    // As a database in service is: vacuumed (hint bits set, visibility map current), so the
    // first read of the steps is not also their first write.
    for table in ["ladder_steps", "clocks", "contacts"] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("vacuum analyze {table}"))).execute(&pool).await.unwrap();
    }
    let steps: i64 = sqlx::query_scalar("select count(*) from ladder_steps where status = 'pending'")
        .fetch_one(&pool)
        .await
        .unwrap();
    println!("seeded {clocks} clocks, {steps} pending steps in PostgreSQL in {:.0} s", started.elapsed().as_secs_f64());
    let rss_before = peak_rss_mib();

    // Meanwhile, writes like intake's keep going: each a short transaction on the same tables.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (pool, stop) = (pool.clone(), stop.clone());
        tokio::spawn(async move {
            let mut worst = std::time::Duration::ZERO;
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let done = sqlx::query(
                    "update ladder_steps set due_at = due_at where clock_id = (select id from clocks order by random() limit 1) and step = 'reminder'",
                )
                .execute(&pool)
                .await;
                if done.is_err() {
                    break;
                }
                worst = worst.max(t.elapsed());
                n += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            (n, worst)
        })
    };

    let started = Instant::now();
    let indexed = timer::reseed_if_free(&state.db, &state.redis).await.unwrap().expect("the re-seed lock is free");
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (updates, worst) = writer.await.unwrap();
    let card: i64 = redis::cmd("ZCARD").arg(&key).query_async(&mut redis).await.unwrap();
    assert_eq!(i64::try_from(indexed).unwrap(), steps, "every pending step read");
    assert_eq!(card, steps, "every pending step indexed");
    #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
    let rate = steps as f64 / seconds;
    println!(
        "re-seeded {steps} steps in {seconds:.1} s: {rate:.0} steps/s; peak RSS {rss_before:.0} MiB before, {:.0} MiB after",
        peak_rss_mib()
    );

    // The periodic re-seed finds the index full: every ZADD LT meets its member already there.
    let started = Instant::now();
    let again = timer::reseed_if_free(&state.db, &state.redis).await.unwrap().expect("the re-seed lock is free");
    let full_seconds = started.elapsed().as_secs_f64();
    #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
    let full_rate = again as f64 / full_seconds;
    println!("re-seeded again into the full index in {full_seconds:.1} s: {full_rate:.0} steps/s");
    println!(
        "meanwhile {updates} step updates (a write like a re-rating's, every 50 ms) went on; the slowest took {:.1} ms",
        worst.as_secs_f64() * 1000.0
    );

    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut redis).await.unwrap();
    let _: () = redis::cmd("DEL").arg(state.redis.key("ladder:seeded")).query_async(&mut redis).await.unwrap();
    pool.close().await;
    state.db.close().await;
    sqlx::raw_sql("drop database if exists mash_bench_reseed with (force)").execute(&mut conn).await.unwrap();
}
