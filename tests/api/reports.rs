//! Management information: a month of contacts built with the injected clock (on time, late with
//! reasons, breached, authorised and sent back, re-referrals, re-rated), and every figure of the
//! timeliness and outcomes reports checked against values worked out by hand; the CSV read back
//! with a standard CSV reader and matched to the JSON line by line; Ofsted's Annex A list.

#![allow(clippy::many_single_char_names, reason = "the month's contacts are A to I, as its description names them")]

use serde_json::{Value, json};

use crate::{
    client::Caller,
    fixtures::{amber_contact, contact_about, green_contact, london},
    helpers::{TestApp, spawn_app},
};

fn decision(outcome: &str) -> Value {
    json!({"outcome": outcome, "rationale": "Screened.", "feedback": "Thank you; we have decided.",
           "threshold_level": "targeted"})
}

fn late(outcome: &str, reason: &str) -> Value {
    let mut d = decision(outcome);
    d["late_reason"] = json!(reason);
    d
}

/// The contact's hub urgency and queue as staff see them.
async fn rating(manager: &Caller, id: &str) -> (String, String) {
    let c = manager.get_contact(id).await.ok();
    (c["urgency"].as_str().unwrap().to_owned(), c["queue"].as_str().unwrap().to_owned())
}

/// A contact about a named child (so that a later contact can be about the same child).
fn about(app: &TestApp, reference: &str, family: &str) -> Value {
    let child = json!({"given_name": "Noah", "family_name": family, "date_of_birth": "2018-03-14",
                       "gender": "male", "ethnicity": "MWBC"});
    contact_about(app.today(), reference, child, "physical_abuse", "Teacher saw father hit the child.")
}

struct Month {
    app: TestApp,
    ids: Vec<String>,
}

