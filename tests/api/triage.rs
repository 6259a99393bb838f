//! Triage through HTTP: the shared cases, reasons and their visibility, matching children,
//! re-rating.

use serde_json::{Value, json};

use crate::{
    fixtures::{cases, example_contact},
    helpers::{Overrides, TestApp, assert_problem, spawn_app, spawn_app_with},
};

async fn post(app: &TestApp, key: &str, body: &Value) -> Value {
    let resp = app.post_contact(key, body).await;
    assert_eq!(resp.status(), 201, "{body}");
    resp.json().await.unwrap()
}

async fn staff_view(app: &TestApp, id: &str) -> Value {
    let resp = app.get_contact(&app.practitioner, id).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn all_24_shared_cases_get_their_expected_urgency_and_queue() {
    let app = spawn_app().await;
    let mut failures = Vec::new();
    for case in cases(app.today()) {
        let key = app.agency_key(&case.agency_kind).to_owned();
        for prior in &case.prior {
            post(&app, &key, prior).await;
        }
        let contact = post(&app, &key, &case.contact).await;
        let got = json!({"urgency": contact["urgency"], "queue": contact["queue"]});
        if got != case.expect {
            failures.push(format!("{}: expected {} got {got}", case.id, case.expect));
        }
        // The stored contact reads back the same.
        let read: Value = app.get_contact(&key, contact["id"].as_str().unwrap()).await.json().await.unwrap();
        assert_eq!(read["urgency"], contact["urgency"]);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn the_third_contact_about_a_child_is_raised_and_only_staff_see_why() {
    let app = spawn_app().await;
    let today = app.today();
    let neglect = |reference: &str, nhs: &str, given: &str| {
        let mut c = example_contact(today, reference);
        c["children"] =
            json!([{"given_name": given, "family_name": "Okafor", "date_of_birth": "2019-03-02", "nhs_number": nhs}]);
        c["concerns"] = json!(["neglect"]);
        c["injury"] = Value::Null;
        c["police"] = Value::Null;
        c["narrative"] = json!("Child arrived at school hungry again.");
        c
    };
    // Two earlier contacts: one from the school matched by NHS number, one from the police
    // matched only by names and date of birth (spelt differently).
    post(&app, &app.school.key, &neglect("N-1", "9434765919", "Chidi")).await;
    let mut by_name = neglect("N-2", "", " CHIDI ");
    by_name["children"][0]["nhs_number"] = Value::Null;
    post(&app, &app.police.key, &by_name).await;
    let third = post(&app, &app.school.key, &neglect("N-3", "943 476 5919", "Chidi")).await;
    assert_eq!(third["urgency"], "amber");

    // The school's view does not reveal that other agencies made contacts.
    let rules: Vec<&str> =
        third["classification"]["reasons"].as_array().unwrap().iter().map(|r| r["rule"].as_str().unwrap()).collect();
    assert!(!rules.contains(&"repeat_contacts"), "agency sees: {rules:?}");
    let full = staff_view(&app, third["id"].as_str().unwrap()).await;
    let staff_rules: Vec<&str> =
        full["classification"]["reasons"].as_array().unwrap().iter().map(|r| r["rule"].as_str().unwrap()).collect();
    assert!(staff_rules.contains(&"repeat_contacts"), "staff see: {staff_rules:?}");
    assert_eq!(full["children"][0]["matched_contact_ids"].as_array().unwrap().len(), 2);
    assert_eq!(full["ratings"][0]["kind"], "classification");
    assert_eq!(full["ratings"][0]["actor_kind"], "system");

    // Staff follow the child across contacts.
    let child_id = full["children"][0]["id"].as_str().unwrap();
    let resp = app
        .client
        .get(app.url(&format!("/v1/children/{child_id}/contacts")))
        .bearer_auth(&app.manager)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let list: Value = resp.json().await.unwrap();
    let matched: Vec<&str> =
        list["contacts"].as_array().unwrap().iter().map(|c| c["matched_on"].as_str().unwrap()).collect();
    assert_eq!(matched.len(), 3);
    assert!(
        matched.contains(&"self") && matched.contains(&"nhs_number") && matched.contains(&"name_and_date_of_birth"),
        "{matched:?}"
    );
    // The listing is a read of each contact shown, recorded in each one's trail.
    assert_eq!(
        app.count("select count(distinct contact_id) from audit_events where action = 'child.contacts_read'").await,
        3
    );
    for key in [&app.admin, &app.police.key] {
        let resp = app
            .client
            .get(app.url(&format!("/v1/children/{child_id}/contacts")))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_problem(resp, 403).await;
    }
    let unknown = uuid::Uuid::now_v7();
    let resp = app
        .client
        .get(app.url(&format!("/v1/children/{unknown}/contacts")))
        .bearer_auth(&app.manager)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404).await;
}

#[tokio::test]
async fn a_different_child_with_the_same_surname_is_not_a_match() {
    let app = spawn_app().await;
    let today = app.today();
    let child = |reference: &str, given: &str, dob: &str| {
        let mut c = example_contact(today, reference);
        c["children"] = json!([{"given_name": given, "family_name": "Smith", "date_of_birth": dob}]);
        c["concerns"] = json!(["neglect"]);
        c["injury"] = Value::Null;
        c["narrative"] = json!("Concern about home conditions.");
        c
    };
    post(&app, &app.school.key, &child("S-1", "Noah", "2018-01-01")).await;
    post(&app, &app.school.key, &child("S-2", "Ava", "2018-01-02")).await;
    let third = post(&app, &app.school.key, &child("S-3", "Ava", "2018-01-01")).await;
    assert_eq!(third["urgency"], "green", "no earlier contact is about this child");
    let full = staff_view(&app, third["id"].as_str().unwrap()).await;
    assert_eq!(full["children"][0]["matched_contact_ids"], json!([]));
}

#[tokio::test]
async fn a_manager_re_rates_with_a_reason_and_the_original_stays_on_record() {
    let app = spawn_app().await;
    let mut body = example_contact(app.today(), "RR-1");
    body["children"] = json!([{"given_name": "Mia", "family_name": "Hart", "date_of_birth": "2015-06-01"}]);
    body["concerns"] = json!(["domestic_abuse"]);
    body["police"] = json!({"dash_risk": "medium", "child_present": true});
    body["injury"] = Value::Null;
    body["narrative"] = json!("Verbal argument reported by a neighbour.");
    let contact = post(&app, &app.police.key, &body).await;
    assert_eq!((contact["urgency"].as_str(), contact["queue"].as_str()), (Some("green"), Some("domestic-abuse")));
    let id = contact["id"].as_str().unwrap();
    let rerate = |key: &str, payload: Value| {
        app.client.post(app.url(&format!("/v1/contacts/{id}/rerate"))).bearer_auth(key).json(&payload).send()
    };

    // Only managers re-rate, always with a reason, to a real and different level.
    for key in [&app.practitioner, &app.auditor, &app.admin, &app.police.key] {
        assert_problem(rerate(key, json!({"urgency": "red", "reason": "x"})).await.unwrap(), 403).await;
    }
    let p = assert_problem(rerate(&app.manager, json!({"urgency": "red", "reason": "  "})).await.unwrap(), 422).await;
    assert_eq!(p["errors"][0]["pointer"], "/reason");
    let p = assert_problem(rerate(&app.manager, json!({"urgency": "purple", "reason": "r"})).await.unwrap(), 422).await;
    assert_eq!(p["errors"][0]["pointer"], "/urgency");
    let p = assert_problem(rerate(&app.manager, json!({"urgency": "green", "reason": "r"})).await.unwrap(), 422).await;
    assert_eq!(p["errors"][0]["pointer"], "/urgency");
    assert_problem(rerate(&app.manager, json!({"urgency": "red"})).await.unwrap(), 422).await;

    // Up to red: the queue follows the policy's routes.
    let resp = rerate(&app.manager, json!({"urgency": "red", "reason": "Police intelligence of weapons in the home."}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let up: Value = resp.json().await.unwrap();
    assert_eq!(
        (up["urgency"].as_str(), up["previous_urgency"].as_str(), up["queue"].as_str()),
        (Some("red"), Some("green"), Some("immediate"))
    );
    // And down to amber: back to the domestic-abuse queue.
    let down: Value = rerate(&app.manager, json!({"urgency": "amber", "reason": "Weapons removed by police."}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(down["queue"], "domestic-abuse");
    assert_eq!(down["version"], 3);

    let full = staff_view(&app, id).await;
    assert_eq!(full["urgency"], "amber");
    assert_eq!(full["classification"]["urgency"], "green", "the policy's original decision stays");
    let kinds: Vec<(&str, &str)> = full["ratings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["urgency"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("classification", "green"), ("rerate", "red"), ("rerate", "amber")]);
    assert_eq!(full["ratings"][1]["reason"], "Police intelligence of weapons in the home.");
    assert_eq!(full["ratings"][1]["actor_kind"], "staff");
    // The agency sees the current urgency but never the manager's reason.
    let agency: Value = app.get_contact(&app.police.key, id).await.json().await.unwrap();
    assert_eq!(agency["urgency"], "amber");
    assert!(!agency.to_string().contains("Weapons"));
    // Audited, with codes only.
    let details: Vec<String> =
        sqlx::query_scalar("select detail::text from audit_events where action = 'contact.rerated' order by id")
            .fetch_all(app.db())
            .await
            .unwrap();
    assert_eq!(details.len(), 2);
    assert!(details.iter().all(|d| !d.contains("eapons")), "reasons stay out of the audit detail");
    let unknown = uuid::Uuid::now_v7();
    let resp = app
        .client
        .post(app.url(&format!("/v1/contacts/{unknown}/rerate")))
        .bearer_auth(&app.manager)
        .json(&json!({"urgency": "red", "reason": "r"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404).await;
}

#[tokio::test]
async fn three_contacts_about_one_child_in_one_batch_raise_exactly_the_last() {
    // A clock that moves on at every reading, as real time does, so the contacts in the batch
    // (stored four at a time) get distinct receipt times and their order matters.
    let app =
        spawn_app_with(Overrides { clock_step: Some(chrono::TimeDelta::milliseconds(1)), ..Overrides::default() })
            .await;
    let today = app.today();
    let contacts: Vec<Value> = (0..3)
        .map(|i| {
            let mut c = example_contact(today, &format!("WEEKEND-{i}"));
            c["children"] = json!([{"given_name": "Leo", "family_name": "Grant", "date_of_birth": "2017-04-09"}]);
            c["concerns"] = json!(["neglect"]);
            c["injury"] = Value::Null;
            c["police"] = Value::Null;
            c["narrative"] = json!("Child found alone at home late at night.");
            c
        })
        .collect();
    let resp = app
        .client
        .post(app.url("/v1/contacts/batch"))
        .bearer_auth(&app.police.key)
        .json(&json!({"contacts": contacts}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 207);
    let body: Value = resp.json().await.unwrap();
    let mut urgencies: Vec<&str> =
        body["results"].as_array().unwrap().iter().map(|r| r["contact"]["urgency"].as_str().unwrap()).collect();
    urgencies.sort_unstable();
    assert_eq!(urgencies, ["amber", "green", "green"], "exactly one of the three is the third contact");
}

#[tokio::test]
async fn a_re_rating_from_a_stale_read_is_refused_with_412() {
    let app = spawn_app().await;
    let contact = post(&app, &app.police.key, &example_contact(app.today(), "ETAG-1")).await;
    let id = contact["id"].as_str().unwrap();
    let resp = app.get_contact(&app.manager, id).await;
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, "\"1\"");
    let rerate = |tag: &str, urgency: &str| {
        app.client
            .post(app.url(&format!("/v1/contacts/{id}/rerate")))
            .bearer_auth(&app.manager)
            .header("if-match", tag)
            .json(&json!({"urgency": urgency, "reason": "Reviewed with the police."}))
            .send()
    };
    let first = rerate(&etag, "amber").await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["etag"], "\"2\"");
    // A second manager still holding version 1 is told to read again; nothing changes.
    let problem = assert_problem(rerate(&etag, "green").await.unwrap(), 412).await;
    assert_eq!(problem["code"], "version_mismatch");
    let full = staff_view(&app, id).await;
    assert_eq!(full["urgency"], "amber");
    assert_eq!(full["ratings"].as_array().unwrap().len(), 2);
    // The agency view carries no ETag (agencies do not update contacts).
    assert!(app.get_contact(&app.police.key, id).await.headers().get("etag").is_none());
}
