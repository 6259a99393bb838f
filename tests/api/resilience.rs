//! Store outages and shutdown: a contact is never lost or half-written, and a failing Redis
//! never holds a partner's request.

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use mash_triage::{db::StoreError, intake::IntakeError};
use serde_json::Value;
use sqlx::{Connection, PgConnection};

use crate::{
    fixtures::{amber_contact, example_contact, london, monday_10},
    helpers::{Overrides, admin_url, hung_redis, spawn_app, spawn_app_with, switchable_redis},
};

/// PostgreSQL down (or back) for one test database's clients: connections refused, and those open ended.
pub(crate) async fn set_accepting_connections(db_name: &str, allow: bool) {
    let mut admin = PgConnection::connect(&admin_url()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("alter database {db_name} allow_connections {allow}")))
        .execute(&mut admin)
        .await
        .unwrap();
    if !allow {
        sqlx::query(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
        )
        .bind(db_name)
        .execute(&mut admin)
        .await
        .unwrap();
    }
    admin.close().await.unwrap();
}

#[tokio::test]
async fn while_postgres_is_down_intake_answers_503_with_retry_after_and_writes_nothing() {
    let app = spawn_app().await;
    let body = example_contact(app.today(), "OUTAGE-1");

    let police = app.police();
    set_accepting_connections(&app.db_name, false).await;
    let resp = police.create_contact(&body).await;
    assert_eq!(resp.header("retry-after"), Some("5"));
    assert_eq!(resp.problem(503)["code"], "store_unavailable");
    police.create_contacts(std::slice::from_ref(&body)).await.problem(503);
    assert_eq!(app.anonymous().ready().await.status(), 503);
    set_accepting_connections(&app.db_name, true).await;

    assert_eq!(app.count("select count(*) from contacts").await, 0, "nothing was written during the outage");
    assert_eq!(app.count("select count(*) from audit_events where contact_id is not null").await, 0);
    // The partner's retry after the outage succeeds.
    assert_eq!(police.create_contact(&body).await.status(), 201);
}

/// Contacts arriving together are stored by writers that keep a connection between
/// transactions: one cut since (a failover, a restarted database) costs no contact.
#[tokio::test]
async fn contacts_sent_together_after_the_database_cut_every_connection_are_stored() {
    let app = spawn_app().await;
    let today = app.today();
    let police = &app.police();
    assert_eq!(police.create_contact(&amber_contact(today, "BEFORE-CUT")).await.status(), 201);
    let mut admin = PgConnection::connect(&admin_url()).await.unwrap();
    let cut: i64 = sqlx::query_scalar(
        "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity
          where datname = $1 and pid <> pg_backend_pid()) t",
    )
    .bind(&app.db_name)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(cut > 0, "the app's connections were cut");
    let requests = (0..12).map(|i| async move {
        let resp = police.create_contact(&amber_contact(today, &format!("AFTER-CUT-{i}"))).await;
        (resp.status(), resp.text())
    });
    for (status, text) in futures_util::future::join_all(requests).await {
        assert_eq!(status, 201, "{text}");
    }
    assert_eq!(app.count("select count(*) from contacts").await, 13);
}

/// An outage that starts after contacts have been stored together: every contact sent during it
/// is answered 503 with Retry-After (none waits in a queue for the store), nothing is written,
/// and intake takes contacts again as soon as the store is back.
#[tokio::test]
async fn an_outage_after_contacts_were_stored_together_answers_each_503_and_ends_with_it() {
    let app = spawn_app().await;
    let today = app.today();
    let police = &app.police();
    assert_eq!(police.create_contact(&amber_contact(today, "BEFORE-OUTAGE")).await.status(), 201);
    set_accepting_connections(&app.db_name, false).await;
    let requests = (0..20).map(|i| async move {
        let resp = police.create_contact(&amber_contact(today, &format!("DURING-OUTAGE-{i}"))).await;
        (resp.status(), resp.header("retry-after").map(str::to_owned))
    });
    for (status, retry_after) in futures_util::future::join_all(requests).await {
        assert_eq!((status, retry_after.as_deref()), (503, Some("5")));
    }
    set_accepting_connections(&app.db_name, true).await;
    assert_eq!(app.count("select count(*) from contacts").await, 1, "nothing was written during the outage");
    let after = (0..6)
        .map(|i| async move { police.create_contact(&amber_contact(today, &format!("AFTER-{i}"))).await.status() });
    assert_eq!(futures_util::future::join_all(after).await, [201; 6]);
}

