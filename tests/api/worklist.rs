//! The worklist: queues, claims as leases, 412 on stale versions, decisions and what the agency
//! then sees.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use mash_triage::{
    auth::{Role, service},
    worklist::Worklist,
};
use serde_json::{Value, json};

use crate::{
    fixtures::example_contact,
    helpers::{TestApp, assert_problem, spawn_app},
};

fn london(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Europe::London.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&Utc)
}

/// A green (neglect) or amber (physical abuse) contact about a 7-year-old, in `screening`.
fn contact(app: &TestApp, reference: &str, concern: &str) -> Value {
    let mut c = example_contact(app.today(), reference);
    c["children"] = json!([{"given_name": "Sam", "family_name": reference, "date_of_birth": "2019-05-01"}]);
    c["concerns"] = json!([concern]);
    c["injury"] = Value::Null;
    c["police"] = Value::Null;
    c["narrative"] = json!("A concern raised by the school.");
    c
}

async fn submit(app: &TestApp, body: &Value) -> String {
    let resp = app.post_contact(&app.school.key, body).await;
    assert_eq!(resp.status(), 201);
    let v: Value = resp.json().await.unwrap();
    v["id"].as_str().unwrap().to_owned()
}

async fn claim(app: &TestApp, key: &str, queue: &str) -> reqwest::Response {
    app.client.post(app.url(&format!("/v1/queues/{queue}/claim"))).bearer_auth(key).send().await.unwrap()
}

