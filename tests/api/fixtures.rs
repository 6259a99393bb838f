//! The shared triage cases (`tests/fixtures/triage-cases.json`, copied from shared/testdata) and
//! their date-relative rendering, ported from `tests/fixtures/render_cases.py`: "@dob:4m" is a
//! date of birth 4 months before `today`, "@edd:3m" an expected date 3 months ahead. And the
//! contacts and times the scenarios share.

use chrono::{DateTime, Months, NaiveDate, TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};

pub const CASES: &str = include_str!("../fixtures/triage-cases.json");

/// A rendered case.
pub struct Case {
    pub id: String,
    pub agency_kind: String,
    pub prior: Vec<Value>,
    pub contact: Value,
    /// The expected `urgency` and `queue`.
    pub expect: Value,
}

fn shift(today: NaiveDate, amount: u32, unit: &str, ahead: bool) -> NaiveDate {
    match (unit, ahead) {
        ("d", true) => today + TimeDelta::days(i64::from(amount)),
        ("d", false) => today - TimeDelta::days(i64::from(amount)),
        (unit, ahead) => {
            let months = Months::new(if unit == "y" { amount * 12 } else { amount });
            // chrono clamps to the month's last day, as the Python renderer does.
            if ahead { today.checked_add_months(months) } else { today.checked_sub_months(months) }.unwrap()
        }
    }
}

fn fill(value: &Value, today: NaiveDate) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), fill(v, today))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, today)).collect()),
        Value::String(s) => {
            let rendered = s.strip_prefix('@').and_then(|rest| {
                let (kind, amount) = rest.split_once(':')?;
                let (number, unit) = amount.split_at(amount.len() - 1);
                let ahead = match kind {
                    "dob" => false,
                    "edd" => true,
                    _ => return None,
                };
                Some(shift(today, number.parse().ok()?, unit, ahead).to_string())
            });
            rendered.map_or_else(|| value.clone(), Value::String)
        }
        other => other.clone(),
    }
}

/// A contact from a case's partial contact: the renderer's base fields plus a unique reference.
pub fn render_contact(partial: &Value, today: NaiveDate, reference: String) -> Value {
    let mut out = json!({
        "referrer": {"name": "Test Referrer", "role": "Safeguarding lead"},
        "consent": {"status": "obtained"},
        "narrative": "Concern raised by the referrer; see the structured fields.",
    });
    for (k, v) in fill(partial, today).as_object().unwrap() {
        out[k] = v.clone();
    }
    if out.get("agency_reference").is_none() {
        out["agency_reference"] = Value::String(reference);
    }
    out
}

/// Every case rendered for `today`.
pub fn cases(today: NaiveDate) -> Vec<Case> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let raw: Vec<Value> = serde_json::from_str(CASES).unwrap();
    raw.iter()
        .map(|case| {
            let id = case["id"].as_str().unwrap().to_owned();
            let prior = case
                .get("prior")
                .and_then(Value::as_array)
                .map(|p| {
                    p.iter().enumerate().map(|(i, c)| render_contact(c, today, format!("T-{run}-{id}-p{i}"))).collect()
                })
                .unwrap_or_default();
            Case {
                contact: render_contact(&case["contact"], today, format!("T-{run}-{id}")),
                agency_kind: case["agency_kind"].as_str().unwrap().to_owned(),
                expect: case["expect"].clone(),
                prior,
                id,
            }
        })
        .collect()
}

/// The API.md example contact, with `reference` and dates relative to `today`.
pub fn example_contact(today: NaiveDate, reference: &str) -> Value {
    json!({
        "agency_reference": reference,
        "referrer": {"name": "PC Jo Hart", "role": "Response officer", "phone": "0161 000 0000",
                     "email": "jo.hart@police.example", "anonymity_requested": false},
        "children": [{
            "given_name": "Ava", "family_name": "Smith",
            "date_of_birth": (today - TimeDelta::days(115)).to_string(),
            "gender": "female", "nhs_number": "9434765919", "upn": null, "non_mobile": true,
            "address": {"line1": "1 High Street", "town": "Stockport", "postcode": "SK1 1AA"},
            "school": null
        }],
        "adults": [{"given_name": "Lee", "family_name": "Smith", "date_of_birth": "1998-02-11", "relationship": "parent"}],
        "concerns": ["physical_abuse", "domestic_abuse"],
        "injury": {"observed": true, "description": "bruise to left cheek", "non_accidental_suspected": true},
        "disclosure_made": false,
        "immediate_risk": false,
        "narrative": "Attended a domestic incident. The baby had a bruise to the cheek ...",
        "incident_at": "2026-01-21T23:10:00Z",
        "police": {"dash_risk": "high", "child_present": true},
        "health": null,
        "school": null,
        "consent": {"status": "not_sought", "reason_not_sought": "would_prejudice_investigation"}
    })
}

/// A Europe/London local time as UTC.
pub fn london(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Europe::London.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&Utc)
}

/// Monday 2026-11-23 10:00, London: the start of a working week.
pub fn monday_10() -> DateTime<Utc> {
    london(2026, 11, 23, 10, 0)
}

/// An id that names no contact or child.
pub fn unknown_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The example contact made one about a single `child` (JSON) with one `concern`, no injury and
/// no police section.
pub fn contact_about(today: NaiveDate, reference: &str, child: Value, concern: &str, narrative: &str) -> Value {
    let mut c = example_contact(today, reference);
    c["children"] = Value::Array(vec![child]);
    c["concerns"] = json!([concern]);
    c["injury"] = Value::Null;
    c["police"] = Value::Null;
    c["narrative"] = json!(narrative);
    c
}

/// An amber contact (physical abuse, a 7-year-old named Ella, no injury); the family name is the
/// reference, so no two are about the same child.
pub fn amber_contact(today: NaiveDate, reference: &str) -> Value {
    let child = json!({"given_name": "Ella", "family_name": reference, "date_of_birth": "2019-05-01"});
    contact_about(today, reference, child, "physical_abuse", "Teacher saw father hit the child in the playground.")
}

/// A green contact (neglect, the same kind of child as [`amber_contact`]).
pub fn green_contact(today: NaiveDate, reference: &str) -> Value {
    let child = json!({"given_name": "Ella", "family_name": reference, "date_of_birth": "2019-05-01"});
    contact_about(today, reference, child, "neglect", "Child often arrives hungry.")
}

#[test]
fn rendering_matches_the_python_renderer_on_month_ends() {
    let today = NaiveDate::from_ymd_opt(2026, 5, 31).unwrap();
    let out = fill(&json!(["@dob:3m", "@dob:1y", "@edd:1m", "@dob:10d", "plain"]), today);
    assert_eq!(out, json!(["2026-02-28", "2025-05-31", "2026-06-30", "2026-05-21", "plain"]));
}