/// The month (November 2026, GMT, so London times are UTC; no bank holidays):
/// - A school amber Mon 2 10:00, decided early help 11:00 (60 working min), told by phone 15:00;
/// - B school green Tue 3 09:30, decided NFA Thu 5 10:30 (1020 min), told Mon 9 12:00 (late);
/// - C police amber Wed 4 10:00, breached Thu 5 10:00, decided s17 at 11:00 late (capacity; 540
///   min), so awaiting authorisation; authorised 14:00 by another manager; told Fri 6 10:00;
/// - D police amber Mon 9 10:00, NFA at 10:20 awaiting, sent back 11:00, advice at 11:10 (70 min)
///   awaiting again, authorised 12:00, never told;
/// - E health amber Tue 10 10:00, NFA at 10:20, awaiting authorisation still;
/// - F health green Wed 11 10:00, open, past its deadline (Mon 16 10:00), a manager records
///   "awaiting partner information" on Tue 17;
/// - G school amber Mon 16 10:00, re-rated red 10:30, strategy discussion at 11:00 (60 min);
/// - I police amber Tue 17 10:00 about C's child: a re-referral; s17 at 11:00 (60 min);
/// - H police green Mon 30 11:00, open and in time when the reports run, Mon 30 12:00.
async fn month() -> Month {
    let app = spawn_app().await;
    let (manager, other, practitioner) = (app.manager(), app.add_manager("Second Manager").await, app.practitioner());
    let at = |d, h, m| london(2026, 11, d, h, m);
    let mut ids = Vec::new();

    app.set_time(at(2, 10, 0));
    let a = app.school().submit(amber_contact(app.today(), "A")).await;
    app.set_time(at(2, 11, 0));
    assert_eq!(manager.decide(&a, decision("early_help"), Some("*")).await.status(), 200);
    app.set_time(at(2, 15, 0));
    assert_eq!(manager.feedback_given(&a, json!({"method": "phone"})).await.status(), 204);
    ids.push(a);

    app.set_time(at(3, 9, 30));
    let b = app.school().submit(green_contact(app.today(), "B")).await;
    app.set_time(at(5, 10, 30));
    assert_eq!(manager.decide(&b, decision("no_further_action"), Some("*")).await.status(), 200);
    ids.push(b);

    app.set_time(at(4, 10, 0));
    let c = app.police().submit(about(&app, "C", "Okafor")).await;
    app.set_time(at(5, 11, 0));
    assert!(app.fire_due_steps().await > 0, "C breaches at Thu 10:00");
    assert_eq!(manager.decide(&c, late("s17_assessment", "capacity"), Some("*")).await.status(), 200);
    app.set_time(at(5, 14, 0));
    assert_eq!(other.authorise(&c, Some("*")).await.status(), 200);
    app.set_time(at(6, 10, 0));
    assert_eq!(manager.feedback_given(&c, json!({"method": "email"})).await.status(), 204);
    ids.push(c.clone());

    app.set_time(at(9, 10, 0));
    let d = app.police().submit(amber_contact(app.today(), "D")).await;
    assert_eq!(practitioner.claim(&d).await.status(), 200);
    app.set_time(at(9, 10, 20));
    assert_eq!(practitioner.decide(&d, decision("no_further_action"), Some("*")).await.status(), 200);
    app.set_time(at(9, 11, 0));
    assert_eq!(manager.send_back(&d, json!({"reason": "Ask the school first."}), Some("*")).await.status(), 200);
    app.set_time(at(9, 11, 10));
    assert_eq!(practitioner.decide(&d, decision("information_and_advice"), Some("*")).await.status(), 200);
    app.set_time(at(9, 12, 0));
    assert_eq!(manager.authorise(&d, Some("*")).await.status(), 200);
    assert_eq!(manager.feedback_given(&ids[1], json!({"method": "letter"})).await.status(), 204);
    ids.push(d);

    app.set_time(at(10, 10, 0));
    let e = app.health().submit(amber_contact(app.today(), "E")).await;
    assert_eq!(practitioner.claim(&e).await.status(), 200);
    app.set_time(at(10, 10, 20));
    assert_eq!(practitioner.decide(&e, decision("no_further_action"), Some("*")).await.status(), 200);
    ids.push(e);

    app.set_time(at(11, 10, 0));
    let f = app.health().submit(green_contact(app.today(), "F")).await;
    ids.push(f.clone());

    app.set_time(at(16, 10, 0));
    let g = app.school().submit(amber_contact(app.today(), "G")).await;
    app.set_time(at(16, 10, 30));
    assert_eq!(manager.rerate(&g, json!({"urgency": "red", "reason": "Disclosure."}), Some("*")).await.status(), 200);
    app.set_time(at(16, 11, 0));
    assert_eq!(manager.decide(&g, decision("strategy_discussion_s47"), Some("*")).await.status(), 200);
    ids.push(g);

    app.set_time(at(17, 10, 0));
    let why = json!({"late_reason": "awaiting_partner_information"});
    let recorded = manager.request(reqwest::Method::POST, &format!("/v1/contacts/{f}/late-reason")).json(&why).send();
    assert_eq!(recorded.await.status(), 200);
    let i = app.police().submit(about(&app, "I", "Okafor")).await;
    app.set_time(at(17, 11, 0));
    assert_eq!(manager.decide(&i, decision("s17_assessment"), Some("*")).await.status(), 200);
    ids.push(i);

    app.set_time(at(30, 11, 0));
    let h = app.police().submit(green_contact(app.today(), "H")).await;
    ids.push(h);
    app.set_time(at(30, 12, 0));
    app.fire_due_steps().await;
    Month { app, ids }
}

