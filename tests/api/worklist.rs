//! The worklist: queues, claims as leases, 412 on stale versions, decisions and what the agency
//! then sees.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::{
    fixtures::{amber_contact, green_contact, london},
    helpers::spawn_app,
};

/// The ids of a queue listing, in order.
fn order(list: &Value) -> Vec<&str> {
    list["contacts"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn fifty_concurrent_claims_give_different_contacts_or_204() {
    let app = spawn_app().await;
    let school = app.school();
    for i in 0..30 {
        school.submit(green_contact(app.today(), &format!("C-{i}"))).await;
    }
    let practitioner = app.practitioner();
    let claims = (0..50).map(|_| practitioner.claim_next("screening"));
    let responses = futures_util::future::join_all(claims).await;
    let mut ids = std::collections::BTreeSet::new();
    let mut empty = 0;
    for resp in responses {
        match resp.status() {
            200 => {
                let c: Value = resp.json();
                assert!(ids.insert(c["contact_id"].as_str().unwrap().to_owned()), "a contact was handed out twice");
            }
            204 => empty += 1,
            other => panic!("unexpected {other}: {}", resp.text()),
        }
    }
    assert_eq!((ids.len(), empty), (30, 20));
    assert_eq!(app.count("select count(*) from claims").await, 30);
}

#[tokio::test]
async fn queues_put_escalated_first_then_the_soonest_deadline() {
    let app = spawn_app().await;
    let (school, practitioner) = (app.school(), app.practitioner());
    app.set_time(london(2026, 11, 23, 10, 0)); // Monday
    let green = school.submit(green_contact(app.today(), "G-1")).await; // due Thursday 10:00
    app.set_time(london(2026, 11, 25, 14, 0)); // Wednesday
    let amber = school.submit(amber_contact(app.today(), "A-1")).await; // due Thursday 14:00
    let list: Value = practitioner.queue_contacts("screening").await.json();
    assert_eq!(order(&list), [green.as_str(), amber.as_str()], "the green contact close to breach comes first");
    // The green one's ladder escalates it (75%), so it stays first, marked.
    app.run_pending_work().await;
    let list: Value = practitioner.queue_contacts("screening").await.json();
    assert_eq!(list["contacts"][0]["escalated"], true);
    let queues: Value = app.manager().queues().await.json();
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
    let first: Value = practitioner.claim_next("screening").await.json();
    assert_eq!(first["contact_id"], green);
    school.queues().await.problem(403);
    practitioner.claim_next("no-such-queue").await.problem(404);
}

#[tokio::test]
async fn an_abandoned_claim_expires_back_to_the_queue_and_a_renewed_one_does_not() {
    let app = spawn_app().await;
    let (practitioner, manager) = (app.practitioner(), app.manager());
    let a = app.school().submit(green_contact(app.today(), "L-1")).await;
    let b = app.school().submit(green_contact(app.today(), "L-2")).await;
    let first: Value = practitioner.claim_next("screening").await.json();
    let second: Value = manager.claim_next("screening").await.json();
    assert_eq!(
        [first["contact_id"].as_str().unwrap(), second["contact_id"].as_str().unwrap()],
        [a.as_str(), b.as_str()]
    );
    app.advance_time(TimeDelta::minutes(20));
    assert_eq!(manager.renew_claim(&b).await.status(), 200);
    manager.renew_claim(&a).await.problem(403);
    app.advance_time(TimeDelta::minutes(11)); // a's lease (30 min) is over; b's renewed one is not
    assert_eq!(app.expire_claims().await, 1);
    let status: String = app.value("select status from contacts where id = $1::uuid", &a).await;
    assert_eq!(status, "awaiting_screening");
    assert_eq!(app.count("select count(*) from audit_events where action = 'claim.expired'").await, 1);
    let again: Value = practitioner.claim_next("screening").await.json();
    assert_eq!(again["contact_id"], a.as_str(), "back in the queue");
}

#[tokio::test]
async fn a_stale_version_gets_412_and_changes_nothing() {
    let app = spawn_app().await;
    let id = app.school().submit(green_contact(app.today(), "V-1")).await;
    let practitioner = app.practitioner();
    let tag = practitioner.claim_next("screening").await.etag();
    let moved = app
        .manager()
        .move_to_queue(&id, json!({"queue": "domestic-abuse", "reason": "DA disclosed on a call."}), Some(&tag))
        .await;
    assert_eq!(moved.status(), 200);
    // The practitioner still holds the old version.
    let stale = practitioner.release(&id, Some(&tag)).await;
    assert_eq!(stale.problem(412)["code"], "version_mismatch");
    let queue: String = app.value("select queue from contacts where id = $1::uuid", &id).await;
    assert_eq!(queue, "domestic-abuse");
    assert_eq!(app.count("select count(*) from claims").await, 0, "the move released the claim");
}

#[tokio::test]
async fn only_the_claim_holder_or_a_manager_decides_and_the_agency_sees_the_outcome_not_the_notes() {
    let app = spawn_app().await;
    let other = app.add_practitioner("Second Practitioner").await;
    let (practitioner, manager) = (app.practitioner(), app.manager());
    let id = app.school().submit(green_contact(app.today(), "D-1")).await;
    let decision = json!({"outcome": "early_help", "rationale": "Needs support, no risk of significant harm.", "feedback": "Thank you. The family has been offered early help.", "threshold_level": "early_help"});
    // Updates need the version (or `*`): without If-Match, 428.
    let p = manager.decide(&id, &decision, None).await.problem(428);
    assert_eq!(p["code"], "version_required");
    // Nobody holds it: a practitioner may not decide; claim it first.
    assert_eq!(practitioner.decide(&id, &decision, Some("*")).await.problem(403)["code"], "not_claim_holder");
    assert_eq!(practitioner.claim_next("screening").await.status(), 200);
    other.decide(&id, &decision, Some("*")).await.problem(403);
    let note = practitioner
        .add_note(&id, json!({"body": "Spoke to the DSL: mother struggling since the birth of twins."}))
        .await;
    assert_eq!(note.status(), 200);
    // Validation: an unknown outcome, and signposting without an agency.
    let p = practitioner
        .decide(
            &id,
            json!({"outcome": "family_help", "rationale": "r", "feedback": "f", "threshold_level": "early_help"}),
            None,
        )
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["pointer"], "/outcome");
    let p = practitioner
        .decide(&id, json!({"outcome": "signpost_other_agency", "rationale": "r", "feedback": "f", "threshold_level": "early_help"}), None)
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["pointer"], "/signpost_agency");
    // The holder decides.
    assert_eq!(practitioner.decide(&id, &decision, Some("*")).await.status(), 200);
    manager.decide(&id, &decision, Some("*")).await.problem(409);

    let agency: Value = app.school().get_contact(&id).await.json();
    assert_eq!(agency["status"], "decided");
    assert_eq!(agency["outcome"], "early_help");
    assert_eq!(agency["feedback"], "Thank you. The family has been offered early help.");
    assert!(agency.get("decision_due_at").is_some_and(Value::is_null), "the decision clock has stopped");
    let text = agency.to_string();
    assert!(
        !text.contains("twins") && !text.contains("significant harm"),
        "no notes or rationale for the agency: {text}"
    );
    let staff: Value = manager.get_contact(&id).await.json();
    assert_eq!(staff["notes"][0]["kind"], "note");
    assert_eq!(staff["decision"]["rationale"], "Needs support, no risk of significant harm.");
    // The decision clock stopped and the feedback clock started.
    let clocks: Value = manager.clocks(&id).await.json();
    let states: Vec<(&str, &str)> = clocks["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("decision", "stopped"), ("feedback", "running")]);
    // Audited, with ids and codes only.
    let details: Vec<String> =
        app.values("select detail::text from audit_events where action in ('contact.decided', 'note.added')").await;
    assert_eq!(details.len(), 2);
    assert!(details.iter().all(|d| !d.contains("twins")));
}

#[tokio::test]
async fn managers_assign_to_a_named_practitioner_and_practitioners_cannot() {
    let app = spawn_app().await;
    let (practitioner, manager) = (app.practitioner(), app.manager());
    let id = app.school().submit(green_contact(app.today(), "AS-1")).await;
    let practitioner_id: uuid::Uuid = app.value("select id from staff where role = $1", "practitioner").await;
    let body = json!({"staff_id": practitioner_id, "reason": "Knows the family."});
    practitioner.assign(&id, &body, Some("*")).await.problem(403);
    let auditor_id: uuid::Uuid = app.value("select id from staff where role = $1", "auditor").await;
    let p = manager.assign(&id, json!({"staff_id": auditor_id, "reason": "x"}), Some("*")).await.problem(422);
    assert_eq!(p["errors"][0]["pointer"], "/staff_id");
    assert_eq!(manager.assign(&id, &body, Some("*")).await.status(), 200);
    let holder: uuid::Uuid = app.value("select staff_id from claims where contact_id = $1::uuid", &id).await;
    assert_eq!(holder, practitioner_id);
    // The assignee can now decide.
    let decided = practitioner
        .decide(
            &id,
            json!({"outcome": "no_further_action", "rationale": "r", "feedback": "f", "threshold_level": "early_help"}),
            Some("*"),
        )
        .await;
    assert_eq!(decided.status(), 200);
}

#[tokio::test]
async fn the_order_follows_deadlines_not_arrival() {
    let app = spawn_app().await;
    app.set_time(london(2026, 11, 23, 10, 0)); // Monday: green, due Thursday 10:00
    let green = app.school().submit(green_contact(app.today(), "O-1")).await;
    app.set_time(london(2026, 11, 24, 10, 0)); // Tuesday: amber, due Wednesday 10:00
    let amber = app.school().submit(amber_contact(app.today(), "O-2")).await;
    let list: Value = app.practitioner().queue_contacts("screening").await.json();
    assert_eq!(order(&list), [amber.as_str(), green.as_str()], "the later arrival is due first");
    // The listing is in each listed contact's own trail.
    for id in [&amber, &green] {
        let trail: Value = app.auditor().audit(&[("contact_id", id.as_str())]).await.json();
        let actions: Vec<&str> =
            trail["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"queue.listed"), "{actions:?}");
    }
}

#[tokio::test]
async fn after_a_decision_nothing_fires_no_claim_remains_and_the_contact_leaves_the_queue() {
    let app = spawn_app().await;
    let (practitioner, manager) = (app.practitioner(), app.manager());
    app.set_time(london(2026, 11, 23, 10, 0));
    let id = app.school().submit(amber_contact(app.today(), "AFTER-1")).await;
    let tag = practitioner.claim_next("screening").await.etag();
    let decision = json!({"outcome": "no_further_action", "rationale": "Explained.", "feedback": "No further action.", "threshold_level": "early_help"});
    assert_eq!(practitioner.decide(&id, decision, Some(&tag)).await.status(), 200);
    app.set_time(london(2026, 11, 30, 10, 0)); // a week later
    let fired = app.fire_due_steps().await;
    let decision_events: i64 = app
        .value(
            "select count(*) from events e join clocks c on c.id = e.clock_id where c.contact_id = $1::uuid and c.kind = 'decision'",
            &id,
        )
        .await;
    assert_eq!(decision_events, 0, "no decision-clock step fired after the decision");
    assert_eq!(fired, 3, "only the feedback clock's steps (nobody told the referrer)");
    assert_eq!(app.count("select count(*) from claims").await, 0);
    let list: Value = manager.queue_contacts("screening").await.json();
    assert!(list["contacts"].as_array().unwrap().is_empty());
    // A decided contact cannot be re-rated, and unknown fields are refused, not dropped.
    let rerate = manager.rerate(&id, json!({"urgency": "red", "reason": "late"}), None).await;
    assert_eq!(rerate.problem(409)["code"], "already_decided");
    manager.add_note(&id, json!({"body": "x", "bdy": "y"})).await.problem(422);
    // Auditors, admins and agencies do not work the queues.
    for caller in [app.auditor(), app.admin(), app.school()] {
        caller.claim_next("screening").await.problem(403);
        caller.add_note(&id, json!({"body": "x"})).await.problem(403);
    }
}

#[tokio::test]
async fn a_named_contact_can_be_claimed_unless_someone_else_holds_it() {
    let app = spawn_app().await;
    let practitioner = app.practitioner();
    let id = app.school().submit(green_contact(app.today(), "NAMED-1")).await;
    let other = app.add_practitioner("Other Practitioner").await;
    assert_eq!(practitioner.claim(&id).await.status(), 200);
    assert_eq!(other.claim(&id).await.problem(409)["code"], "claimed_by_other");
    // The lease lapses; the same practitioner takes it back (and the expiry is recorded).
    app.advance_time(TimeDelta::minutes(31));
    practitioner.renew_claim(&id).await.problem(403);
    assert_eq!(practitioner.claim(&id).await.status(), 200);
    assert_eq!(app.count("select count(*) from audit_events where action = 'claim.expired'").await, 1);
    app.auditor().claim(&id).await.problem(403);
}

#[tokio::test]
async fn each_body_accepts_only_its_own_fields_and_a_re_rate_accepts_any_version() {
    let app = spawn_app().await;
    let manager = app.manager();
    let id = app.school().submit(green_contact(app.today(), "FIELDS-1")).await;
    // A field that belongs to another worklist body is still unknown here.
    manager.add_note(&id, json!({"body": "x", "outcome": "early_help"})).await.problem(422);
    // `If-Match: *` means "whatever it is now" on a re-rating too.
    let rerate = manager.rerate(&id, json!({"urgency": "amber", "reason": "Escalating concern."}), Some("*")).await;
    assert_eq!(rerate.status(), 200);
}

#[tokio::test]
async fn a_late_decision_carries_a_reason_from_the_policy_and_one_in_time_does_not() {
    let app = spawn_app().await;
    app.set_time(london(2026, 11, 23, 10, 0));
    // Amber: due Tuesday 10:00 (one working day).
    let id = app.school().submit(amber_contact(app.today(), "LATE-1")).await;
    let manager = app.manager();
    let decision = |extra: Value| {
        let mut d = json!({"outcome": "early_help", "rationale": "Support offered.", "feedback": "Early help offered.", "threshold_level": "early_help"});
        d.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        d
    };
    let pointer = |p: Value| p["errors"][0]["pointer"].as_str().unwrap().to_owned();
    // In time, a late reason is refused: it would count a timely decision as late.
    let p = manager.decide(&id, decision(json!({"late_reason": "capacity"})), Some("*")).await.problem(422);
    assert_eq!(pointer(p), "/late_reason");

    // A minute past the deadline: a reason from the policy is required, and `other` needs its sentence.
    app.set_time(london(2026, 11, 24, 10, 1));
    assert_eq!(pointer(manager.decide(&id, decision(json!({})), Some("*")).await.problem(422)), "/late_reason");
    let unknown = manager.decide(&id, decision(json!({"late_reason": "staff_sickness"})), Some("*")).await;
    assert_eq!(pointer(unknown.problem(422)), "/late_reason");
    let bare_other = manager.decide(&id, decision(json!({"late_reason": "other"})), Some("*")).await;
    assert_eq!(pointer(bare_other.problem(422)), "/late_reason_text");
    let text_for_capacity =
        manager.decide(&id, decision(json!({"late_reason": "capacity", "late_reason_text": "Busy."})), Some("*")).await;
    assert_eq!(pointer(text_for_capacity.problem(422)), "/late_reason_text");
    let late = decision(json!({"late_reason": "other", "late_reason_text": "Waited for the school nurse's record."}));
    assert_eq!(manager.decide(&id, &late, Some("*")).await.status(), 200);

    // Staff see the reason and its sentence; the agency sees neither; the audit holds the code only.
    let staff: Value = manager.get_contact(&id).await.ok();
    assert_eq!(staff["decision"]["late_reason"], "other");
    assert_eq!(staff["decision"]["late_reason_text"], "Waited for the school nurse's record.");
    let agency = app.school().get_contact(&id).await.ok().to_string();
    assert!(!agency.contains("late_reason") && !agency.contains("nurse"), "{agency}");
    let trail = app.auditor().audit(&[("contact_id", id.as_str())]).await.ok().to_string();
    assert!(trail.contains(r#""late_reason":"other""#), "{trail}");
    assert!(!trail.contains("nurse"), "free text stays out of the audit detail");
    let text = app.scrape().await;
    let counted = [("urgency", "amber"), ("queue", "screening"), ("late_reason", "other")];
    assert!((crate::helpers::sample(&text, "mash_late_decisions_total", &counted) - 1.0).abs() < f64::EPSILON);
}

#[tokio::test]
async fn a_decision_records_the_hubs_threshold_level_from_the_policy() {
    let app = spawn_app().await;
    let id = app.school().submit(green_contact(app.today(), "THR-1")).await;
    let manager = app.manager();
    let body = json!({"outcome": "early_help", "rationale": "Support offered.", "feedback": "Early help offered."});
    let p = manager.decide(&id, &body, Some("*")).await.problem(422);
    assert_eq!(p["errors"][0]["pointer"], "/threshold_level", "required");
    let mut unknown = body.clone();
    unknown["threshold_level"] = json!("tier_2");
    let p = manager.decide(&id, &unknown, Some("*")).await.problem(422);
    assert_eq!(p["errors"][0]["pointer"], "/threshold_level", "one of the policy's");
    let mut targeted = body.clone();
    targeted["threshold_level"] = json!("targeted");
    assert_eq!(manager.decide(&id, &targeted, Some("*")).await.status(), 200);
    assert_eq!(manager.get_contact(&id).await.ok()["decision"]["threshold_level"], "targeted");
    assert!(app.school().get_contact(&id).await.ok().get("threshold_level").is_none(), "staff only");
    let trail = app.auditor().audit(&[("contact_id", id.as_str())]).await.ok().to_string();
    assert!(trail.contains(r#""threshold_level":"targeted""#), "{trail}");
}

#[tokio::test]
async fn a_manager_records_why_a_breached_contact_is_late_and_the_decision_takes_it() {
    let app = spawn_app().await;
    app.set_time(london(2026, 11, 23, 10, 0));
    let id = app.school().submit(amber_contact(app.today(), "LATE-2")).await;
    let (manager, practitioner) = (app.manager(), app.practitioner());
    let path = format!("/v1/contacts/{id}/late-reason");
    let reason = json!({"late_reason": "awaiting_partner_information"});
    // In time: nothing to explain yet.
    let early = manager.request(reqwest::Method::POST, &path).json(&reason).send().await;
    assert_eq!(early.problem(422)["errors"][0]["pointer"], "/late_reason");
    // Breached (Tuesday 10:00 passed) and still open: a manager records the reason; a practitioner may not.
    app.set_time(london(2026, 11, 24, 11, 0));
    let refused = practitioner.request(reqwest::Method::POST, &path).json(&reason).send().await;
    assert_eq!(refused.status(), 403);
    let unknown = manager.request(reqwest::Method::POST, &path).json(&json!({"late_reason": "weather"})).send().await;
    assert_eq!(unknown.problem(422)["errors"][0]["pointer"], "/late_reason");
    assert_eq!(manager.request(reqwest::Method::POST, &path).json(&reason).send().await.status(), 200);
    // The decision gives no reason of its own and takes the recorded one.
    let decision = json!({"outcome": "early_help", "rationale": "Support offered.", "feedback": "Early help offered.",
                          "threshold_level": "targeted"});
    assert_eq!(manager.decide(&id, &decision, Some("*")).await.status(), 200);
    let staff: Value = manager.get_contact(&id).await.ok();
    assert_eq!(staff["decision"]["late_reason"], "awaiting_partner_information");
    let trail = app.auditor().audit(&[("contact_id", id.as_str())]).await.ok().to_string();
    assert!(trail.contains("contact.late_reason_recorded"), "{trail}");
    // Decided: nothing more to record.
    let after = manager.request(reqwest::Method::POST, &path).json(&reason).send().await;
    assert_eq!(after.status(), 409);
}

fn nfa() -> Value {
    json!({"outcome": "no_further_action", "rationale": "Explained at school.", "feedback": "No further action.",
           "threshold_level": "universal"})
}

/// An instant in a response.
fn at(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not an instant: {v}"))
}

/// The clock of `kind` in a contact's clocks listing.
fn clock<'a>(clocks: &'a Value, kind: &str) -> Option<&'a Value> {
    clocks["clocks"].as_array().unwrap().iter().find(|c| c["kind"] == kind)
}

#[tokio::test]
async fn closing_an_amber_contact_waits_for_a_manager_and_the_agency_hears_nothing_until_then() {
    let app = spawn_app().await;
    app.set_time(london(2026, 11, 23, 10, 0));
    let id = app.school().submit(amber_contact(app.today(), "AUTH-1")).await;
    let (practitioner, manager) = (app.practitioner(), app.manager());
    assert_eq!(practitioner.claim(&id).await.status(), 200);
    app.set_time(london(2026, 11, 23, 10, 20));
    assert_eq!(practitioner.decide(&id, nfa(), Some("*")).await.status(), 200);

    let staff = manager.get_contact(&id).await.ok();
    assert_eq!(staff["status"], "awaiting_authorisation");
    assert_eq!(staff["decision"]["authorisation"], "awaiting");
    assert_eq!(staff["decision"]["authorisation_reasons"], json!(["closing_red_or_amber"]));
    assert!(staff["decision"].get("authorised_by").is_none());
    // The agency: still being screened, no outcome, no feedback, nothing queued for its webhook.
    let agency = app.school().get_contact(&id).await.ok();
    assert_eq!(agency["status"], "in_screening");
    assert!(agency["outcome"].is_null() && agency.get("feedback").is_none_or(Value::is_null), "{agency}");
    let told = "select count(*) from events where contact_id = $1::uuid and kind = 'contact.decided'";
    assert_eq!(app.value::<i64>(told, &id).await, 0);
    // The authorisation clock runs (one working day, on the ladder); the feedback clock waits.
    let clocks = manager.clocks(&id).await.ok();
    let auth = clock(&clocks, "authorisation").expect("an authorisation clock");
    assert_eq!(auth["state"], "running");
    assert_eq!(at(&auth["deadline"]), london(2026, 11, 24, 10, 20));
    assert!(auth["steps"].as_array().unwrap().iter().any(|s| s["step"] == "breach" && s["status"] == "pending"));
    assert!(clock(&clocks, "feedback").is_none());
    assert_eq!(clock(&clocks, "decision").unwrap()["state"], "stopped");
    // Managers see it in their list; practitioners may neither list nor authorise.
    let list = manager.awaiting_authorisation().await.ok();
    let item = &list["decisions"][0];
    assert_eq!(item["contact_id"], json!(id));
    assert_eq!(item["authorisation_reasons"], json!(["closing_red_or_amber"]));
    assert_eq!(at(&item["due_at"]), london(2026, 11, 24, 10, 20));
    assert_eq!(practitioner.awaiting_authorisation().await.status(), 403);
    assert_eq!(practitioner.authorise(&id, Some("*")).await.status(), 403);
    // No second decision while it waits.
    assert_eq!(manager.decide(&id, nfa(), Some("*")).await.status(), 409);

    // Authorised an hour later, at the contact's current version.
    app.set_time(london(2026, 11, 23, 12, 0));
    assert_eq!(manager.authorise(&id, None).await.status(), 428);
    assert_eq!(manager.authorise(&id, Some("\"1\"")).await.status(), 412);
    let version = staff["version"].to_string();
    let done = manager.authorise(&id, Some(&version)).await.ok();
    assert!(done["version"].as_i64().unwrap() > staff["version"].as_i64().unwrap());
    let staff = manager.get_contact(&id).await.ok();
    assert_eq!(staff["status"], "decided");
    assert_eq!(staff["decision"]["authorisation"], "authorised");
    assert_eq!(at(&staff["decision"]["authorised_at"]), london(2026, 11, 23, 12, 0));
    assert_ne!(staff["decision"]["authorised_by"], staff["decision"]["decided_by"]);
    let agency = app.school().get_contact(&id).await.ok();
    assert_eq!((&agency["status"], &agency["outcome"]), (&json!("decided"), &json!("no_further_action")));
    assert_eq!(agency["feedback"], "No further action.");
    assert_eq!(app.value::<i64>(told, &id).await, 1);
    let clocks = manager.clocks(&id).await.ok();
    assert_eq!(clock(&clocks, "authorisation").unwrap()["stop_reason"], "decision_authorised");
    assert_eq!(clock(&clocks, "feedback").unwrap()["state"], "running");
    assert!(manager.awaiting_authorisation().await.ok()["decisions"].as_array().unwrap().is_empty());
    assert_eq!(manager.authorise(&id, Some("*")).await.problem(409)["code"], "not_awaiting_authorisation");
    let trail = app.auditor().audit(&[("contact_id", id.as_str())]).await.ok().to_string();
    assert!(trail.contains("decision.authorised"), "{trail}");
}

#[tokio::test]
async fn a_manager_never_authorises_their_own_decision_and_an_in_time_referral_needs_no_authorisation() {
    let app = spawn_app().await;
    app.set_time(london(2026, 11, 23, 10, 0));
    let (manager, other) = (app.manager(), app.add_manager("Second Manager").await);
    let closing = app.school().submit(amber_contact(app.today(), "AUTH-OWN")).await;
    assert_eq!(manager.decide(&closing, nfa(), Some("*")).await.status(), 200);
    assert_eq!(manager.authorise(&closing, Some("*")).await.problem(403)["code"], "own_decision");
    assert_eq!(manager.send_back(&closing, json!({"reason": "Mine."}), Some("*")).await.status(), 403);
    assert_eq!(other.authorise(&closing, Some("*")).await.status(), 200);
    // Green and closed, or amber and referred, in time: decided at once.
    let green = app.school().submit(green_contact(app.today(), "AUTH-GREEN")).await;
    assert_eq!(manager.decide(&green, nfa(), Some("*")).await.status(), 200);
    let referral = app.school().submit(amber_contact(app.today(), "AUTH-S17")).await;
    let s17 = json!({"outcome": "s17_assessment", "rationale": "Needs assessment.", "feedback": "Assessment.",
                     "threshold_level": "targeted"});
    assert_eq!(manager.decide(&referral, s17, Some("*")).await.status(), 200);
    for id in [&green, &referral] {
        let staff = manager.get_contact(id).await.ok();
        assert_eq!(staff["status"], "decided");
        assert!(staff["decision"].get("authorisation").is_none(), "{staff}");
    }
}

#[tokio::test]
async fn a_manager_sends_a_decision_back_and_its_author_decides_again_with_the_time_between_not_counted() {
    let app = spawn_app().await;
    app.set_time(london(2026, 11, 23, 10, 0));
    let id = app.school().submit(amber_contact(app.today(), "AUTH-BACK")).await;
    let (practitioner, manager) = (app.practitioner(), app.manager());
    assert_eq!(practitioner.claim(&id).await.status(), 200);
    app.set_time(london(2026, 11, 23, 10, 20));
    assert_eq!(practitioner.decide(&id, nfa(), Some("*")).await.status(), 200);
    app.set_time(london(2026, 11, 23, 12, 0));
    let p = manager.send_back(&id, json!({"reason": ""}), Some("*")).await.problem(422);
    assert_eq!(p["errors"][0]["pointer"], "/reason");
    let reason = "Speak to the school nurse before closing.";
    assert_eq!(manager.send_back(&id, json!({"reason": reason}), Some("*")).await.status(), 200);

    let staff = manager.get_contact(&id).await.ok();
    assert_eq!(staff["status"], "in_screening");
    assert!(staff.get("decision").is_none_or(Value::is_null), "{staff}");
    let back = &staff["sent_back"][0];
    assert_eq!((&back["outcome"], &back["reason"]), (&json!("no_further_action"), &json!(reason)));
    assert_eq!(at(&back["sent_back_at"]), london(2026, 11, 23, 12, 0));
    assert_eq!(app.school().get_contact(&id).await.ok()["status"], "in_screening");
    // The decision clock runs again; the hour with the manager is not the screener's.
    let clocks = manager.clocks(&id).await.ok();
    let decision = clock(&clocks, "decision").unwrap();
    assert_eq!(decision["state"], "running");
    // 20 minutes used before the decision, so 7 h 40 m of the working day remain from 12:00.
    assert_eq!(at(&decision["deadline"]), london(2026, 11, 24, 11, 40));
    assert_eq!(clock(&clocks, "authorisation").unwrap()["stop_reason"], "decision_sent_back");
    // Back with its author, who decides again: a referral, so no authorisation.
    let s17 = json!({"outcome": "s17_assessment", "rationale": "Nurse confirms concerns.", "feedback": "Assessment.",
                     "threshold_level": "targeted"});
    assert_eq!(app.add_practitioner("Other").await.decide(&id, &s17, Some("*")).await.status(), 403);
    assert_eq!(practitioner.decide(&id, &s17, Some("*")).await.status(), 200);
    let agency = app.school().get_contact(&id).await.ok();
    assert_eq!(agency["outcome"], "s17_assessment");
    let trail = app.auditor().audit(&[("contact_id", id.as_str())]).await.ok().to_string();
    assert!(trail.contains("decision.sent_back") && !trail.contains(reason), "{trail}");
}

#[tokio::test]
async fn any_decision_on_a_breached_contact_needs_authorisation_whose_own_clock_breaches_on_the_ladder() {
    let app = spawn_app().await;
    app.set_time(london(2026, 11, 23, 10, 0));
    let id = app.school().submit(amber_contact(app.today(), "AUTH-LATE")).await;
    app.set_time(london(2026, 11, 24, 11, 0));
    assert!(app.fire_due_steps().await > 0);
    let early_help = json!({"outcome": "early_help", "rationale": "Support.", "feedback": "Early help offered.",
                            "threshold_level": "early_help", "late_reason": "capacity"});
    assert_eq!(app.practitioner().decide(&id, &early_help, Some("*")).await.status(), 403);
    let manager = app.manager();
    assert_eq!(manager.decide(&id, &early_help, Some("*")).await.status(), 200);
    let staff = manager.get_contact(&id).await.ok();
    assert_eq!(staff["decision"]["authorisation_reasons"], json!(["breached"]));
    // Nobody authorises it: its clock escalates and breaches like any other.
    app.set_time(london(2026, 11, 25, 11, 30));
    assert!(app.fire_due_steps().await > 0);
    let clocks = manager.clocks(&id).await.ok();
    let auth = clock(&clocks, "authorisation").unwrap();
    let fired: Vec<&str> = auth["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "fired")
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(fired, ["reminder", "escalate", "breach"]);
    let breaches = app.value::<i64>(
        "select count(*) from breaches b join clocks k on k.id = b.clock_id
          where k.contact_id = $1::uuid and k.kind = 'authorisation'",
        &id,
    );
    assert_eq!(breaches.await, 1);
}

#[tokio::test]
async fn the_board_counts_what_will_breach_by_close_today_if_nobody_acts() {
    let app = spawn_app().await;
    app.set_time(london(2026, 11, 23, 10, 0));
    app.school().submit(amber_contact(app.today(), "CLOSE-1")).await; // due Tue 10:00
    app.set_time(london(2026, 11, 23, 16, 0));
    app.school().submit(amber_contact(app.today(), "CLOSE-2")).await; // due Tue 16:00
    let screening =
        |q: &Value| q["queues"].as_array().unwrap().iter().find(|x| x["queue"] == "screening").unwrap().clone();
    assert_eq!(screening(&app.manager().queues().await.ok())["breach_by_close"], 0, "Monday: nothing due before 17:00");
    app.set_time(london(2026, 11, 24, 9, 30));
    let tuesday = screening(&app.manager().queues().await.ok());
    assert_eq!(tuesday["breach_by_close"], 2, "Tuesday: both due before 17:00");
    assert_eq!(tuesday["oldest_unclaimed_age_minutes"], 23 * 60 + 30, "CLOSE-1, received Monday 10:00");
    app.set_time(london(2026, 11, 24, 10, 30));
    assert_eq!(screening(&app.manager().queues().await.ok())["breach_by_close"], 1, "one already past its deadline");
}
