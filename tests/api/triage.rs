//! Triage through HTTP: the shared cases, reasons and their visibility, matching children,
//! re-rating.

use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

use crate::{
    client::Caller,
    fixtures::{amber_contact, cases, contact_about, example_contact, unknown_id},
    helpers::{Overrides, spawn_app, spawn_app_with},
};

/// The `rule`s of a contact's classification reasons.
fn rules(contact: &Value) -> Vec<&str> {
    contact["classification"]["reasons"].as_array().unwrap().iter().map(|r| r["rule"].as_str().unwrap()).collect()
}

/// The ids of the earlier contacts that contact `id`'s first child was matched to, as `staff`
/// see them, sorted.
async fn first_child_matches(staff: &Caller, id: &str) -> Vec<String> {
    let full = staff.get_contact(id).await.ok();
    let mut ids: Vec<String> = full["children"][0]["matched_contact_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn all_24_shared_cases_get_their_expected_urgency_and_queue() {
    let app = spawn_app().await;
    let mut failures = Vec::new();
    for case in cases(app.today()) {
        let agency = app.agency(&case.agency_kind);
        for prior in &case.prior {
            agency.create_contact(prior).await.created();
        }
        let contact = agency.create_contact(&case.contact).await.created();
        let got = json!({"urgency": contact["urgency"], "queue": contact["queue"]});
        if got != case.expect {
            failures.push(format!("{}: expected {} got {got}", case.id, case.expect));
        }
        // The stored contact reads back the same.
        let read: Value = agency.get_contact(contact["id"].as_str().unwrap()).await.json();
        assert_eq!(read["urgency"], contact["urgency"]);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn the_third_contact_about_a_child_is_raised_and_only_staff_see_why() {
    let app = spawn_app().await;
    let today = app.today();
    let neglect = |reference: &str, nhs: &str, given: &str| {
        let child =
            json!({"given_name": given, "family_name": "Okafor", "date_of_birth": "2019-03-02", "nhs_number": nhs});
        contact_about(today, reference, child, "neglect", "Child arrived at school hungry again.")
    };
    // Two earlier contacts: one from the school matched by NHS number, one from the police
    // matched only by names and date of birth (spelt differently).
    let (school, police, manager) = (app.school(), app.police(), app.manager());
    school.create_contact(&neglect("N-1", "9434765919", "Chidi")).await.created();
    let mut by_name = neglect("N-2", "", " CHIDI ");
    by_name["children"][0]["nhs_number"] = Value::Null;
    police.create_contact(&by_name).await.created();
    let third = school.create_contact(&neglect("N-3", "943 476 5919", "Chidi")).await.created();
    // The school's view does not reveal that other agencies made contacts: not the reason, and
    // not the raised urgency either (its own information is one earlier contact: green).
    assert_eq!(third["urgency"], "green");
    let rules_seen = rules(&third);
    assert!(!rules_seen.contains(&"repeat_contacts"), "agency sees: {rules_seen:?}");
    let full = app.practitioner().get_contact(third["id"].as_str().unwrap()).await.ok();
    assert_eq!(full["urgency"], "amber", "the hub works to the raised rating");
    let staff_rules = rules(&full);
    assert!(staff_rules.contains(&"repeat_contacts"), "staff see: {staff_rules:?}");
    assert_eq!(full["children"][0]["matched_contact_ids"].as_array().unwrap().len(), 2);
    assert_eq!(full["ratings"][0]["kind"], "classification");
    assert_eq!(full["ratings"][0]["actor_kind"], "system");

    // Staff follow the child across contacts.
    let child_id = full["children"][0]["id"].as_str().unwrap();
    let list = manager.child_contacts(child_id).await.ok();
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
    for caller in [app.admin(), police] {
        caller.child_contacts(child_id).await.problem(403);
    }
    manager.child_contacts(&unknown_id()).await.problem(404);
}

#[tokio::test]
async fn each_child_of_a_contact_is_matched_to_its_own_earlier_contacts() {
    let app = spawn_app().await;
    let today = app.today();
    let ada = json!({"given_name": "Ada", "family_name": "Mensah", "date_of_birth": "2017-05-01", "nhs_number": "9434765919"});
    let ben = json!({"given_name": "Ben", "family_name": "Mensah", "date_of_birth": "2019-06-02"});
    let cal = json!({"given_name": "Cal", "family_name": "Mensah", "date_of_birth": "2021-07-03"});
    let about = |reference: &str, children: Value| {
        let mut c = contact_about(today, reference, ada.clone(), "neglect", "Concern about home conditions.");
        c["children"] = children;
        c
    };
    let (school, police) = (app.school(), app.police());
    school.create_contact(&about("M-1", json!([ada]))).await.created();
    school.create_contact(&about("M-2", json!([ada]))).await.created();
    police.create_contact(&about("M-3", json!([ben]))).await.created();
    // Three children, in an order unlike their histories': Cal has none, Ada two, Ben one.
    let third = school.create_contact(&about("M-4", json!([cal, ada, ben]))).await.created();
    let full = app.practitioner().get_contact(third["id"].as_str().unwrap()).await.ok();
    let matched: Vec<usize> = full["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["matched_contact_ids"].as_array().unwrap().len())
        .collect();
    assert_eq!(matched, vec![0, 2, 1], "each child keeps its own earlier contacts");
}

/// An earlier contact is one received before, by the time of receipt, not one stored before: a
/// contact stored with a later time is never matched to one received before it. (Clocks that
/// differ store contacts out of time order: here the app's clock is set back; in a sandbox each
/// agency moves its own.)
#[tokio::test]
async fn a_contact_is_matched_only_to_contacts_received_before_it() {
    let app = spawn_app().await;
    let at = |y, m, d| crate::fixtures::london(y, m, d, 10, 0);
    let ada = json!({"given_name": "Ada", "family_name": "Mensah", "date_of_birth": "2017-05-01", "nhs_number": "9434765919"});
    // Each key's time only moves forward (a key's rate-limit window does not go back).
    let submit = async |agency: crate::client::Caller, when, reference: &str| {
        app.set_time(when);
        let mut contact =
            contact_about(app.today(), reference, ada.clone(), "neglect", "Concern about home conditions.");
        contact["incident_at"] = Value::Null;
        agency.submit(contact).await
    };
    let june = submit(app.school(), at(2026, 6, 1), "T-JUNE").await;
    let january = submit(app.police(), at(2026, 1, 5), "T-JANUARY").await;
    let february = submit(app.health(), at(2026, 2, 2), "T-FEBRUARY").await;
    let july = submit(app.school(), at(2026, 7, 1), "T-JULY").await;
    let practitioner = &app.practitioner();
    let matched = async |id: &str| first_child_matches(practitioner, id).await;
    assert_eq!(matched(&june).await, Vec::<String>::new());
    assert_eq!(matched(&january).await, Vec::<String>::new(), "June's contact is in January's future");
    assert_eq!(matched(&february).await, std::slice::from_ref(&january), "only January's is before February");
    let mut before_july = vec![june, january, february];
    before_july.sort();
    assert_eq!(matched(&july).await, before_july, "all three are before July");
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
        // No DASH risk: a high one alone is domestic abuse at high risk (amber) by itself.
        c["police"] = Value::Null;
        c["narrative"] = json!("Concern about home conditions.");
        c
    };
    let school = app.school();
    school.create_contact(&child("S-1", "Noah", "2018-01-01")).await.created();
    school.create_contact(&child("S-2", "Ava", "2018-01-02")).await.created();
    let third = school.create_contact(&child("S-3", "Ava", "2018-01-01")).await.created();
    assert_eq!(third["urgency"], "green", "no earlier contact is about this child");
    let full = app.practitioner().get_contact(third["id"].as_str().unwrap()).await.ok();
    assert_eq!(full["children"][0]["matched_contact_ids"], json!([]));
}

#[tokio::test]
async fn a_manager_re_rates_with_a_reason_and_the_original_stays_on_record() {
    let app = spawn_app().await;
    let mut body = contact_about(
        app.today(),
        "RR-1",
        json!({"given_name": "Mia", "family_name": "Hart", "date_of_birth": "2015-06-01"}),
        "domestic_abuse",
        "Verbal argument reported by a neighbour.",
    );
    body["police"] = json!({"dash_risk": "medium", "child_present": true});
    let (police, manager) = (app.police(), app.manager());
    let contact = police.create_contact(&body).await.created();
    assert_eq!((contact["urgency"].as_str(), contact["queue"].as_str()), (Some("green"), Some("domestic-abuse")));
    let id = contact["id"].as_str().unwrap();

    // Only managers re-rate, always with a reason, to a real and different level.
    for caller in [app.practitioner(), app.auditor(), app.admin(), police.clone()] {
        caller.rerate(id, json!({"urgency": "red", "reason": "x"}), None).await.problem(403);
    }
    let p = manager.rerate(id, json!({"urgency": "red", "reason": "  "}), None).await.problem(422);
    assert_eq!(p["errors"][0]["pointer"], "/reason");
    let p = manager.rerate(id, json!({"urgency": "purple", "reason": "r"}), None).await.problem(422);
    assert_eq!(p["errors"][0]["pointer"], "/urgency");
    let p = manager.rerate(id, json!({"urgency": "green", "reason": "r"}), None).await.problem(422);
    assert_eq!(p["errors"][0]["pointer"], "/urgency");
    manager.rerate(id, json!({"urgency": "red"}), None).await.problem(422);

    // Up to red: the queue follows the policy's routes.
    let up = manager
        .rerate(id, json!({"urgency": "red", "reason": "Police intelligence of weapons in the home."}), None)
        .await
        .ok();
    assert_eq!(
        (up["urgency"].as_str(), up["previous_urgency"].as_str(), up["queue"].as_str()),
        (Some("red"), Some("green"), Some("immediate"))
    );
    // And down to amber: back to the domestic-abuse queue.
    let down: Value =
        manager.rerate(id, json!({"urgency": "amber", "reason": "Weapons removed by police."}), None).await.json();
    assert_eq!(down["queue"], "domestic-abuse");
    assert_eq!(down["version"], 3);

    let full = app.practitioner().get_contact(id).await.ok();
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
    // The agency keeps the rating its own information warrants (the hub's is higher, so its
    // deadline is earlier), and never sees the manager's reason.
    let agency: Value = police.get_contact(id).await.json();
    assert_eq!(agency["urgency"], "green");
    assert!(!agency.to_string().contains("Weapons"));
    // Audited, with codes only.
    let details: Vec<String> =
        app.values("select detail::text from audit_events where action = 'contact.rerated' order by id").await;
    assert_eq!(details.len(), 2);
    assert!(details.iter().all(|d| !d.contains("eapons")), "reasons stay out of the audit detail");
    manager.rerate(&unknown_id(), json!({"urgency": "red", "reason": "r"}), None).await.problem(404);
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
            let child = json!({"given_name": "Leo", "family_name": "Grant", "date_of_birth": "2017-04-09"});
            contact_about(today, &format!("WEEKEND-{i}"), child, "neglect", "Child found alone at home late at night.")
        })
        .collect();
    let body = app.police().create_contacts(&contacts).await.expect(207);
    let mut urgencies: Vec<&str> =
        body["results"].as_array().unwrap().iter().map(|r| r["contact"]["urgency"].as_str().unwrap()).collect();
    urgencies.sort_unstable();
    assert_eq!(urgencies, ["amber", "green", "green"], "exactly one of the three is the third contact");
}

/// Contacts about one child sent at the same moment, some with an `Idempotency-Key` (each stored
/// in a transaction of its own) and some without (stored in groups, by two writers), while the
/// child's lock is held: each waits for the lock and is then matched to every contact received
/// before it, those it waited for included.
#[tokio::test]
async fn contacts_about_one_child_sent_at_once_are_each_matched_to_all_received_before() {
    let app =
        spawn_app_with(Overrides { clock_step: Some(chrono::TimeDelta::milliseconds(1)), ..Overrides::default() })
            .await;
    let today = app.today();
    let police = app.police();
    let leo = |reference: &str| {
        let child = json!({"given_name": "Leo", "family_name": "Grant", "date_of_birth": "2017-04-09"});
        contact_about(today, reference, child, "neglect", "Child found alone at home.")
    };
    let first = police.submit(leo("RACE-FIRST")).await;
    // Hold the child's lock (as a slow transaction about the child would), so that the contacts
    // sent next all reach it before any is stored.
    let name_key: String = app.value("select name_key from contact_children where contact_id = $1::uuid", &first).await;
    let mut holder = PgConnection::connect(&app.database_url()).await.unwrap();
    sqlx::query("begin").execute(&mut holder).await.unwrap();
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("name:{name_key}"))
        .execute(&mut holder)
        .await
        .unwrap();
    let sends: Vec<_> = (0..12)
        .map(|i| {
            let mut request = police.request(reqwest::Method::POST, "/v1/contacts").json(&leo(&format!("RACE-{i}")));
            if i % 2 == 0 {
                request = request.header("idempotency-key", &format!("race-{i}"));
            }
            tokio::spawn(async move { request.send().await.created()["id"].as_str().unwrap().to_owned() })
        })
        .collect();
    let waiting = "select count(*) from pg_locks
                    where locktype = 'advisory' and not granted
                      and database = (select oid from pg_database where datname = current_database())";
    for _ in 0..500 {
        // The two writers' groups and the keyed contacts' transactions queue on the lock.
        if app.count(waiting).await >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(app.count(waiting).await >= 4, "the contacts wait for the child's lock");
    sqlx::query("commit").execute(&mut holder).await.unwrap();
    let mut ids = vec![first];
    for send in sends {
        ids.push(send.await.unwrap());
    }
    let practitioner = app.practitioner();
    for id in &ids {
        let matched = first_child_matches(&practitioner, id).await;
        let before: Vec<String> = app
            .value(
                "select coalesce(array_agg(c.id::text order by c.id::text), '{}') from contacts c, contacts me
                  where me.id = $1::uuid and c.received_at < me.received_at",
                id,
            )
            .await;
        assert_eq!(matched, before, "{id} is matched to every contact received before it");
    }
}

/// A child's matches are its 25 most recent earlier contacts, counted among those received
/// before it: contacts stored earlier with later times (a clock set back) neither take a place
/// nor are matched.
#[tokio::test]
async fn a_child_is_matched_to_its_25_most_recent_contacts_received_before() {
    let app =
        spawn_app_with(Overrides { clock_step: Some(chrono::TimeDelta::milliseconds(1)), ..Overrides::default() })
            .await;
    let at = |y, m, d| crate::fixtures::london(y, m, d, 10, 0);
    let ada = json!({"given_name": "Ada", "family_name": "Mensah", "date_of_birth": "2017-05-01", "nhs_number": "9434765919"});
    // Each agency's time only moves forward (a key's rate-limit window does not go back).
    let send = async |agency: crate::client::Caller, when, prefix: &str, n: usize| {
        app.set_time(when);
        let contacts: Vec<Value> = (0..n)
            .map(|i| {
                let mut contact =
                    contact_about(app.today(), &format!("{prefix}-{i}"), ada.clone(), "neglect", "Home conditions.");
                contact["incident_at"] = Value::Null;
                contact
            })
            .collect();
        let body = agency.create_contacts(&contacts).await.expect(207);
        assert!(body["results"].as_array().unwrap().iter().all(|r| r["status"] == 201), "{body}");
    };
    let matched_and_expected = async |reference: &str| {
        let id: String = app.value("select id::text from contacts where agency_reference = $1", reference).await;
        let matched = first_child_matches(&app.practitioner(), &id).await;
        let newest: Vec<String> = app
            .value(
                "select coalesce(array_agg(id order by id), '{}') from (
                   select c.id::text as id from contacts c, contacts me
                    where me.id = $1::uuid and c.received_at < me.received_at
                    order by c.received_at desc limit 25) t",
                &id,
            )
            .await;
        (matched, newest)
    };
    send(app.school(), at(2026, 6, 1), "JUNE", 2).await;
    send(app.police(), at(2026, 1, 5), "JANUARY", 27).await;
    send(app.health(), at(2026, 1, 6), "LATER-IN-JANUARY", 1).await;
    let (matched, newest) = matched_and_expected("LATER-IN-JANUARY-0").await;
    assert_eq!(matched.len(), 25, "25 of January's 27; June's are in its future");
    assert_eq!(matched, newest);
    send(app.school(), at(2026, 7, 1), "JULY", 1).await;
    let (matched, newest) = matched_and_expected("JULY-0").await;
    assert_eq!(matched.len(), 25);
    assert_eq!(matched, newest, "June's two, then the newest of January's");
}