/// The JSON figure a CSV line names.
fn figure<'a>(report: &'a Value, section: &str, key: &str, measure: &str) -> &'a Value {
    if section == "summary" {
        return &report[measure];
    }
    let node = &report[section];
    let Some(groups) = node.as_array() else { return &node[measure] };
    let group = groups
        .iter()
        .find(|g| {
            ["key", "urgency", "late_reason", "agency_id"]
                .iter()
                .any(|k| g.get(*k).and_then(Value::as_str) == Some(key))
        })
        .unwrap_or_else(|| panic!("no {section} group {key}"));
    let Some(outcomes) = group.get("outcomes").and_then(Value::as_array) else { return &group[measure] };
    let outcome = |name: &str| outcomes.iter().find(|x| x["outcome"] == name);
    if let Some(o) = outcome(measure) {
        return &o["count"];
    }
    match measure.strip_prefix("percent_").and_then(outcome) {
        Some(o) => &o["percent_of_decided"],
        None => &group[measure],
    }
}

/// The report as CSV, read with the csv crate, every line matched to the JSON; returns the
/// number of lines.
async fn csv_matches_json(manager: &Caller, name: &str, query: &[(&str, &str)], json: &Value) -> usize {
    let resp = manager.request(reqwest::Method::GET, &format!("/v1/reports/{name}")).query(query);
    let resp = resp.header("Accept", "text/csv").send().await;
    assert_eq!(resp.status(), 200);
    let content_type = resp.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let text = resp.text();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap(), vec!["section", "key", "name", "measure", "value"]);
    let mut lines = 0;
    for record in reader.records() {
        let r = record.unwrap();
        let expected = figure(json, &r[0], &r[1], &r[3]);
        let value = match expected {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert_eq!(r[4], value, "{r:?}");
        lines += 1;
    }
    lines
}

fn group<'a>(list: &'a Value, key: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|g| g["key"] == key).unwrap_or_else(|| panic!("no group {key} in {list}"))
}

