//! Liveness and readiness.

use serde_json::Value;

use crate::helpers::{Overrides, spawn_app, spawn_app_with};

#[tokio::test]
async fn live_and_ready_answer_when_both_stores_are_up() {
    let app = spawn_app().await;
    let live = app.client.get(app.url("/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    assert!(live.headers().contains_key("x-request-id"));
    let ready = app.client.get(app.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok", "database": true, "redis": true}));
}

#[tokio::test]
async fn ready_fails_while_redis_is_unreachable_and_live_does_not() {
    // Port 1 on loopback: nothing listens there, so connections are refused at once.
    let app = spawn_app_with(Overrides { redis_url: Some("redis://127.0.0.1:1".into()), ..Overrides::default() }).await;
    let ready = app.client.get(app.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.headers().contains_key("retry-after"));
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "unavailable", "database": true, "redis": false}));
    assert_eq!(app.client.get(app.url("/health/live")).send().await.unwrap().status(), 200);
}
