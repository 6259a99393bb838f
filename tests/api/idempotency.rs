//! `Idempotency-Key` on `POST /v1/contacts`, by the IETF httpapi draft: a repeat is answered as
//! the first request was, a reused key with another body is 422, a key still in flight is 409.

use reqwest::Method;
use serde_json::Value;

use crate::{
    client::{Caller, TestResponse},
    fixtures::green_contact,
    helpers::spawn_app,
};

async fn post_keyed(caller: &Caller, key: &str, body: &Value) -> TestResponse {
    caller.request(Method::POST, "/v1/contacts").header("idempotency-key", key).json(body).send().await
}

#[tokio::test]
async fn a_repeat_with_the_same_key_is_answered_as_the_first_request_was() {
    let app = spawn_app().await;
    let school = app.school();
    let body = green_contact(app.today(), "IDEM-1");
    let first = post_keyed(&school, "\"8e03978e-40d5-43e8-bc93-6894a57f9324\"", &body).await;
    assert_eq!(first.status(), 201);
    assert!(first.header("idempotent-replayed").is_none());
    let created: Value = first.json();

    // The same key, quoted or bare (a Structured Field string either way), and the same body.
    for key in ["\"8e03978e-40d5-43e8-bc93-6894a57f9324\"", "8e03978e-40d5-43e8-bc93-6894a57f9324"] {
        let again = post_keyed(&school, key, &body).await;
        assert_eq!(again.status(), 201, "the first request's status");
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.json::<Value>()["id"], created["id"]);
    }
    assert_eq!(app.count("select count(*) from contacts").await, 1);

    // The same key with another body: 422, nothing stored.
    let other = green_contact(app.today(), "IDEM-2");
    let reused = post_keyed(&school, "8e03978e-40d5-43e8-bc93-6894a57f9324", &other).await.problem(422);
    assert_eq!(reused["code"], "idempotency_key_reused");
    assert_eq!(app.count("select count(*) from contacts").await, 1);

    // Keys are per agency: another agency's identical key is its own.
    let police = post_keyed(&app.police(), "8e03978e-40d5-43e8-bc93-6894a57f9324", &other).await;
    assert_eq!(police.status(), 201);

    // A new key with a used reference: the reference still de-duplicates (a replay, 200), and
    // the key then repeats that answer.
    let replay = post_keyed(&school, "second-key", &body).await;
    assert_eq!((replay.status(), replay.json::<Value>()["id"].clone()), (200, created["id"].clone()));
    let repeat = post_keyed(&school, "second-key", &body).await;
    assert_eq!((repeat.status(), repeat.header("idempotent-replayed")), (200, Some("true")));
    let conflict = post_keyed(&school, "third-key", &green_contact(app.today(), "IDEM-1")).await;
    assert_eq!(conflict.status(), 200, "the very same body under its reference is a replay");

    // After 24 hours the key is forgotten, and it may name a new submission.
    app.advance_time(chrono::TimeDelta::hours(25));
    let fresh =
        post_keyed(&school, "8e03978e-40d5-43e8-bc93-6894a57f9324", &green_contact(app.today(), "IDEM-3")).await;
    assert_eq!(fresh.status(), 201);
}

#[tokio::test]
async fn a_key_still_in_flight_is_refused_and_a_bad_key_is_a_400() {
    let app = spawn_app().await;
    let school = app.school();
    let body = green_contact(app.today(), "IDEM-FLIGHT");
    // Stand in for a first request still being processed: hold the key's lock.
    let mut tx = app.db().begin().await.unwrap();
    sqlx::query("select pg_advisory_xact_lock(hashtextextended('idempotency-key:' || $1::text || ':' || $2, 0))")
        .bind(uuid::Uuid::parse_str(school.agency_id()).unwrap())
        .bind("busy-key")
        .execute(&mut *tx)
        .await
        .unwrap();
    let busy = post_keyed(&school, "busy-key", &body).await.problem(409);
    assert_eq!(busy["code"], "idempotency_key_in_flight");
    assert_eq!(app.count("select count(*) from contacts").await, 0, "nothing was stored");
    tx.rollback().await.unwrap();
    assert_eq!(post_keyed(&school, "busy-key", &body).await.status(), 201, "once it is done, the retry goes through");

    for bad in ["", "\"\"", &"k".repeat(256), "with\ttab"] {
        let problem = post_keyed(&school, bad, &body).await.problem(400);
        assert!(problem.to_string().contains("Idempotency-Key"), "{problem}");
    }
}
