//! Request rate limits: per key, shared by replicas through Redis, with a per-process fallback
//! when Redis is down, and the IETF `RateLimit` headers.

use chrono::TimeDelta;

use crate::{
    fixtures::example_contact,
    helpers::{Overrides, spawn_app, spawn_app_with},
};

#[tokio::test]
async fn a_key_over_its_quota_gets_429_with_retry_after_and_ratelimit_headers() {
    let app = spawn_app_with(Overrides { rate_limit: Some(5), ..Overrides::default() }).await;
    let (manager, auditor) = (app.manager(), app.auditor());
    for remaining in (0..5).rev() {
        let resp = manager.queues().await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.header("ratelimit-policy"), Some("\"default\";q=5;w=60"));
        assert!(resp.header("ratelimit").unwrap().starts_with(&format!("\"default\";r={remaining};t=")));
    }
    let refused = manager.queues().await;
    assert_eq!(refused.header("retry-after"), Some("12"), "one request per 60 s / 5");
    assert_eq!(refused.problem(429)["code"], "rate_limited");
    assert_eq!(auditor.queues().await.status(), 200, "another key has its own quota");
    assert!(!app.another_replica_allows(manager.key()).await, "replicas share the count through Redis");
    // Health probes are never limited.
    assert_eq!(app.anonymous().live().await.status(), 200);
    app.advance_time(TimeDelta::seconds(12));
    assert_eq!(manager.queues().await.status(), 200, "one more after the interval");
}

#[tokio::test]
async fn without_redis_each_process_still_limits_and_intake_goes_on() {
    let app = spawn_app_with(Overrides {
        redis_url: Some("redis://127.0.0.1:1".into()),
        rate_limit: Some(3),
        ..Overrides::default()
    })
    .await;
    let police = app.police();
    for i in 0..3 {
        let contact = example_contact(app.today(), &format!("RL-{i}"));
        assert_eq!(police.create_contact(&contact).await.status(), 201);
    }
    police.create_contact(example_contact(app.today(), "RL-3")).await.problem(429);
}

#[tokio::test]
async fn the_default_quota_stops_a_looping_client_but_not_a_partners_batches() {
    let app = spawn_app().await;
    let police = app.police();
    // A partner's normal day: batches and reads, well under the quota.
    let batch: Vec<_> = (0..50).map(|i| example_contact(app.today(), &format!("DAY-{i}"))).collect();
    assert_eq!(police.create_contacts(&batch).await.status(), 207);
    // A client looping as fast as it can on one key is refused within the quota (600 a minute).
    let mut first_refusal = None;
    for i in 0..1300 {
        if police.get_contact(&crate::fixtures::unknown_id()).await.status() == 429 {
            first_refusal = Some(i);
            break;
        }
    }
    // 600 in all with the batch. (If a Redis check outwaits its 100 ms on a loaded machine, the
    // process counts on its own from then, so a refusal may come later, never sooner.)
    assert!(first_refusal.is_some_and(|i| i >= 599), "refused, and not before the quota: {first_refusal:?}");
}

#[tokio::test]
async fn keys_that_are_not_keys_count_against_the_address_so_guessing_is_limited() {
    let app = spawn_app_with(Overrides { rate_limit: Some(5), ..Overrides::default() }).await;
    // Each made-up token is a fresh bucket of its own; the refusals add up by address.
    for n in 0..5 {
        assert_eq!(app.caller(&format!("made-up-token-{n}")).queues().await.status(), 401, "attempt {n}");
    }
    let refused = app.caller("made-up-token-5").queues().await;
    assert_eq!(refused.problem(429)["code"], "rate_limited");
    assert!(refused.header("retry-after").is_some());
    // A real key from the same address keeps its own quota.
    assert_eq!(app.manager().queues().await.status(), 200);
}