#[tokio::test]
async fn a_month_of_contacts_gives_the_timeliness_and_outcome_figures_worked_out_by_hand() {
    let Month { app, ids } = month().await;
    let manager = app.manager();
    // The scenario is what it says.
    let ratings = [
        ("amber", "screening"),
        ("green", "screening"),
        ("amber", "screening"),
        ("amber", "screening"),
        ("amber", "screening"),
        ("green", "screening"),
        ("red", "immediate"),
        ("amber", "screening"),
        ("green", "screening"),
    ];
    for (id, (urgency, queue)) in ids.iter().zip(ratings) {
        assert_eq!(rating(&manager, id).await, (urgency.to_owned(), queue.to_owned()), "{id}");
    }
    let staff = manager.get_contact(&ids[7]).await.ok();
    assert_eq!(staff["re_referral"], true, "I is about C's child, referred in November");

    let query = [("from", "2026-11-01"), ("to", "2026-11-30")];
    let t = manager.report("timeliness", &query).await.ok();
    assert_eq!((t["received"].as_i64(), t["decided"].as_i64()), (Some(9), Some(6)));
    assert_eq!(t["decided_within_timescale"], 5);
    assert_eq!(t["percent_within_timescale"], 83.3);
    let u = &t["by_urgency"];
    assert_eq!(
        (
            &group(u, "red")["received"],
            &group(u, "red")["decided_within_timescale"],
            &group(u, "red")["percent_within_timescale"]
        ),
        (&json!(1), &json!(1), &json!(100.0))
    );
    assert_eq!((&group(u, "amber")["received"], &group(u, "amber")["decided"]), (&json!(5), &json!(4)));
    assert_eq!(group(u, "amber")["percent_within_timescale"], 75.0);
    assert_eq!((&group(u, "green")["received"], &group(u, "green")["decided"]), (&json!(3), &json!(1)));
    let q = &t["by_queue"];
    assert_eq!((&group(q, "screening")["received"], &group(q, "screening")["decided"]), (&json!(8), &json!(5)));
    assert_eq!(group(q, "screening")["percent_within_timescale"], 80.0);
    assert_eq!(group(q, "immediate")["decided_within_timescale"], 1);
    assert_eq!(group(q, "exploitation")["received"], 0);
    assert!(group(q, "exploitation").get("percent_within_timescale").is_none(), "a share of nothing is absent");
    let by_agency = &t["by_agency"];
    let names: Vec<&str> = by_agency.as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Test Health", "Test Police", "Test School"]);
    let police = group(by_agency, app.police().agency_id());
    assert_eq!(
        (&police["received"], &police["decided"], &police["decided_within_timescale"]),
        (&json!(4), &json!(3), &json!(2))
    );
    let school = group(by_agency, app.school().agency_id());
    assert_eq!(
        (&school["received"], &school["decided"], &school["percent_within_timescale"]),
        (&json!(3), &json!(3), &json!(100.0))
    );
    let ttd = |urgency: &str| {
        t["time_to_decision"].as_array().unwrap().iter().find(|x| x["urgency"] == urgency).unwrap().clone()
    };
    assert_eq!(
        ttd("red"),
        json!({"urgency": "red", "decided": 1, "median_working_minutes": 60, "p90_working_minutes": 60})
    );
    // Amber: A 60, I 60, D 70, C 540 (Wed 10:00-17:00 and Thu 09:00-11:00).
    assert_eq!(
        ttd("amber"),
        json!({"urgency": "amber", "decided": 4, "median_working_minutes": 60, "p90_working_minutes": 540})
    );
    // Green: B, Tue 09:30 to Thu 10:30 = 7.5 h + 8 h + 1.5 h.
    assert_eq!(ttd("green")["median_working_minutes"], 1020);
    let reason =
        |r: &str| t["breaches_by_reason"].as_array().unwrap().iter().find(|x| x["late_reason"] == r).unwrap().clone();
    assert_eq!(reason("capacity"), json!({"late_reason": "capacity", "decisions": 1, "open": 0}));
    assert_eq!(
        reason("awaiting_partner_information"),
        json!({"late_reason": "awaiting_partner_information", "decisions": 0, "open": 1})
    );
    assert_eq!(reason("not_recorded"), json!({"late_reason": "not_recorded", "decisions": 0, "open": 0}));
    let told = |agency: &str| {
        t["feedback_by_agency"].as_array().unwrap().iter().find(|x| x["agency_id"] == agency).unwrap().clone()
    };
    // School: A told in 4 h, B in 17.5 working hours, G not told. Police: C told in 4 h; D, I not.
    let school = told(app.school().agency_id());
    assert_eq!(
        (&school["decided"], &school["told"], &school["told_within_one_working_day"]),
        (&json!(3), &json!(2), &json!(1))
    );
    assert_eq!(school["percent_told_within_one_working_day"], 33.3);
    let police = told(app.police().agency_id());
    assert_eq!((&police["told"], &police["told_within_one_working_day"]), (&json!(1), &json!(1)));
    assert!(told(app.health().agency_id()).get("percent_told_within_one_working_day").is_none());
    // E has waited since Tue 10 10:20: 400 + 3 x 480 + 2 x 2400 + 180 working minutes.
    assert_eq!(
        t["authorisation"],
        json!({"authorised": 2, "awaiting": 1, "sent_back": 1, "oldest_awaiting_working_minutes": 6820,
               "median_awaiting_working_minutes": 6820})
    );
    assert_eq!(t["open_past_deadline"], 1, "F; H is in time");
    assert_eq!(group(&t["open_past_deadline_by_urgency"], "green")["count"], 1);
    assert_eq!(
        t["scope"]["as_at"].as_str().map(|s| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap()),
        Some(london(2026, 11, 30, 12, 0))
    );
    assert!(csv_matches_json(&manager, "timeliness", &query, &t).await > 50);

    let o = manager.report("outcomes", &query).await.ok();
    assert_eq!((o["received"].as_i64(), o["decided"].as_i64()), (Some(9), Some(6)));
    let outcome = |g: &Value, name: &str| {
        g["outcomes"].as_array().unwrap().iter().find(|x| x["outcome"] == name).unwrap().clone()
    };
    let police = group(&o["by_agency"], app.police().agency_id());
    assert_eq!((&police["received"], &police["decided"], &police["referrals"]), (&json!(4), &json!(3), &json!(2)));
    assert_eq!(police["percent_referrals"], 66.7);
    assert_eq!(
        outcome(police, "information_and_advice"),
        json!({"outcome": "information_and_advice", "count": 1, "percent_of_decided": 33.3})
    );
    assert_eq!(outcome(police, "no_further_action")["count"], 0, "D's first, sent-back decision is not an outcome");
    let school = group(&o["by_agency"], app.school().agency_id());
    assert_eq!((&school["referrals"], &school["percent_referrals"]), (&json!(1), &json!(33.3)));
    assert_eq!(outcome(school, "no_further_action")["percent_of_decided"], 33.3);
    let health = group(&o["by_agency"], app.health().agency_id());
    assert_eq!((&health["received"], &health["decided"]), (&json!(2), &json!(0)));
    assert!(outcome(health, "no_further_action").get("percent_of_decided").is_none(), "E awaits authorisation");
    assert_eq!(group(&o["by_agency_kind"], "police")["referrals"], 2);
    assert_eq!(group(&o["by_agency_kind"], "probation")["received"], 0);
    assert_eq!(
        o["re_referrals"],
        json!({"received": 9, "re_referrals": 1, "percent_of_received": 11.1, "referrals": 3,
               "referrals_that_are_re_referrals": 1, "percent_of_referrals": 33.3})
    );
    let counts = |list: &Value| {
        list.as_array()
            .unwrap()
            .iter()
            .map(|k| (k["key"].as_str().unwrap().to_owned(), k["count"].as_i64().unwrap()))
            .collect::<Vec<_>>()
    };
    let own = |v: [(&str, i64); 3]| v.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect::<Vec<_>>();
    assert_eq!(counts(&o["rag_at_intake"]), own([("red", 0), ("amber", 6), ("green", 3)]));
    assert_eq!(counts(&o["rag_current"]), own([("red", 1), ("amber", 5), ("green", 3)]));
    assert_eq!((&o["rerated_up"], &o["rerated_down"]), (&json!(1), &json!(0)));
    assert!(csv_matches_json(&manager, "outcomes", &query, &o).await > 50);

    // Filters narrow the cohort; a period before the month holds nothing.
    let police_only = [("from", "2026-11-01"), ("to", "2026-11-30"), ("agency_kind", "police")];
    let p = manager.report("timeliness", &police_only).await.ok();
    assert_eq!((&p["received"], &p["decided"]), (&json!(4), &json!(3)));
    let amber = [("from", "2026-11-01"), ("to", "2026-11-15"), ("urgency", "amber")];
    assert_eq!(manager.report("timeliness", &amber).await.ok()["received"], 4, "A, C, D, E");
    let school = app.school();
    let one_agency = [("from", "2026-11-01"), ("to", "2026-11-30"), ("agency_id", school.agency_id())];
    assert_eq!(manager.report("outcomes", &one_agency).await.ok()["received"], 3);
    let instants = [("from", "2026-11-02T00:00:00Z"), ("to", "2026-11-04T10:00:00Z")];
    assert_eq!(manager.report("timeliness", &instants).await.ok()["received"], 2, "A and B; C came at 10:00, excluded");
    let october = [("from", "2026-10-01"), ("to", "2026-10-31")];
    let empty = manager.report("timeliness", &october).await.ok();
    assert_eq!((&empty["received"], empty.get("percent_within_timescale")), (&json!(0), None));
}