#[tokio::test]
async fn a_re_rating_from_a_stale_read_is_refused_with_412() {
    let app = spawn_app().await;
    let (police, manager) = (app.police(), app.manager());
    let id = police.submit(&example_contact(app.today(), "ETAG-1")).await;
    let id = id.as_str();
    let etag = manager.get_contact(id).await.etag();
    assert_eq!(etag, "\"1\"");
    let rerate = async |tag: &str, urgency: &str| {
        manager.rerate(id, json!({"urgency": urgency, "reason": "Reviewed with the police."}), Some(tag)).await
    };
    let first = rerate(&etag, "amber").await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.etag(), "\"2\"");
    // A second manager still holding version 1 is told to read again; nothing changes.
    let problem = rerate(&etag, "green").await.problem(412);
    assert_eq!(problem["code"], "version_mismatch");
    let full = app.practitioner().get_contact(id).await.ok();
    assert_eq!(full["urgency"], "amber");
    assert_eq!(full["ratings"].as_array().unwrap().len(), 2);
    // The agency view carries no ETag (agencies do not update contacts).
    assert!(police.get_contact(id).await.header("etag").is_none());
}

#[tokio::test]
async fn an_agencys_view_is_the_same_whether_or_not_other_agencies_reported_the_child() {
    let app = spawn_app().await;
    let today = app.today();
    let neglect = |reference: &str, given: &str, nhs: &str| {
        let child =
            json!({"given_name": given, "family_name": "Adeyemi", "date_of_birth": "2018-06-11", "nhs_number": nhs});
        contact_about(today, reference, child, "neglect", "Child arrived at school hungry again.")
    };
    let (school, police, manager) = (app.school(), app.police(), app.manager());
    // The school has reported Tolu twice; the police know nothing of that.
    school.create_contact(&neglect("S-1", "Tolu", "9434765870")).await.created();
    school.create_contact(&neglect("S-2", "Tolu", "9434765870")).await.created();
    let known = police.create_contact(&neglect("P-1", "Tolu", "9434765870")).await.created();
    let unknown = police.create_contact(&neglect("P-2", "Kemi", "9434765889")).await.created();
    let agency_fields = |c: &Value| {
        let mut c = c.clone();
        for volatile in ["id", "agency_reference", "version"] {
            c.as_object_mut().unwrap().remove(volatile);
        }
        c
    };
    assert_eq!(agency_fields(&known), agency_fields(&unknown), "the police cannot tell the two apart");
    let known_id = known["id"].as_str().unwrap();
    let read = police.get_contact(known_id).await.ok();
    assert_eq!(agency_fields(&read), agency_fields(&police.get_contact(unknown["id"].as_str().unwrap()).await.ok()));
    // The hub works to the raised rating and an earlier deadline than the police are shown.
    let staff = manager.get_contact(known_id).await.ok();
    assert_eq!((staff["urgency"].as_str(), known["urgency"].as_str()), (Some("amber"), Some("green")));
    assert!(staff["decision_due_at"].as_str().unwrap() < known["decision_due_at"].as_str().unwrap());

    // Raised further by the hub: the police still see their own information's rating.
    manager.rerate(known_id, json!({"urgency": "red", "reason": "Seen together"}), None).await.ok();
    assert_eq!(agency_fields(&police.get_contact(known_id).await.ok()), agency_fields(&known));

    // Rated lower than the agency's own information warrants: the agency sees the hub's rating
    // (never a deadline the hub will not meet), and its own again if the hub raises it back.
    let amber = police.create_contact(amber_contact(today, "P-3")).await.created();
    let amber_id = amber["id"].as_str().unwrap();
    assert_eq!(amber["urgency"], "amber");
    manager.rerate(amber_id, json!({"urgency": "green", "reason": "Reviewed"}), None).await.ok();
    let lowered = police.get_contact(amber_id).await.ok();
    assert_eq!(lowered["urgency"], "green");
    assert_eq!(lowered["decision_due_at"], manager.get_contact(amber_id).await.ok()["decision_due_at"]);
    assert!(!lowered.to_string().contains("Reviewed"));
    manager.rerate(amber_id, json!({"urgency": "red", "reason": "New information"}), None).await.ok();
    assert_eq!(agency_fields(&police.get_contact(amber_id).await.ok()), agency_fields(&amber));
}