/// The breaker that intake's group commit opens when it finds the store down closes for every
/// contact that arrives while its probe is under way: contacts sent together just as the store
/// comes back are stored, none refused by a breaker about to close. (Submitted to the writers
/// directly: over HTTP the key lookup, which reads the database once its cache stops, may answer
/// 503 first and keep the writers from ever finding the store down.)
#[tokio::test]
async fn contacts_sent_together_as_the_store_comes_back_are_all_stored() {
    let app = spawn_app().await;
    let today = app.today();
    let police = app.police_principal().await;
    let coalescer = app.coalescer();
    let contacts = |prefix: &str, n: usize| -> Vec<Value> {
        (0..n).map(|i| amber_contact(today, &format!("{prefix}-{i}"))).collect()
    };
    assert!(matches!(app.submit_together(&coalescer, &police, &contacts("BEFORE", 1)).await[..], [Ok(201)]));
    set_accepting_connections(&app.db_name, false).await;
    for outcome in app.submit_together(&coalescer, &police, &contacts("DURING", 10)).await {
        assert!(
            matches!(outcome, Err(IntakeError::Store(StoreError::Unavailable(_)))),
            "a 503 during the outage: {outcome:?}"
        );
    }
    set_accepting_connections(&app.db_name, true).await;
    // The first finds the breaker open (the writers found the store down) and probes; the
    // others arrive while it does.
    let after = app.submit_together(&coalescer, &police, &contacts("AFTER", 8)).await;
    assert!(after.iter().all(|outcome| matches!(outcome, Ok(201))), "{after:?}");
    assert_eq!(app.count("select count(*) from contacts").await, 1 + 8);
}

#[tokio::test]
async fn shutdown_drains_in_flight_requests() {
    let app = spawn_app().await;
    let today = app.today();
    // Big enough to be caught in flight, small enough to finish well inside the 10 s grace on a
    // loaded two-core machine.
    let contacts: Vec<Value> = (0..120).map(|i| example_contact(today, &format!("DRAIN-{i}"))).collect();
    let police = app.police();
    let in_flight = tokio::spawn(async move { police.create_contacts(&contacts).await });
    // Ask the server to stop once the batch is being stored, i.e. truly in flight.
    for _ in 0..500 {
        if app.count("select count(*) from contacts").await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(app.count("select count(*) from contacts").await < 120, "the batch is still in flight");
    app.shutdown.cancel();
    let resp = in_flight.await.unwrap();
    assert_eq!(resp.status(), 207, "the in-flight batch completes");
    let body: Value = resp.json();
    assert!(body["results"].as_array().unwrap().iter().all(|r| r["status"] == 201));
    assert_eq!(app.count("select count(*) from contacts").await, 120);
    let addr = app.addr;
    tokio::time::timeout(Duration::from_secs(15), app.server).await.expect("the server stops").unwrap().unwrap();
    assert!(reqwest::get(format!("http://{addr}/health/live")).await.is_err(), "no longer accepting");
}

#[tokio::test]
async fn a_hung_redis_holds_no_contact_beyond_a_small_bound_and_loses_no_step() {
    // Redis accepts connections and never answers (test apps wait 1 s for background calls and
    // the default 200 ms within a request).
    let app = spawn_app_with(Overrides { redis_url: Some(hung_redis().await), ..Overrides::default() }).await;
    let today = app.today();
    let police = app.police();
    let batch: Vec<Value> = (0..40).map(|i| example_contact(today, &format!("HUNG-{i}"))).collect();
    let started = Instant::now();
    let resp = police.create_contacts(&batch).await;
    let batch_took = started.elapsed();
    assert_eq!(resp.status(), 207);
    let body: Value = resp.json();
    assert!(body["results"].as_array().unwrap().iter().all(|r| r["status"] == 201));
    // Awaiting each index write would take 40 x 1 s / 4 at a time = 10 s at least.
    assert!(batch_took < Duration::from_secs(4), "the batch took {batch_took:?}");
    for i in 0..3 {
        let started = Instant::now();
        police.create_contact(&example_contact(today, &format!("HUNG-ONE-{i}"))).await.created();
        assert!(started.elapsed() < Duration::from_millis(900), "one contact took {:?}", started.elapsed());
    }
    assert!(app.redis_health().failures_total >= 1, "the failure is on record for metrics");

    // Nothing is lost: every step of every contact fires from PostgreSQL, once.
    assert_eq!(app.count("select count(*) from contacts").await, 43);
    app.advance_time(TimeDelta::days(7));
    let mut fired = 0;
    for _ in 0..3 {
        fired += app.fire_due_steps().await;
    }
    assert_eq!(fired, 43 * 4, "notify, reminder, escalate and breach of each red contact");
    assert_eq!(app.count("select count(*) from events").await, 43 * 4);
}

#[tokio::test]
async fn a_reseed_abandoned_midway_leaves_no_lock_behind() {
    let app = spawn_app_with(Overrides { redis_url: Some(hung_redis().await), ..Overrides::default() }).await;
    app.police().create_contact(&example_contact(app.today(), "LOCK-1")).await.created();
    // The contact's index write timed out and opened Redis's breaker; wait for the trial call.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // A worker stopped midway (a cancelled task, a shutdown) while the re-seed waits on Redis.
    assert!(!app.abandon_reseed_after(Duration::from_millis(300)).await, "Redis hangs, so it is abandoned");
    let mut held = app.advisory_locks_held().await;
    for _ in 0..50 {
        if held == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        held = app.advisory_locks_held().await;
    }
    assert_eq!(held, 0, "the re-seed lock went with the abandoned re-seed; the next one can run");
}

#[tokio::test]
async fn after_redis_hangs_and_recovers_the_skipped_index_writes_are_restored_at_once() {
    let redis = switchable_redis().await;
    let app = spawn_app_with(Overrides { redis_url: Some(redis.url.clone()), ..Overrides::default() }).await;
    app.reseed_ladder_index().await; // as a worker does at start-up
    app.set_time(monday_10());
    redis.hang();
    let started = Instant::now();
    app.school().submit(amber_contact(app.today(), "SKIPPED-1")).await;
    assert!(started.elapsed() < Duration::from_millis(900), "the index write is given up");
    redis.recover();
    // Redis answers again once the breaker lets a call through and the connection is remade.
    let anonymous = app.anonymous();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(2100)).await;
        if anonymous.ready().await.ok()["redis"] == true {
            break;
        }
    }
    // The next contact's index write also tells the workers that an earlier one was lost.
    app.school().submit(amber_contact(app.today(), "AFTER-1")).await;
    assert!(!app.redis_health().circuit_open);
    // Both reminders fall due this instant, within the sweep's grace: only the index fires them.
    app.set_time(london(2026, 11, 23, 14, 0));
    assert_eq!(app.fire_due_steps().await, 2, "the skipped contact's reminder fires on time too");
}