#[tokio::test]
async fn reports_are_for_managers_and_auditors_audited_and_refuse_a_bad_period() {
    let app = spawn_app().await;
    let query = [("from", "2026-11-01"), ("to", "2026-11-30")];
    for caller in [app.practitioner(), app.admin(), app.school()] {
        assert_eq!(caller.report("timeliness", &query).await.status(), 403);
        assert_eq!(caller.report("outcomes", &query).await.status(), 403);
    }
    assert_eq!(app.anonymous().report("outcomes", &query).await.status(), 401);
    let auditor = app.auditor();
    assert_eq!(auditor.report("outcomes", &query).await.status(), 200);
    let backwards = auditor.report("timeliness", &[("from", "2026-11-30"), ("to", "2026-11-01")]).await.problem(400);
    assert_eq!(backwards["errors"][0]["pointer"], "/to");
    let unreadable = auditor.report("outcomes", &[("from", "last month"), ("to", "2026-11-01")]).await.problem(400);
    assert_eq!(unreadable["errors"][0]["pointer"], "/from");
    let queue = auditor.report("timeliness", &[("from", "2026-11-01"), ("to", "2026-11-30"), ("queue", "nowhere")]);
    assert_eq!(queue.await.problem(400)["errors"][0]["pointer"], "/queue");
    assert_eq!(auditor.report("timeliness", &[("from", "2026-11-01")]).await.status(), 400);
    let trail = auditor.audit(&[]).await.ok().to_string();
    assert!(trail.contains("report.read") && trail.contains(r#""report":"outcomes""#), "{trail}");
}

#[tokio::test]
async fn annex_a_lists_every_child_of_every_contact_in_ofsteds_columns() {
    let app = spawn_app().await;
    app.set_time(london(2026, 11, 2, 10, 0));
    let named = json!({"given_name": "Noah", "family_name": "Annex", "date_of_birth": "2018-11-03",
                       "gender": "male", "ethnicity": "MWBC"});
    let mut two = contact_about(app.today(), "AX-1", named, "neglect", "Often hungry.");
    two["children"]
        .as_array_mut()
        .unwrap()
        .push(json!({"expected_date_of_birth": "2027-02-01", "family_name": "Annex"}));
    app.police().submit(two).await;
    app.set_time(london(2026, 11, 3, 16, 0));
    app.school().submit(green_contact(app.today(), "AX-2")).await;
    let bad = app.school().create_contact(json!({"children": [{"given_name": "X", "ethnicity": "white"}]})).await;
    assert!(bad.problem(422)["errors"].to_string().contains("/children/0/ethnicity"));

    let manager = app.manager();
    let query = [("from", "2026-11-01"), ("to", "2026-11-30")];
    let resp = manager.request(reqwest::Method::GET, "/v1/exports/annex-a/contacts").query(&query).send().await;
    assert_eq!(resp.status(), 200);
    assert!(resp.header("content-type").unwrap_or_default().starts_with("text/csv"));
    let disposition = resp.header("content-disposition").unwrap_or_default();
    assert!(disposition.contains("annex-a-list-1-contacts-2026-11-01-to-2026-11-30.csv"), "{disposition}");
    let text = resp.text();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        headers,
        [
            "Child Unique ID",
            "Gender",
            "Ethnicity",
            "Date of Birth",
            "Age of Child (Years)",
            "Date of Contact",
            "Contact Source"
        ]
    );
    let rows: Vec<Vec<String>> =
        reader.records().map(|r| r.unwrap().iter().skip(1).map(str::to_owned).collect()).collect();
    assert_eq!(
        rows,
        [
            ["a) Male", "f) MWBC", "03/11/2018", "7", "02/11/2026", "q) 6: Police"],
            ["c) Not stated/recorded", "t) NOBT", "", "", "02/11/2026", "q) 6: Police"],
            ["c) Not stated/recorded", "t) NOBT", "01/05/2019", "7", "03/11/2026", "e) 2A: Schools"],
        ]
    );
    assert_eq!(
        app.practitioner()
            .request(reqwest::Method::GET, "/v1/exports/annex-a/contacts")
            .query(&query)
            .send()
            .await
            .status(),
        403
    );
}
