//! Store outages and shutdown: a contact is never lost or half-written.

use std::time::Duration;

use serde_json::Value;
use sqlx::{Connection, PgConnection};

use crate::{
    fixtures::example_contact,
    helpers::{admin_url, spawn_app},
};

async fn set_accepting_connections(db_name: &str, allow: bool) {
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