#[tokio::test]
async fn a_child_referred_within_twelve_months_makes_a_re_referral_that_only_staff_see() {
    let app = spawn_app().await;
    let at = |y, m, d| crate::fixtures::london(y, m, d, 10, 0);
    let about = |app: &crate::helpers::TestApp, reference: &str, given: &str, nhs: &str| {
        let child =
            json!({"given_name": given, "family_name": "Okafor", "date_of_birth": "2017-03-09", "nhs_number": nhs});
        let mut c = contact_about(app.today(), reference, child, "neglect", "Child arrived at school hungry again.");
        c["incident_at"] = Value::Null;
        c
    };
    let (school, manager) = (app.school(), app.manager());
    let decide = async |id: &str, outcome: &str| {
        let body = json!({"outcome": outcome, "rationale": "Assessed.", "feedback": "Thank you.", "threshold_level": "early_help"});
        assert_eq!(manager.decide(id, body, Some("*")).await.status(), 200);
    };
    // January 2026: Chidi is referred for a section 17 assessment; Ada's contact needs no action.
    app.set_time(at(2026, 1, 5));
    let referred = school.submit(about(&app, "RR-1", "Chidi", "9434765870")).await;
    decide(&referred, "s17_assessment").await;
    let advised = school.submit(about(&app, "RR-2", "Ada", "9434765889")).await;
    decide(&advised, "no_further_action").await;

    // June: a new contact about each. Chidi's is a re-referral; Ada's is not (no referral).
    app.set_time(at(2026, 6, 1));
    let again = school.submit(about(&app, "RR-3", "Chidi", "9434765870")).await;
    let ada_again = school.submit(about(&app, "RR-4", "Ada", "9434765889")).await;
    let staff_view = async |id: &str| manager.get_contact(id).await.ok();
    assert_eq!(staff_view(&again).await["re_referral"], true);
    assert_eq!(staff_view(&ada_again).await["re_referral"], false);
    // The agency is never told.
    let agency = school.get_contact(&again).await.ok();
    assert!(agency.get("re_referral").is_none(), "{agency}");

    // More than 12 months after the referral's decision, it no longer counts.
    app.set_time(at(2027, 1, 6));
    let later = school.submit(about(&app, "RR-5", "Chidi", "9434765870")).await;
    assert_eq!(staff_view(&later).await["re_referral"], false);
}
