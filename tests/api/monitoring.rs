//! Monitoring: `/metrics` on its own listener, the business counters, the SLO histogram, the
//! gauges read from PostgreSQL (open work, budget bands, the breach forecast on the working
//! calendar), and nothing in a label that names a contact or a person.

// The samples compared are counts and whole seconds: exact in an f64.
#![allow(clippy::float_cmp)]

use reqwest::Method;
use serde_json::json;

use crate::{
    fixtures::{amber_contact, green_contact, london, monday_10},
    helpers::{Overrides, hung_redis, sample, spawn_app, spawn_app_with},
};

const SCREENING: (&str, &str) = ("queue", "screening");

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only() {
    let app = spawn_app().await;
    assert_ne!(app.metrics_addr, app.addr);
    let text = app.scrape().await;
    let version = app.policy_version();
    assert_eq!(sample(&text, "mash_build_info", &[("policy_version", &version)]), 1.0);
    assert!(text.contains("# TYPE mash_open_contacts gauge"), "{text}");
    // Counters start at zero for every known label value: an alert on increase() sees the first.
    for name in
        ["mash_breaches_total", "mash_decisions_total", "mash_claims_expired_total", "mash_contacts_received_total"]
    {
        assert!(text.lines().any(|l| l.starts_with(&format!("{name}{{")) && l.ends_with(" 0")), "{name} at zero");
    }
    assert!(text.contains(r#"mash_breaches_total{clock="decision",queue="immediate",urgency="red"} 0"#), "{text}");
    assert_eq!(sample(&text, "mash_redis_up", &[]), 1.0);
    // The partner API does not serve it.
    assert_eq!(app.anonymous().request(Method::GET, "/metrics").send().await.status(), 404);
}

#[tokio::test]
async fn a_contacts_life_is_counted_and_the_forecast_sees_its_breach_coming() {
    let app = spawn_app().await;
    app.set_time(monday_10());
    let amber = app.school().submit(amber_contact(app.today(), "MON-A")).await;
    let green = app.school().submit(green_contact(app.today(), "MON-G")).await;

    let text = app.scrape().await;
    let received =
        |urgency| sample(&text, "mash_contacts_received_total", &[("agency_kind", "school"), ("urgency", urgency)]);
    assert_eq!((received("amber"), received("green"), received("red")), (1.0, 1.0, 0.0));
    let open = |urgency, escalated| {
        sample(
            &text,
            "mash_open_contacts",
            &[SCREENING, ("urgency", urgency), ("state", "awaiting_screening"), ("escalated", escalated)],
        )
    };
    assert_eq!((open("amber", "false"), open("green", "false"), open("red", "false")), (1.0, 1.0, 0.0));
    let all_open: f64 = text
        .lines()
        .filter(|l| l.starts_with("mash_open_contacts{"))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap())
        .sum();
    assert_eq!(all_open, 2.0, "each open contact is counted exactly once");
    let band = |text: &str, urgency, band| {
        sample(text, "mash_open_contacts_by_budget_band", &[SCREENING, ("urgency", urgency), ("band", band)])
    };
    assert_eq!(band(&text, "amber", "under_50"), 1.0);
    // Amber is due Tuesday 10:00 (one working day): not within the next working hour, nor by
    // tonight's close, but by the close of the next working day.
    let forecast = |text: &str, urgency, horizon| {
        sample(
            text,
            "mash_breach_forecast_contacts",
            &[SCREENING, ("urgency", urgency), ("state", "awaiting_screening"), ("horizon", horizon)],
        )
    };
    assert_eq!(forecast(&text, "amber", "next_working_hour"), 0.0);
    assert_eq!(forecast(&text, "amber", "end_of_working_day"), 0.0);
    assert_eq!(forecast(&text, "amber", "end_of_next_working_day"), 1.0);
    assert_eq!(sample(&text, "mash_oldest_unclaimed_contact_age_seconds", &[SCREENING]), 0.0);

    // 16:30: 6.5 of 8 working hours used; the reminder and the escalation fired.
    app.set_time(london(2026, 11, 23, 16, 30));
    assert_eq!(app.fire_due_steps().await, 2);
    let text = app.scrape().await;
    assert_eq!(band(&text, "amber", "75_to_100"), 1.0);
    assert_eq!(band(&text, "amber", "under_50"), 0.0);
    assert_eq!(band(&text, "green", "under_50"), 1.0, "green has 3 working days");
    for step in ["reminder", "escalate"] {
        let fired = [("step", step), ("urgency", "amber"), SCREENING];
        assert_eq!(sample(&text, "mash_ladder_steps_fired_total", &fired), 1.0, "{step}");
    }
    assert_eq!(sample(&text, "mash_ladder_lateness_seconds_count", &[("step", "reminder")]), 1.0);
    assert_eq!(
        sample(
            &text,
            "mash_open_contacts",
            &[SCREENING, ("urgency", "amber"), ("state", "awaiting_screening"), ("escalated", "true")]
        ),
        1.0
    );
    assert_eq!(sample(&text, "mash_oldest_unclaimed_contact_age_seconds", &[SCREENING]), 6.5 * 3600.0);

    // Tuesday 09:15: 45 working minutes left, so amber breaches within the next working hour.
    app.set_time(london(2026, 11, 24, 9, 15));
    let text = app.scrape().await;
    assert_eq!(forecast(&text, "amber", "next_working_hour"), 1.0);
    assert_eq!(forecast(&text, "green", "next_working_hour"), 0.0);

    // Decided in time: the forecast empties, the decision counts as within timescale, and the
    // budget used (7.25 of 8 working hours) lands between the 0.9 and 1.0 buckets.
    let decision = json!({"outcome": "early_help", "rationale": "Support offered.", "feedback": "Early help offered.", "threshold_level": "early_help"});
    assert_eq!(app.manager().decide(&amber, &decision, Some("*")).await.status(), 200);
    let text = app.scrape().await;
    assert_eq!(forecast(&text, "amber", "next_working_hour"), 0.0, "a decided contact will not breach");
    let decided = [("urgency", "amber"), SCREENING, ("outcome", "early_help"), ("within_timescale", "true")];
    assert_eq!(sample(&text, "mash_decisions_total", &decided), 1.0);
    let by = [("urgency", "amber"), SCREENING];
    let bucket = |le| sample(&text, "mash_decision_budget_used_ratio_bucket", &[by[0], by[1], ("le", le)]);
    assert_eq!((bucket("0.9"), bucket("1")), (0.0, 1.0));
    let used = sample(&text, "mash_decision_budget_used_ratio_sum", &by);
    assert!((used - 7.25 / 8.0).abs() < 1e-6, "{used}");
    let working = sample(&text, "mash_decision_working_seconds_sum", &by);
    assert!((working - 7.25 * 3600.0).abs() < 1e-3, "{working}");

    // Green breaches at Thursday 10:00 and is decided late.
    app.set_time(london(2026, 11, 26, 10, 0));
    app.fire_due_steps().await;
    let text = app.scrape().await;
    let breach = [("clock", "decision"), ("urgency", "green"), SCREENING];
    assert_eq!(sample(&text, "mash_breaches_total", &breach), 1.0);
    assert_eq!(band(&text, "green", "breached"), 1.0);
    assert_eq!(forecast(&text, "green", "end_of_next_working_day"), 0.0, "already breached: no longer forecast");
    let late = json!({"outcome": "no_further_action", "rationale": "No concerns.", "feedback": "No further action.", "threshold_level": "early_help",
                      "late_reason": "capacity"});
    assert_eq!(app.manager().decide(&green, &late, Some("*")).await.status(), 200);
    let text = app.scrape().await;
    let decided = [("urgency", "green"), SCREENING, ("outcome", "no_further_action"), ("within_timescale", "false")];
    assert_eq!(sample(&text, "mash_decisions_total", &decided), 1.0);
    assert_eq!(sample(&text, "mash_decision_budget_used_ratio_bucket", &[("urgency", "green"), ("le", "+Inf")]), 1.0);
}

#[tokio::test]
async fn rerates_and_expired_claims_are_counted() {
    let app = spawn_app().await;
    app.set_time(monday_10());
    let id = app.school().submit(green_contact(app.today(), "RR-1")).await;
    let up =
        app.manager().rerate(&id, json!({"urgency": "amber", "reason": "Second referral today."}), Some("*")).await;
    assert_eq!(up.status(), 200);
    let down =
        app.manager().rerate(&id, json!({"urgency": "green", "reason": "Checked: no new risk."}), Some("*")).await;
    assert_eq!(down.status(), 200);
    assert_eq!(app.practitioner().claim_next("screening").await.status(), 200);
    app.advance_time(chrono::TimeDelta::minutes(31));
    assert_eq!(app.expire_claims().await, 1);
    let text = app.scrape().await;
    assert_eq!(sample(&text, "mash_rerates_total", &[("direction", "up")]), 1.0);
    assert_eq!(sample(&text, "mash_rerates_total", &[("direction", "down")]), 1.0);
    assert_eq!(sample(&text, "mash_claims_expired_total", &[SCREENING]), 1.0);
}

#[tokio::test]
async fn http_requests_are_counted_by_route_template_and_no_label_names_a_contact_or_a_person() {
    let app = spawn_app().await;
    let id = app.school().submit(amber_contact(app.today(), "Ella-Privacy")).await;
    assert_eq!(app.school().get_contact(&id).await.status(), 200);
    assert_eq!(app.school().request(Method::GET, "/v1/contacts/Ella%20Smith").send().await.status(), 404);
    for depth in 1..20 {
        let path = format!("/scan{}", "/x".repeat(depth));
        app.anonymous().request(Method::GET, &path).send().await;
    }
    let text = app.scrape().await;
    let read = [("route", "/v1/contacts/{id}"), ("method", "GET"), ("status", "200")];
    assert_eq!(sample(&text, "mash_http_requests_total", &read), 1.0);
    assert_eq!(sample(&text, "mash_http_requests_total", &[("route", "/v1/contacts"), ("status", "201")]), 1.0);
    assert!(sample(&text, "mash_http_requests_total", &[("route", "unmatched")]) >= 18.0, "a scan shares one label");
    assert!(!text.contains(&id), "a contact id in a label");
    for personal in ["Ella", "Privacy", "Smith", "MON-"] {
        assert!(!text.contains(personal), "{personal} in the metrics");
    }
    let uuid = regex_lite_uuid(&text);
    assert!(uuid.is_none(), "an id in the metrics: {uuid:?}");
}

/// The first UUID-shaped word in `text`, if any.
fn regex_lite_uuid(text: &str) -> Option<&str> {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-')).find(|w| {
        w.len() == 36
            && w.chars()
                .enumerate()
                .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
    })
}

#[tokio::test]
async fn a_redis_that_does_not_answer_is_reported_down() {
    let app = spawn_app_with(Overrides { redis_url: Some(hung_redis().await), ..Overrides::default() }).await;
    let text = app.scrape().await;
    assert_eq!(sample(&text, "mash_redis_up", &[]), 0.0);
    // The gauges from PostgreSQL are still read.
    assert!(text.contains("mash_open_contacts{"));
}
