//! Liveness and readiness.

use crate::helpers::{Overrides, spawn_app, spawn_app_with};

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
async fn ready_fails_while_redis_is_unreachable_and_live_does_not() {
    // Port 1 on loopback: nothing listens there, so connections are refused at once.
    let app = spawn_app_with(Overrides { redis_url: Some("redis://127.0.0.1:1".into()), ..Overrides::default() }).await;
    let anonymous = app.anonymous();
    let ready = anonymous.ready().await;
    assert!(ready.header("retry-after").is_some());
    let body = ready.expect(503);
    assert_eq!(body, serde_json::json!({"status": "unavailable", "database": true, "redis": false}));
    assert_eq!(anonymous.live().await.status(), 200);
}