async fn post(app: &TestApp, key: &str, path: &str, body: Option<Value>, if_match: Option<&str>) -> reqwest::Response {
    let mut req = app.client.post(app.url(path)).bearer_auth(key);
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn fifty_concurrent_claims_give_different_contacts_or_204() {
    let app = spawn_app().await;
    for i in 0..30 {
        submit(&app, &contact(&app, &format!("C-{i}"), "neglect")).await;
    }
    let app = &app;
    let claims = (0..50).map(|_| async move { claim(app, &app.practitioner, "screening").await });
    let responses = futures_util::future::join_all(claims).await;
    let mut ids = std::collections::BTreeSet::new();
    let mut empty = 0;
    for resp in responses {
        match resp.status().as_u16() {
            200 => {
                let c: Value = resp.json().await.unwrap();
                assert!(ids.insert(c["contact_id"].as_str().unwrap().to_owned()), "a contact was handed out twice");
            }
            204 => empty += 1,
            other => panic!("unexpected {other}: {}", resp.text().await.unwrap()),
        }
    }
    assert_eq!((ids.len(), empty), (30, 20));
    assert_eq!(app.count("select count(*) from claims").await, 30);
}

#[tokio::test]
async fn queues_put_escalated_first_then_the_soonest_deadline() {
    let app = spawn_app().await;
    app.clock.set(london(2026, 11, 23, 10, 0)); // Monday
    let green = submit(&app, &contact(&app, "G-1", "neglect")).await; // due Thursday 10:00
    app.clock.set(london(2026, 11, 25, 14, 0)); // Wednesday
    let amber = submit(&app, &contact(&app, "A-1", "physical_abuse")).await; // due Thursday 14:00
    let order = |body: Value| -> Vec<String> {
        body["contacts"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
    };
    let list: Value = app
        .client
        .get(app.url("/v1/queues/screening/contacts"))
        .bearer_auth(&app.practitioner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order(list), [green.clone(), amber.clone()], "the green contact close to breach comes first");
    // The green one's ladder escalates it (75%), so it stays first, marked.
    mash_triage::sla::worker::run_pending_work(&app.state).await.unwrap();
    let list: Value = app
        .client
        .get(app.url("/v1/queues/screening/contacts"))
        .bearer_auth(&app.practitioner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["contacts"][0]["escalated"], true);
    let queues: Value =
        app.client.get(app.url("/v1/queues")).bearer_auth(&app.manager).send().await.unwrap().json().await.unwrap();
    let screening = queues["queues"].as_array().unwrap().iter().find(|q| q["queue"] == "screening").unwrap();
    assert_eq!(
        (screening["unclaimed"].as_i64(), screening["claimed"].as_i64(), screening["escalated"].as_i64()),
        (Some(2), Some(0), Some(1))
    );
    assert_eq!(
        screening["by_urgency"],
        json!([{"urgency": "red", "count": 0}, {"urgency": "amber", "count": 1}, {"urgency": "green", "count": 1}])
    );
    assert_eq!(screening["oldest_age_minutes"], 2 * 24 * 60 + 4 * 60);
    // Claims follow the same order; agencies cannot see queues.
    let first: Value = claim(&app, &app.practitioner, "screening").await.json().await.unwrap();
    assert_eq!(first["contact_id"], green);
    assert_problem(app.client.get(app.url("/v1/queues")).bearer_auth(&app.school.key).send().await.unwrap(), 403).await;
    assert_problem(claim(&app, &app.practitioner, "no-such-queue").await, 404).await;
}

#[tokio::test]
async fn an_abandoned_claim_expires_back_to_the_queue_and_a_renewed_one_does_not() {
    let app = spawn_app().await;
    let a = submit(&app, &contact(&app, "L-1", "neglect")).await;
    let b = submit(&app, &contact(&app, "L-2", "neglect")).await;
    let first: Value = claim(&app, &app.practitioner, "screening").await.json().await.unwrap();
    let second: Value = claim(&app, &app.manager, "screening").await.json().await.unwrap();
    assert_eq!(
        [first["contact_id"].as_str().unwrap(), second["contact_id"].as_str().unwrap()],
        [a.as_str(), b.as_str()]
    );
    app.clock.advance(TimeDelta::minutes(20));
    assert_eq!(post(&app, &app.manager, &format!("/v1/contacts/{b}/claim/renew"), None, None).await.status(), 200);
    assert_problem(post(&app, &app.manager, &format!("/v1/contacts/{a}/claim/renew"), None, None).await, 403).await;
    app.clock.advance(TimeDelta::minutes(11)); // a's lease (30 min) is over; b's renewed one is not
    let worklist = Worklist { db: app.db(), clock: app.clock.as_ref(), policy: &app.state.policy };
    assert_eq!(worklist.expire_claims().await.unwrap(), 1);
    let status: String = sqlx::query_scalar("select status from contacts where id = $1::uuid")
        .bind(&a)
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(status, "awaiting_screening");
    assert_eq!(app.count("select count(*) from audit_events where action = 'claim.expired'").await, 1);
    let again: Value = claim(&app, &app.practitioner, "screening").await.json().await.unwrap();
    assert_eq!(again["contact_id"], a.as_str(), "back in the queue");
}

#[tokio::test]
async fn a_stale_version_gets_412_and_changes_nothing() {
    let app = spawn_app().await;
    let id = submit(&app, &contact(&app, "V-1", "neglect")).await;
    let claimed = claim(&app, &app.practitioner, "screening").await;
    let tag = claimed.headers()["etag"].to_str().unwrap().to_owned();
    let moved = post(
        &app,
        &app.manager,
        &format!("/v1/contacts/{id}/move"),
        Some(json!({"queue": "domestic-abuse", "reason": "DA disclosed on a call."})),
        Some(&tag),
    )
    .await;
    assert_eq!(moved.status(), 200);
    // The practitioner still holds the old version.
    let stale = post(&app, &app.practitioner, &format!("/v1/contacts/{id}/release"), None, Some(&tag)).await;
    assert_eq!(assert_problem(stale, 412).await["code"], "version_mismatch");
    let queue: String = sqlx::query_scalar("select queue from contacts where id = $1::uuid")
        .bind(&id)
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(queue, "domestic-abuse");
    assert_eq!(app.count("select count(*) from claims").await, 0, "the move released the claim");
}

#[tokio::test]
async fn only_the_claim_holder_or_a_manager_decides_and_the_agency_sees_the_outcome_not_the_notes() {
    let app = spawn_app().await;
    let other = service::create_staff_with_key(app.db(), app.clock.as_ref(), "Second Practitioner", Role::Practitioner)
        .await
        .unwrap()
        .1
        .secret;
    let id = submit(&app, &contact(&app, "D-1", "neglect")).await;
    let decision = json!({"outcome": "early_help", "rationale": "Needs support, no risk of significant harm.", "feedback": "Thank you. The family has been offered early help."});
    // Updates need the version (or `*`): without If-Match, 428.
    let p = assert_problem(
        post(&app, &app.manager, &format!("/v1/contacts/{id}/decision"), Some(decision.clone()), None).await,
        428,
    )
    .await;
    assert_eq!(p["code"], "version_required");
    // Nobody holds it: a practitioner may not decide; claim it first.
    assert_eq!(
        assert_problem(
            post(&app, &app.practitioner, &format!("/v1/contacts/{id}/decision"), Some(decision.clone()), Some("*"))
                .await,
            403
        )
        .await["code"],
        "not_claim_holder"
    );
    assert_eq!(claim(&app, &app.practitioner, "screening").await.status(), 200);
    assert_problem(
        post(&app, &other, &format!("/v1/contacts/{id}/decision"), Some(decision.clone()), Some("*")).await,
        403,
    )
    .await;
    let note = post(
        &app,
        &app.practitioner,
        &format!("/v1/contacts/{id}/notes"),
        Some(json!({"body": "Spoke to the DSL: mother struggling since the birth of twins."})),
        None,
    )
    .await;
    assert_eq!(note.status(), 200);
    // Validation: an unknown outcome, and signposting without an agency.
    let p = assert_problem(
        post(
            &app,
            &app.practitioner,
            &format!("/v1/contacts/{id}/decision"),
            Some(json!({"outcome": "family_help", "rationale": "r", "feedback": "f"})),
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["pointer"], "/outcome");
    let p = assert_problem(
        post(
            &app,
            &app.practitioner,
            &format!("/v1/contacts/{id}/decision"),
            Some(json!({"outcome": "signpost_other_agency", "rationale": "r", "feedback": "f"})),
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["pointer"], "/signpost_agency");
    // The holder decides.
    let decided =
        post(&app, &app.practitioner, &format!("/v1/contacts/{id}/decision"), Some(decision.clone()), Some("*")).await;
    assert_eq!(decided.status(), 200);
    assert_problem(
        post(&app, &app.manager, &format!("/v1/contacts/{id}/decision"), Some(decision), Some("*")).await,
        409,
    )
    .await;

    let agency: Value = app.get_contact(&app.school.key, &id).await.json().await.unwrap();
    assert_eq!(agency["status"], "decided");
    assert_eq!(agency["outcome"], "early_help");
    assert_eq!(agency["feedback"], "Thank you. The family has been offered early help.");
    assert!(agency.get("decision_due_at").is_some_and(Value::is_null), "the decision clock has stopped");
    let text = agency.to_string();
    assert!(
        !text.contains("twins") && !text.contains("significant harm"),
        "no notes or rationale for the agency: {text}"
    );
    let staff: Value = app.get_contact(&app.manager, &id).await.json().await.unwrap();
    assert_eq!(staff["notes"][0]["kind"], "note");
    assert_eq!(staff["decision"]["rationale"], "Needs support, no risk of significant harm.");
    // The decision clock stopped and the feedback clock started.
    let clocks: Value = app
        .client
        .get(app.url(&format!("/v1/contacts/{id}/clocks")))
        .bearer_auth(&app.manager)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let states: Vec<(&str, &str)> = clocks["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("decision", "stopped"), ("feedback", "running")]);
    // Audited, with ids and codes only.
    let details: Vec<String> =
        sqlx::query_scalar("select detail::text from audit_events where action in ('contact.decided', 'note.added')")
            .fetch_all(app.db())
            .await
            .unwrap();
    assert_eq!(details.len(), 2);
    assert!(details.iter().all(|d| !d.contains("twins")));
}

#[tokio::test]
async fn managers_assign_to_a_named_practitioner_and_practitioners_cannot() {
    let app = spawn_app().await;
    let id = submit(&app, &contact(&app, "AS-1", "neglect")).await;
    let practitioner_id: uuid::Uuid =
        sqlx::query_scalar("select id from staff where role = 'practitioner'").fetch_one(app.db()).await.unwrap();
    let body = json!({"staff_id": practitioner_id, "reason": "Knows the family."});
    assert_problem(
        post(&app, &app.practitioner, &format!("/v1/contacts/{id}/assign"), Some(body.clone()), Some("*")).await,
        403,
    )
    .await;
    let auditor_id: uuid::Uuid =
        sqlx::query_scalar("select id from staff where role = 'auditor'").fetch_one(app.db()).await.unwrap();
    let p = assert_problem(
        post(
            &app,
            &app.manager,
            &format!("/v1/contacts/{id}/assign"),
            Some(json!({"staff_id": auditor_id, "reason": "x"})),
            Some("*"),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["pointer"], "/staff_id");
    assert_eq!(
        post(&app, &app.manager, &format!("/v1/contacts/{id}/assign"), Some(body), Some("*")).await.status(),
        200
    );
    let holder: uuid::Uuid = sqlx::query_scalar("select staff_id from claims where contact_id = $1::uuid")
        .bind(&id)
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(holder, practitioner_id);
    // The assignee can now decide.
    let decided = post(
        &app,
        &app.practitioner,
        &format!("/v1/contacts/{id}/decision"),
        Some(json!({"outcome": "no_further_action", "rationale": "r", "feedback": "f"})),
        Some("*"),
    )
    .await;
    assert_eq!(decided.status(), 200);
}

#[tokio::test]
async fn the_order_follows_deadlines_not_arrival() {
    let app = spawn_app().await;
    app.clock.set(london(2026, 11, 23, 10, 0)); // Monday: green, due Thursday 10:00
    let green = submit(&app, &contact(&app, "O-1", "neglect")).await;
    app.clock.set(london(2026, 11, 24, 10, 0)); // Tuesday: amber, due Wednesday 10:00
    let amber = submit(&app, &contact(&app, "O-2", "physical_abuse")).await;
    let list: Value = app
        .client
        .get(app.url("/v1/queues/screening/contacts"))
        .bearer_auth(&app.practitioner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = list["contacts"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [amber.as_str(), green.as_str()], "the later arrival is due first");
    assert_eq!(app.count("select count(*) from audit_events where action = 'queue.listed'").await, 1);
}

#[tokio::test]
async fn after_a_decision_nothing_fires_no_claim_remains_and_the_contact_leaves_the_queue() {
    let app = spawn_app().await;
    app.clock.set(london(2026, 11, 23, 10, 0));
    let id = submit(&app, &contact(&app, "AFTER-1", "physical_abuse")).await;
    let claimed = claim(&app, &app.practitioner, "screening").await;
    let tag = claimed.headers()["etag"].to_str().unwrap().to_owned();
    let decision = json!({"outcome": "no_further_action", "rationale": "Explained.", "feedback": "No further action."});
    assert_eq!(
        post(&app, &app.practitioner, &format!("/v1/contacts/{id}/decision"), Some(decision), Some(&tag))
            .await
            .status(),
        200
    );
    app.clock.set(london(2026, 11, 30, 10, 0)); // a week later
    let fired = mash_triage::sla::worker::run_pending_work(&app.state).await.unwrap();
    let decision_events: i64 = sqlx::query_scalar(
        "select count(*) from events e join clocks c on c.id = e.clock_id where c.contact_id = $1::uuid and c.kind = 'decision'",
    )
    .bind(&id)
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!(decision_events, 0, "no decision-clock step fired after the decision");
    assert_eq!(fired, 3, "only the feedback clock's steps (nobody told the referrer)");
    assert_eq!(app.count("select count(*) from claims").await, 0);
    let list: Value = app
        .client
        .get(app.url("/v1/queues/screening/contacts"))
        .bearer_auth(&app.manager)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list["contacts"].as_array().unwrap().is_empty());
    // A decided contact cannot be re-rated, and unknown fields are refused, not dropped.
    let rerate = app
        .client
        .post(app.url(&format!("/v1/contacts/{id}/rerate")))
        .bearer_auth(&app.manager)
        .json(&json!({"urgency": "red", "reason": "late"}))
        .send()
        .await
        .unwrap();
    assert_eq!(assert_problem(rerate, 409).await["code"], "already_decided");
    let unknown =
        post(&app, &app.manager, &format!("/v1/contacts/{id}/notes"), Some(json!({"body": "x", "bdy": "y"})), None)
            .await;
    assert_problem(unknown, 422).await;
    // Auditors, admins and agencies do not work the queues.
    for key in [&app.auditor, &app.admin, &app.school.key] {
        assert_problem(claim(&app, key, "screening").await, 403).await;
        assert_problem(
            post(&app, key, &format!("/v1/contacts/{id}/notes"), Some(json!({"body": "x"})), None).await,
            403,
        )
        .await;
    }
}

#[tokio::test]
async fn a_named_contact_can_be_claimed_unless_someone_else_holds_it() {
    let app = spawn_app().await;
    let id = submit(&app, &contact(&app, "NAMED-1", "neglect")).await;
    let other = service::create_staff_with_key(app.db(), app.clock.as_ref(), "Other Practitioner", Role::Practitioner)
        .await
        .unwrap()
        .1
        .secret;
    assert_eq!(post(&app, &app.practitioner, &format!("/v1/contacts/{id}/claim"), None, None).await.status(), 200);
    let taken = post(&app, &other, &format!("/v1/contacts/{id}/claim"), None, None).await;
    assert_eq!(assert_problem(taken, 409).await["code"], "claimed_by_other");
    // The lease lapses; the same practitioner takes it back (and the expiry is recorded).
    app.clock.advance(TimeDelta::minutes(31));
    assert_problem(post(&app, &app.practitioner, &format!("/v1/contacts/{id}/claim/renew"), None, None).await, 403)
        .await;
    assert_eq!(post(&app, &app.practitioner, &format!("/v1/contacts/{id}/claim"), None, None).await.status(), 200);
    assert_eq!(app.count("select count(*) from audit_events where action = 'claim.expired'").await, 1);
    assert_problem(post(&app, &app.auditor, &format!("/v1/contacts/{id}/claim"), None, None).await, 403).await;
}

#[tokio::test]
async fn each_body_accepts_only_its_own_fields_and_a_re_rate_accepts_any_version() {
    let app = spawn_app().await;
    let id = submit(&app, &contact(&app, "FIELDS-1", "neglect")).await;
    // A field that belongs to another worklist body is still unknown here.
    let note = post(
        &app,
        &app.manager,
        &format!("/v1/contacts/{id}/notes"),
        Some(json!({"body": "x", "outcome": "early_help"})),
        None,
    )
    .await;
    assert_problem(note, 422).await;
    // `If-Match: *` means "whatever it is now" on a re-rating too.
    let rerate = app
        .client
        .post(app.url(&format!("/v1/contacts/{id}/rerate")))
        .bearer_auth(&app.manager)
        .header("if-match", "*")
        .json(&json!({"urgency": "amber", "reason": "Escalating concern."}))
        .send()
        .await
        .unwrap();
    assert_eq!(rerate.status(), 200);
}
