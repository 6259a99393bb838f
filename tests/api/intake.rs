//! POST /v1/contacts, /v1/contacts/batch and GET /v1/contacts/{id} through HTTP.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    fixtures::{cases, contact_about, example_contact, unknown_id},
    helpers::spawn_app,
};

#[tokio::test]
async fn every_shared_triage_case_is_accepted_with_201() {
    let app = spawn_app().await;
    let today = app.today();
    let all = cases(today);
    assert_eq!(all.len(), 24, "the shared fixture holds 24 cases");
    for case in all {
        let agency = app.agency(&case.agency_kind);
        for prior in &case.prior {
            assert_eq!(agency.create_contact(prior).await.status(), 201, "case {} prior", case.id);
        }
        let resp = agency.create_contact(&case.contact).await;
        assert_eq!(resp.status(), 201, "case {}: {}", case.id, resp.text());
        let body: Value = resp.json();
        assert_eq!(body["status"], "awaiting_screening", "case {}", case.id);
    }
}

#[tokio::test]
async fn the_api_example_is_created_with_location_triaged_and_undecided_fields_null() {
    let app = spawn_app().await;
    let body = example_contact(app.today(), "PPN-2026-004211");
    let resp = app.police().create_contact(&body).await;
    let contact = resp.created();
    let location = resp.header("location").unwrap();
    let id = contact["id"].as_str().unwrap();
    assert!(location.ends_with(&format!("/v1/contacts/{id}")), "{location}");
    assert_eq!(contact["agency_reference"], "PPN-2026-004211");
    assert_eq!(contact["status"], "awaiting_screening");
    // Triaged at intake: a bruised 4-month-old is red and goes to the immediate queue.
    assert_eq!(contact["urgency"], "red");
    assert_eq!(contact["queue"], "immediate");
    assert_eq!(contact["classification"]["urgency"], "red");
    assert_eq!(contact["classification"]["reasons"][0]["rule"], "injury_non_mobile");
    assert!(contact["classification"]["policy_version"].as_str().unwrap().starts_with("default-2026.3+sha256:"));
    // The red decision clock: 4 elapsed hours from receipt.
    let received = chrono::DateTime::parse_from_rfc3339(contact["received_at"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(contact["decision_due_at"].as_str().unwrap()).unwrap();
    assert_eq!(due - received, chrono::TimeDelta::hours(4));
    assert!(contact.get("outcome").is_some_and(Value::is_null), "undecided: {contact}");
    // The agency view never carries the submission back.
    assert!(contact.get("submission").is_none());
    assert_eq!(app.count("select count(*) from contacts").await, 1);
    assert_eq!(app.count("select count(*) from audit_events where action = 'contact.submitted'").await, 1);
}

#[tokio::test]
async fn a_retry_with_the_same_body_returns_the_original_and_a_different_body_conflicts() {
    let app = spawn_app().await;
    let police = app.police();
    let body = example_contact(app.today(), "REF-1");
    let first = police.create_contact(&body).await.created();

    // Same body, different key order and an explicit null: still the same contact.
    let mut same = body.clone();
    same["health"] = Value::Null;
    let resp = police.create_contact(&same).await;
    let replay = resp.ok();
    assert!(resp.header("location").is_some());
    assert_eq!(replay["id"], first["id"]);
    assert_eq!(replay["received_at"], first["received_at"]);

    let mut different = body.clone();
    different["narrative"] = json!("A different account of events.");
    let problem = police.create_contact(&different).await.problem(409);
    assert_eq!(problem["code"], "agency_reference_conflict");
    assert_eq!(app.count("select count(*) from contacts").await, 1);

    // The same reference from another agency is a different contact.
    assert_eq!(app.school().create_contact(&body).await.status(), 201);
}

#[tokio::test]
async fn racing_identical_requests_make_exactly_one_contact() {
    let app = spawn_app().await;
    let body = example_contact(app.today(), "RACE-1");
    let police = app.police();
    let requests = (0..16).map(|_| police.create_contact(&body));
    let responses = futures_util::future::join_all(requests).await;
    let mut ids = std::collections::BTreeSet::new();
    let mut created = 0;
    for resp in responses {
        match resp.status() {
            201 => created += 1,
            200 => {}
            other => panic!("unexpected status {other}"),
        }
        let contact: Value = resp.json();
        ids.insert(contact["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(created, 1, "exactly one request creates the contact");
    assert_eq!(ids.len(), 1, "every request sees the same contact");
    assert_eq!(app.count("select count(*) from contacts").await, 1);
    assert_eq!(app.count("select count(*) from audit_events where action = 'contact.submitted'").await, 1);
}

#[tokio::test]
async fn racing_different_bodies_under_one_reference_store_one_and_refuse_the_rest() {
    let app = spawn_app().await;
    let today = app.today();
    let police = &app.police();
    let requests = (0..8).map(|i| {
        let mut body = example_contact(today, "RACE-2");
        body["narrative"] = json!(format!("Version {i} of the account."));
        async move { police.create_contact(&body).await.status() }
    });
    let mut statuses = futures_util::future::join_all(requests).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(app.count("select count(*) from contacts").await, 1);
}

/// Contacts sent at the same moment are stored together, a transaction for several (group
/// commit), and each still gets all it would have had alone: its children, first rating, clock
/// and ladder steps, agency view, and an audit event by the agency that sent it.
#[tokio::test]
async fn contacts_sent_at_once_share_transactions_and_each_keeps_its_own_rows_and_audit_event() {
    let app = spawn_app().await;
    let today = app.today();
    let (police, school) = (&app.police(), &app.school());
    let requests = (0..24).map(|i| {
        let caller = if i % 2 == 0 { police } else { school };
        let child = json!({"given_name": "Sam", "family_name": format!("Together{i}"), "date_of_birth": "2016-03-04"});
        let body = contact_about(today, &format!("TOGETHER-{i}"), child, "neglect", "Found alone at home at night.");
        async move { (format!("TOGETHER-{i}"), caller.create_contact(&body).await) }
    });
    for (reference, resp) in futures_util::future::join_all(requests).await {
        assert_eq!(resp.status(), 201, "{}", resp.text());
        let body: Value = resp.json();
        // Each answer is its own request's contact.
        assert_eq!(body["agency_reference"], reference.as_str());
        let id = body["id"].as_str().unwrap();
        assert!(resp.header("location").is_some_and(|l| l.ends_with(id)), "Location names the contact");
        let stored: String = app.value("select id::text from contacts where agency_reference = $1", &reference).await;
        assert_eq!(stored, id);
        assert!(body["urgency"].is_string() && body["decision_due_at"].is_string(), "answered triaged: {body}");
    }
    assert_eq!(app.count("select count(*) from contacts").await, 24);
    // A row's xmin is the transaction that wrote it (its rating is written in the same one).
    let transactions = app.count("select count(distinct xmin::text) from contacts").await;
    assert!(transactions < 24, "24 contacts sent at once were stored in {transactions} transactions");
    let each_has = [
        "select count(*) from contacts c where c.urgency is null or c.agency_urgency is null or c.own_view is null",
        "select count(*) from contacts c where (select count(*) from contact_children h where h.contact_id = c.id) <> 1",
        "select count(*) from contacts c where (select count(*) from contact_ratings r where r.contact_id = c.id) <> 1",
        "select count(*) from contacts c where (select count(*) from clocks k where k.contact_id = c.id) <> 1",
        "select count(*) from clocks k where (select count(*) from ladder_steps s where s.clock_id = k.id) not in (3, 4)",
        "select count(*) from clocks k join contacts c on c.id = k.contact_id where k.deadline is distinct from c.decision_due_at",
        "select count(*) from contacts c where (select count(*) from audit_events e where e.contact_id = c.id
            and e.action = 'contact.submitted' and e.actor_kind = 'agency' and e.actor_id = c.agency_id) <> 1",
    ];
    for sql in each_has {
        assert_eq!(app.count(sql).await, 0, "a contact stored with others lacks its own rows: {sql}");
    }
}

/// A retry sent together with new contacts is answered as a replay of the stored contact, and
/// writes nothing, while the others are stored.
#[tokio::test]
async fn a_retry_sent_with_new_contacts_is_a_replay_and_the_new_ones_are_stored() {
    let app = spawn_app().await;
    let today = app.today();
    let police = &app.police();
    let first = example_contact(today, "RETRIED");
    let id = police.submit(&first).await;
    let requests = (0..12).map(|i| {
        let body = if i == 6 {
            first.clone()
        } else {
            let child = json!({"given_name": "Noor", "family_name": format!("New{i}"), "date_of_birth": "2014-02-02"});
            contact_about(today, &format!("NEW-{i}"), child, "neglect", "Found alone at home at night.")
        };
        async move { (i, police.create_contact(&body).await) }
    });
    for (i, resp) in futures_util::future::join_all(requests).await {
        if i == 6 {
            assert_eq!(resp.status(), 200, "{}", resp.text());
            assert_eq!(resp.json::<Value>()["id"], id.as_str());
        } else {
            assert_eq!(resp.status(), 201, "{}", resp.text());
        }
    }
    assert_eq!(app.count("select count(*) from contacts").await, 12);
    assert_eq!(app.count("select count(*) from clocks").await, 12);
    assert_eq!(app.count("select count(*) from contact_children").await, 12);
    assert_eq!(app.count("select count(*) from audit_events where action = 'contact.submitted'").await, 12);
    assert_eq!(app.count("select count(*) from audit_events where action = 'contact.replayed'").await, 1);
}

/// A contact the database refuses fails alone: the transaction it shared is stored again one
/// contact at a time, so the contacts sent with it are stored and answered 201.
#[tokio::test]
async fn a_contact_the_database_refuses_never_fails_the_contacts_sent_with_it() {
    let app = spawn_app().await;
    // A refusal as a broken invariant would give, for one reference only.
    sqlx::raw_sql(
        "create function refuse_poison() returns trigger language plpgsql as $$
         begin
             if new.agency_reference = 'POISON' then raise exception 'refused'; end if;
             return new;
         end $$;
         create trigger refuse_poison before insert on contacts for each row execute function refuse_poison();",
    )
    .execute(app.owner_db())
    .await
    .unwrap();
    let today = app.today();
    let police = &app.police();
    let requests = (0..16).map(|i| {
        let reference = if i == 5 { "POISON".to_owned() } else { format!("SAFE-{i}") };
        let child = json!({"given_name": "Kit", "family_name": format!("Safe{i}"), "date_of_birth": "2015-07-01"});
        let body = contact_about(today, &reference, child, "neglect", "Found alone at home at night.");
        async move { (reference, police.create_contact(&body).await.status()) }
    });
    for (reference, status) in futures_util::future::join_all(requests).await {
        let expected = if reference == "POISON" { 500 } else { 201 };
        assert_eq!(status, expected, "{reference}");
    }
    assert_eq!(app.count("select count(*) from contacts").await, 15);
    assert_eq!(app.count("select count(*) from audit_events where action = 'contact.submitted'").await, 15);
    assert_eq!(app.count("select count(*) from clocks").await, 15);
}

#[tokio::test]
async fn validation_reports_every_problem_with_its_pointer_in_one_response() {
    let app = spawn_app().await;
    let mut body = example_contact(app.today(), "BAD-1");
    body["children"][0]["nhs_number"] = json!("9434765918");
    body["children"][0]["upn"] = json!("A801200005001");
    body["children"][0]["date_of_birth"] = json!("2999-01-01");
    body["children"].as_array_mut().unwrap().push(json!({"expected_date_of_birth": "2999-01-01"}));
    body["concerns"] = json!(["neglect", "not_a_concern"]);
    body["consent"] = json!({"status": "not_sought"});
    body["referrer"].as_object_mut().unwrap().remove("role");
    body["police"]["dash_risk"] = json!("extreme");
    body["incident_at"] = json!("yesterday");
    body["unexpected"] = json!(true);
    body.as_object_mut().unwrap().remove("narrative");
    let problem = app.police().create_contact(&body).await.problem(422);
    assert_eq!(problem["code"], "validation_failed");
    let mut pointers: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    pointers.sort_unstable();
    assert_eq!(
        pointers,
        [
            "/children/0/date_of_birth",
            "/children/0/nhs_number",
            "/children/0/upn",
            "/children/1/expected_date_of_birth",
            "/concerns/1",
            "/consent/reason_not_sought",
            "/incident_at",
            "/narrative",
            "/police/dash_risk",
            "/referrer/role",
            "/unexpected",
        ]
    );
    let text = problem.to_string();
    for personal in ["9434765918", "A801200005001", "Ava", "Smith", "Stockport", "2999-01-01"] {
        assert!(!text.contains(personal), "the problem quotes submitted data: {personal}");
    }
    assert_eq!(app.count("select count(*) from contacts").await, 0);
}

#[tokio::test]
async fn malformed_json_is_400_and_quotes_nothing() {
    let app = spawn_app().await;
    let problem = app
        .police()
        .request(Method::POST, "/v1/contacts")
        .header("content-type", "application/json")
        .body(r#"{"agency_reference": "R", "narrative": "Ava Smith was"#)
        .send()
        .await
        .problem(400);
    assert_eq!(problem["code"], "malformed_json");
    assert!(!problem.to_string().contains("Ava"));
}

#[tokio::test]
async fn a_body_that_is_not_json_by_content_type_is_415() {
    let app = spawn_app().await;
    let police = app.police();
    for content_type in [Some("text/plain"), Some("application/xml"), None] {
        let mut req = police.request(Method::POST, "/v1/contacts").body("{}");
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let problem = req.send().await.problem(415);
        assert_eq!(problem["code"], "unsupported_media_type", "{content_type:?}");
    }
    // A JSON media type with parameters or a +json suffix is fine.
    let body = example_contact(app.today(), "CT-1").to_string();
    let resp = police
        .request(Method::POST, "/v1/contacts")
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await;
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn an_oversized_body_is_413_declared_or_chunked() {
    let app = spawn_app().await;
    let mut body = example_contact(app.today(), "BIG-1");
    body["narrative"] = json!("x".repeat(2 * 1024 * 1024));
    let problem = app.police().create_contact(&body).await.problem(413);
    assert_eq!(problem["code"], "body_too_large");

    // Chunked: no Content-Length to refuse early, so the limit applies while reading. Just over
    // the limit, so the client has finished sending when the answer comes.
    body["narrative"] = json!("x".repeat(1024 * 1024));
    let bytes = body.to_string().into_bytes();
    let stream = futures_util::stream::iter(
        bytes.chunks(64 * 1024).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>(),
    );
    app.police()
        .request(Method::POST, "/v1/contacts")
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .problem(413);
    assert_eq!(app.count("select count(*) from contacts").await, 0);
}

#[tokio::test]
async fn missing_unknown_and_malformed_keys_are_401() {
    let app = spawn_app().await;
    let body = example_contact(app.today(), "AUTH-1");
    let resp = app.anonymous().create_contact(&body).await;
    assert_eq!(resp.header("www-authenticate"), Some("Bearer"));
    assert_eq!(resp.problem(401)["code"], "unauthenticated");
    for key in ["mash_000000000000000000000000000000000000000000000000", "not-a-key", ""] {
        app.caller(key).create_contact(&body).await.problem(401);
    }
    app.anonymous()
        .request(Method::GET, "/v1/audit")
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .problem(401);
    assert_eq!(app.count("select count(*) from contacts").await, 0);
}

#[tokio::test]
async fn staff_keys_cannot_submit_and_admins_cannot_read_cases() {
    let app = spawn_app().await;
    let body = example_contact(app.today(), "ROLE-1");
    for staff in app.all_staff() {
        assert_eq!(staff.create_contact(&body).await.problem(403)["code"], "forbidden");
        staff.create_contacts(std::slice::from_ref(&body)).await.problem(403);
    }
    let id = app.police().submit(&body).await;
    app.admin().get_contact(&id).await.problem(403);
}

#[tokio::test]
async fn an_agency_sees_its_own_contact_and_another_agencys_is_not_found() {
    let app = spawn_app().await;
    let (police, school) = (app.police(), app.school());
    let body = example_contact(app.today(), "OWN-1");
    let created = police.create_contact(&body).await.created();
    let id = created["id"].as_str().unwrap();

    let view = police.get_contact(id).await.ok();
    assert_eq!(view, created, "the agency reads back what it was given");

    let other = school.get_contact(id).await.problem(404);
    let missing = school.get_contact(&unknown_id()).await.problem(404);
    assert_eq!(other, missing, "another agency's contact is indistinguishable from none");
    // An id that is not a UUID names no contact: 404 like any other unknown id.
    assert_eq!(police.get_contact("not-a-uuid").await.problem(404), missing);
}

#[tokio::test]
async fn staff_see_the_full_contact_and_every_read_is_audited() {
    let app = spawn_app().await;
    let police = app.police();
    let body = example_contact(app.today(), "FULL-1");
    let created = police.create_contact(&body).await.created();
    let id = created["id"].as_str().unwrap();
    for staff in [app.practitioner(), app.manager(), app.auditor()] {
        let full = staff.get_contact(id).await.ok();
        assert_eq!(full["id"], created["id"]);
        assert_eq!(full["agency"]["id"], police.agency_id());
        assert_eq!(full["agency"]["kind"], "police");
        assert_eq!(full["submission"]["children"][0]["given_name"], "Ava");
        assert_eq!(full["submission"]["narrative"], body["narrative"]);
        assert_eq!(full["submission"]["concerns"], json!(["physical_abuse", "domestic_abuse"]));
        assert_eq!(full["history"][0]["action"], "contact.submitted");
        assert_eq!(full["history"].as_array().unwrap().len(), 1, "reads are not history");
        assert_eq!(full["version"], 1);
    }
    police.get_contact(id).await;
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'contact.read' and actor_kind = 'staff'").await,
        3
    );
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'contact.read' and actor_kind = 'agency'").await,
        1
    );
}

#[tokio::test]
async fn a_batch_handles_each_item_on_its_own() {
    let app = spawn_app().await;
    let today = app.today();
    let good = example_contact(today, "B-1");
    let mut bad = example_contact(today, "B-2");
    bad["children"][0]["nhs_number"] = json!("1234567890");
    let mut conflicting = example_contact(today, "B-1");
    conflicting["narrative"] = json!("Another account.");
    let second = example_contact(today, "B-3");
    let batch = [good, bad, second, conflicting];
    let police = app.police();
    let results = police.create_contacts(&batch).await.expect(207);
    let results = results["results"].as_array().unwrap();
    let summary: Vec<(u64, u64)> =
        results.iter().map(|r| (r["index"].as_u64().unwrap(), r["status"].as_u64().unwrap())).collect();
    assert_eq!(summary, [(0, 201), (1, 422), (2, 201), (3, 409)]);
    assert_eq!(results[1]["problem"]["errors"][0]["pointer"], "/children/0/nhs_number");
    assert!(results[0]["contact"]["id"].is_string());

    // The whole batch again: every stored item is a replay, the bad one is still bad.
    let again: Value = police.create_contacts(&batch).await.json();
    let statuses: Vec<u64> =
        again["results"].as_array().unwrap().iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [200, 422, 200, 409]);
    assert_eq!(again["results"][0]["contact"]["id"], results[0]["contact"]["id"]);
    assert_eq!(app.count("select count(*) from contacts").await, 2);
}

#[tokio::test]
async fn a_batch_of_500_is_accepted_and_501_is_refused_whole() {
    let app = spawn_app().await;
    let today = app.today();
    let police = app.police();
    let contacts: Vec<Value> = (0..500).map(|i| example_contact(today, &format!("MORNING-{i}"))).collect();
    let body = police.create_contacts(&contacts).await.expect(207);
    assert!(body["results"].as_array().unwrap().iter().all(|r| r["status"] == 201));
    assert_eq!(app.count("select count(*) from contacts").await, 500);

    let contacts: Vec<Value> = (0..501).map(|i| example_contact(today, &format!("EXTRA-{i}"))).collect();
    let problem = police.create_contacts(&contacts).await.problem(422);
    assert_eq!(problem["errors"][0]["pointer"], "/contacts");
    assert_eq!(app.count("select count(*) from contacts").await, 500);
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems_too() {
    let app = spawn_app().await;
    app.anonymous().request(Method::GET, "/v1/nothing-here").send().await.problem(404);
    app.police().request(Method::DELETE, "/v1/contacts").send().await.problem(405);
}

#[tokio::test]
async fn a_repeated_field_is_400_so_a_second_value_cannot_hide_the_first() {
    let app = spawn_app().await;
    let body = example_contact(app.today(), "DUP-1").to_string();
    let body = body.replacen('{', r#"{"immediate_risk": true, "#, 1).replacen(
        r#""immediate_risk":false"#,
        r#""immediate_risk": false"#,
        1,
    );
    assert!(body.matches("immediate_risk").count() == 2);
    let resp = app
        .police()
        .request(Method::POST, "/v1/contacts")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    assert_eq!(resp.problem(400)["code"], "duplicate_key");
    assert_eq!(app.count("select count(*) from contacts").await, 0);
}

#[tokio::test]
async fn a_contact_whose_audit_record_fails_is_not_stored_at_all() {
    let app = spawn_app().await;
    // Make the audit insert fail, after the contact insert in the same transaction succeeded (only
    // the owner may add a trigger).
    sqlx::raw_sql(
        "create function fail_submitted() returns trigger language plpgsql as $$
         begin if new.action = 'contact.submitted' then raise exception 'injected failure'; end if; return new; end $$;
         create trigger fail_submitted before insert on audit_events for each row execute function fail_submitted();",
    )
    .execute(app.owner_db())
    .await
    .unwrap();
    let body = example_contact(app.today(), "HALF-1");
    let problem = app.police().create_contact(&body).await.problem(500);
    assert_eq!(problem["code"], "internal_error");
    assert!(!problem.to_string().contains("injected"), "causes are logged, not returned");
    assert_eq!(app.count("select count(*) from contacts").await, 0, "the contact rolled back with its audit record");

    sqlx::raw_sql("drop trigger fail_submitted on audit_events").execute(app.owner_db()).await.unwrap();
    assert_eq!(app.police().create_contact(&body).await.status(), 201, "the retry stores it");
}