/// A transaction its process stopped driving (frozen, cut off, a bug) ends after
/// `database.idle_in_transaction_timeout_ms`, and with it the locks it held: a child's lock here,
/// which would otherwise hold that child's next contacts until the connection died.
#[tokio::test]
async fn a_transaction_left_idle_is_ended_and_its_locks_released() {
    let app = spawn_app().await;
    // Every runtime connection carries the limit (the shipped default, one minute).
    let default: String =
        sqlx::query_scalar("show idle_in_transaction_session_timeout").fetch_one(app.db()).await.unwrap();
    assert_eq!(default, "1min");

    let mut settings = app.database_settings().clone();
    settings.idle_in_transaction_timeout_ms = 2000;
    let pool = mash_triage::db::connect(&settings).await.unwrap();
    // The connection that looks at the lock is taken first, so looking costs no connecting.
    let mut observer = app.db().acquire().await.unwrap();
    let lock_free = "select pg_try_advisory_xact_lock(4242)";
    let mut stalled = pool.begin().await.unwrap();
    sqlx::query("select pg_advisory_xact_lock(4242)").execute(&mut *stalled).await.unwrap();
    assert!(!sqlx::query_scalar::<_, bool>(lock_free).fetch_one(&mut *observer).await.unwrap(), "held while in use");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !sqlx::query_scalar::<_, bool>(lock_free).fetch_one(&mut *observer).await.unwrap() {
        assert!(Instant::now() < deadline, "the lock of a transaction left idle was never released");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Ended, and what its owner then hears counts as the store unavailable (retried), not a bug.
    let ended = sqlx::query("select 1").execute(&mut *stalled).await.unwrap_err();
    assert!(mash_triage::db::is_unavailable(&ended), "{ended:?}");
    drop(stalled);
    pool.close().await;
}
