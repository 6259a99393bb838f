//! Liveness and readiness.

use std::time::{Duration, Instant};

use crate::{
    fixtures::example_contact,
    helpers::{Overrides, RUNTIME_ROLE, hung_redis, spawn_app, spawn_app_with},
};

#[tokio::test]
async fn live_and_ready_answer_when_both_stores_are_up() {
    let app = spawn_app().await;
    let anonymous = app.anonymous();
    let live = anonymous.live().await;
    assert_eq!(live.status(), 200);
    assert!(live.header("x-request-id").is_some());
    let body = anonymous.ready().await.ok();
    assert_eq!(body, serde_json::json!({"status": "ok", "database": true, "redis": true, "schema": true}));
}

#[tokio::test]
async fn ready_follows_postgres_only_and_reports_redis_down_or_hung() {
    // Port 1 on loopback refuses at once; the hung listener accepts and never answers.
    for redis_url in ["redis://127.0.0.1:1".to_owned(), hung_redis().await] {
        let app = spawn_app_with(Overrides { redis_url: Some(redis_url), ..Overrides::default() }).await;
        let anonymous = app.anonymous();
        let started = Instant::now();
        let body = anonymous.ready().await.ok();
        assert!(started.elapsed() < Duration::from_millis(900), "Redis is asked within a request's bound");
        assert_eq!(body, serde_json::json!({"status": "ok", "database": true, "redis": false, "schema": true}));
        assert_eq!(anonymous.live().await.status(), 200);
        // Intake goes on, which is why readiness must not fail on Redis.
        app.police().create_contact(example_contact(app.today(), "READY-1")).await.created();
    }
}

#[tokio::test]
async fn ready_waits_until_the_database_holds_every_migration_of_this_build() {
    let app = spawn_app().await;
    let anonymous = app.anonymous();
    let not_ready = serde_json::json!({"status": "unavailable", "database": true, "redis": true, "schema": false});
    // A binary newer than its database: the last migration is not recorded as applied. (The row
    // is kept outside `public`, where every table must be readable by the runtime role.)
    let last: i64 =
        sqlx::query_scalar("select max(version) from _sqlx_migrations").fetch_one(app.owner_db()).await.unwrap();
    sqlx::raw_sql("create schema scratch; create table scratch.held_back as select * from _sqlx_migrations where version = (select max(version) from _sqlx_migrations);
                   delete from _sqlx_migrations where version = (select version from scratch.held_back)")
        .execute(app.owner_db())
        .await
        .unwrap();
    let answer = anonymous.ready().await;
    assert_eq!(answer.expect(503), not_ready);
    assert!(answer.header("retry-after").is_some());
    // Recorded but failed is not applied either.
    sqlx::raw_sql("insert into _sqlx_migrations select version, description, installed_on, false, checksum, execution_time from scratch.held_back")
        .execute(app.owner_db())
        .await
        .unwrap();
    assert_eq!(anonymous.ready().await.expect(503), not_ready);
    // A runtime role never granted the table (granted by this build's `migrate`): not applied.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "update _sqlx_migrations set success = true where version = {last}; revoke select on _sqlx_migrations from {RUNTIME_ROLE}"
    )))
    .execute(app.owner_db())
    .await
    .unwrap();
    assert_eq!(anonymous.ready().await.expect(503), not_ready);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("grant select on _sqlx_migrations to {RUNTIME_ROLE}")))
        .execute(app.owner_db())
        .await
        .unwrap();
    assert_eq!(
        anonymous.ready().await.ok(),
        serde_json::json!({"status": "ok", "database": true, "redis": true, "schema": true})
    );
}
