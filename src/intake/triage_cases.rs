//! The shared triage cases through intake's validation and the pure triage engine: the policy's
//! answer to each case without a database. (Here, not in `triage`, because it reads contacts as
//! intake does, and intake is the layer above triage.)

use chrono::{DateTime, Months, NaiveDate, TimeDelta, TimeZone, Utc};

use super::{Today, validate::parse_new_contact};
use crate::{policy::Policy, vocabulary::AgencyKind};

fn policy() -> Policy {
    Policy::default_policy().unwrap()
}

fn received() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

/// The shared triage cases (`tests/fixtures/triage-cases.json`) through the pure engine, each
/// earlier contact counted as a prior about its child: the policy's answer without a database.
/// The integration suite runs the same cases through the API.
#[test]
fn the_shared_triage_cases_get_the_expected_urgency_and_queue_from_the_policy() {
    use serde_json::Value;
    fn fill(v: &Value, shift: &dyn Fn(&str) -> Option<String>) -> Value {
        match v {
            Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), fill(v, shift))).collect()),
            Value::Array(a) => Value::Array(a.iter().map(|v| fill(v, shift)).collect()),
            Value::String(s) => shift(s).map_or_else(|| v.clone(), Value::String),
            other => other.clone(),
        }
    }
    let cases: Vec<Value> = serde_json::from_str(include_str!("../../tests/fixtures/triage-cases.json")).unwrap();
    let now = received();
    let shift = |spec: &str| -> Option<String> {
        let (kind, amount) = spec.strip_prefix('@')?.split_once(':')?;
        let (n, unit) = amount.split_at(amount.len() - 1);
        let n: u32 = n.parse().ok()?;
        let months = Months::new(match unit {
            "y" => n * 12,
            "m" => n,
            _ => return Some((today() - TimeDelta::days(i64::from(n))).to_string()),
        });
        let date = if kind == "edd" { today().checked_add_months(months) } else { today().checked_sub_months(months) };
        date.map(|d| d.to_string())
    };
    let p = policy();
    for case in &cases {
        let mut contact = serde_json::json!({
            "agency_reference": "CASE",
            "referrer": {"name": "Test Referrer", "role": "Safeguarding lead"},
            "consent": {"status": "obtained"},
            "narrative": "Concern raised by the referrer; see the structured fields.",
        });
        for (k, v) in fill(&case["contact"], &shift).as_object().unwrap() {
            contact[k] = v.clone();
        }
        let new = parse_new_contact(&contact, Today { date: today(), now }).unwrap();
        let kind = case["agency_kind"].as_str().unwrap().parse::<AgencyKind>().unwrap();
        let priors = u32::try_from(case.get("prior").and_then(Value::as_array).map_or(0, Vec::len)).unwrap();
        let d = crate::triage::explain::explain(&p, &new, kind, now, priors);
        assert_eq!(
            (d.urgency.as_str(), d.queue.as_str()),
            (case["expect"]["urgency"].as_str().unwrap(), case["expect"]["queue"].as_str().unwrap()),
            "{}: {}",
            case["id"],
            case["title"]
        );
    }
}
