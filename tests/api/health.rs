//! Liveness and readiness.

use std::time::{Duration, Instant};

use crate::{
    fixtures::example_contact,
    helpers::{Overrides, hung_redis, spawn_app, spawn_app_with},
};

#[tokio::test]
async fn live_and_ready_answer_when_both_stores_are_up() {
    let app = spawn_app().await;
    let anonymous = app.anonymous();
    let live = anonymous.live().await;
    assert_eq!(live.status(), 200);
    assert!(live.header("x-request-id").is_some());
    let body = anonymous.ready().await.ok();
    assert_eq!(body, serde_json::json!({"status": "ok", "database": true, "redis": true}));
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
        assert_eq!(body, serde_json::json!({"status": "ok", "database": true, "redis": false}));
        assert_eq!(anonymous.live().await.status(), 200);
        // Intake goes on, which is why readiness must not fail on Redis.
        app.police().create_contact(example_contact(app.today(), "READY-1")).await.created();
    }
}
