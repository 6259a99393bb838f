//! The sandbox: an agency's test clock moves its contacts' time forward (never back), the ladder
//! and the webhooks follow, and production has no such clock.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::{
    fixtures::{amber_contact, london},
    helpers::{Overrides, spawn_app, spawn_app_with},
    webhooks::{receiver, verify_standard},
};

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_partner_moves_its_clock_and_sees_the_breach_then_the_decision_webhook_on_its_own_time() {
    let app = spawn_app_with(Overrides { sandbox: true, ..Overrides::default() }).await;
    app.set_time(london(2026, 11, 23, 10, 0)); // a Monday
    let school = app.school();
    let (url, seen) = receiver(0).await;
    let registered: Value =
        app.admin().register_agency_webhook(school.agency_id(), json!({"url": url})).await.expect(201);
    let secret = registered["secret"].as_str().unwrap().to_owned();

    // Amber: due Tuesday 10:00, one working day. The police's contact runs on the hub's time.
    let id = school.submit(amber_contact(app.today(), "SBX-1")).await;
    let police = app.police().submit(amber_contact(app.today(), "SBX-P")).await;
    let view: Value = school.get_contact(&id).await.expect(200);
    assert_eq!(at(&view["decision_due_at"]), london(2026, 11, 24, 10, 0));

    // Never back; then to Tuesday 10:01, past the deadline.
    let back = school.advance_test_clock("2026-11-23T09:00:00Z").await.problem(422);
    assert_eq!(back["errors"][0]["pointer"], "/advance_to");
    app.practitioner().advance_test_clock("2026-11-24T10:01:00Z").await.problem(403);
    let moved: Value = school.advance_test_clock("2026-11-24T10:01:00Z").await.expect(200);
    assert_eq!(at(&moved["now"]), london(2026, 11, 24, 10, 1));
    assert!(moved["steps_fired"].as_u64().unwrap() >= 1, "{moved}");
    let clock: Value = school.test_clock().await.expect(200);
    assert_eq!(at(&clock["now"]), london(2026, 11, 24, 10, 1));
    let breaches = |contact: &str| {
        let contact = contact.to_owned();
        let app = &app;
        async move { app.value::<i64>("select count(*) from breaches where contact_id = $1::uuid", &contact).await }
    };
    assert_eq!(breaches(&id).await, 1, "the school's contact breached on the school's clock");
    assert_eq!(breaches(&police).await, 0, "the hub's own time has not moved");

    // The school's sandbox staff keys decide (late, so a manager authorises: four eyes).
    let practitioner = app.caller(school.sandbox_staff_key("practitioner").await.expect(201)["key"].as_str().unwrap());
    let manager = app.caller(school.sandbox_staff_key("manager").await.expect(201)["key"].as_str().unwrap());
    school.sandbox_staff_key("admin").await.problem(422);
    let tag = practitioner.claim(&id).await.etag();
    let decision = json!({"outcome": "early_help", "rationale": "Support offered.", "feedback": "Early help offered.",
                          "threshold_level": "early_help", "late_reason": "capacity"});
    practitioner.decide(&id, decision, Some(&tag)).await.expect(200);
    manager.authorise(&id, Some("*")).await.expect(200);
    let staff: Value = manager.get_contact(&id).await.expect(200);
    assert_eq!(at(&staff["decision"]["decided_at"]), london(2026, 11, 24, 10, 1), "decided on the school's time");

    // The decision's webhook arrives, signed, with a timestamp on the wall clock (receivers
    // reject old or future ones), and the referrer-feedback clock stops.
    let work = app.run_pending_work().await;
    assert_eq!(work.sandbox.1, 1, "{work:?}");
    let got = seen.lock().unwrap()[0].clone();
    assert!(verify_standard(&secret, &got, &got.body));
    let sent: i64 = got.timestamp.parse().unwrap();
    assert!((sent - app.now().timestamp()).abs() < 60, "the wall clock's time, not the test clock's");
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(
        (body["type"].as_str(), body["data"]["outcome"].as_str()),
        (Some("contact.decided"), Some("early_help"))
    );
    let clocks: Value = app.manager().clocks(&id).await.expect(200);
    let feedback = clocks["clocks"].as_array().unwrap().iter().find(|c| c["kind"] == "feedback").unwrap();
    assert_eq!(feedback["state"], "stopped");
    let decided: Value = school.get_contact(&id).await.expect(200);
    assert_eq!(decided["status"], "decided");
    assert_eq!(app.count("select count(*) from audit_events where action = 'sandbox.clock_advanced'").await, 1);
}

#[tokio::test]
async fn production_has_no_test_clock_and_a_sandbox_never_runs_on_live_data() {
    let app = spawn_app().await;
    let school = app.school();
    assert_eq!(school.advance_test_clock("2030-01-01T00:00:00Z").await.problem(404)["status"], 404);
    school.test_clock().await.problem(404);
    school.sandbox_staff_key("practitioner").await.problem(404);
    // This database is marked live: a sandbox refuses it.
    let refused = app.deployment_check(true).await.unwrap_err();
    assert!(refused.contains("live"), "{refused}");
    assert_eq!(app.deployment_check(false).await, Ok(()));

    // And a live process refuses a sandbox's database.
    let sandbox = spawn_app_with(Overrides { sandbox: true, ..Overrides::default() }).await;
    let refused = sandbox.deployment_check(false).await.unwrap_err();
    assert!(refused.contains("sandbox"), "{refused}");
}
