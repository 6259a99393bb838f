//! The contact rules: a submitted JSON document becomes a [`NewContact`], or the complete list
//! of what is wrong with it (every problem with its JSON pointer, no value quoted, unknown
//! fields refused: see [`walker`], which reads the fields).
//!
//! This file owns what a contact must hold: which fields, their lengths, the identifiers' check
//! digits, and the date rules against [`Today`] (no birth in the future, a child under 25, an
//! expected birth at most 10 months ahead, no incident in the future).

use chrono::{DateTime, Months, NaiveDate, TimeDelta, Utc};
use serde_json::Value;
use strum::VariantNames;

pub use super::walker::{FieldError, MAX_ERRORS};
use super::{
    identifiers::{normalise_nhs_number, normalise_upn},
    walker::{self, Items, Object, Ptr, Walker},
};
use crate::contact::model::{
    Address, Adult, Child, Concern, Consent, ConsentStatus, HealthDetails, Injury, NewContact, PoliceDetails, Referrer,
    SchoolDetails,
};

/// The most contacts a batch may hold.
pub const MAX_BATCH: usize = 500;
/// The most children or adults one contact may name.
pub const MAX_PEOPLE: usize = 20;
/// The longest narrative, in characters.
pub const MAX_NARRATIVE: usize = 20_000;
/// How far ahead an expected date of birth may be.
const MAX_EDD_AHEAD: Months = Months::new(10);
/// Clock skew tolerated on `incident_at` before it counts as "in the future".
const INCIDENT_SKEW: TimeDelta = TimeDelta::minutes(5);
/// The oldest a child named in a contact can be (care leavers are supported up to 25).
const MAX_CHILD_AGE: Months = Months::new(25 * 12);

/// Today's date in the hub's timezone and the current instant, for the date rules.
#[derive(Debug, Clone, Copy)]
pub struct Today {
    pub date: NaiveDate,
    pub now: DateTime<Utc>,
}

/// A contact's fields.
const CONTACT_FIELDS: &[&str] = &[
    "agency_reference",
    "referrer",
    "children",
    "adults",
    "concerns",
    "injury",
    "disclosure_made",
    "immediate_risk",
    "narrative",
    "incident_at",
    "police",
    "health",
    "school",
    "consent",
];

/// Validates one contact document.
pub fn parse_new_contact(value: &Value, today: Today) -> Result<NewContact, Vec<FieldError>> {
    walker::parse_object(value, CONTACT_FIELDS, |w, obj| contact(w, today, obj))
}

/// Validates a batch document: `{"contacts": [...]}`. The outer `Err` is a problem with the
/// envelope; each item is validated on its own.
pub fn parse_batch(value: &Value, today: Today) -> Result<Vec<Result<NewContact, Vec<FieldError>>>, Vec<FieldError>> {
    let items = walker::parse_object(value, &["contacts"], |w, obj| {
        let count = Items::between(1..=MAX_BATCH).worded("hold", "contact", "contacts");
        w.required_array(obj, "contacts", count).map(|contacts| contacts.items())
    })?;
    Ok(items.iter().map(|item| parse_new_contact(item, today)).collect())
}

/// How many children or adults a contact may name: at least `min`.
fn people(min: usize) -> Items {
    Items::between(min..=MAX_PEOPLE).worded("name", "", "")
}

fn contact(w: &mut Walker, today: Today, obj: &Object<'_>) -> Option<NewContact> {
    let agency_reference = w.required_string(obj, "agency_reference", ..=100);
    let referrer = referrer(w, obj);
    let children =
        w.required_array(obj, "children", people(1)).and_then(|a| w.each(&a, |w, v, p| child(w, today, v, p)));
    let adults = w.optional_array(obj, "adults", people(0)).and_then(|a| w.each(&a, |w, v, p| adult(w, today, v, p)));
    let concerns = concerns(w, obj);
    let injury =
        w.optional_object(obj, "injury", &["observed", "description", "non_accidental_suspected"]).map(|o| Injury {
            observed: w.optional_bool(&o, "observed"),
            description: w.optional_string(&o, "description", ..=2000),
            non_accidental_suspected: w.optional_bool(&o, "non_accidental_suspected"),
        });
    let disclosure_made = w.optional_bool(obj, "disclosure_made").unwrap_or(false);
    let immediate_risk = w.optional_bool(obj, "immediate_risk").unwrap_or(false);
    let narrative = w.required_string(obj, "narrative", ..=MAX_NARRATIVE);
    let incident_at = incident_at(w, today, obj);
    let police = w.optional_object(obj, "police", &["dash_risk", "child_present"]).map(|o| PoliceDetails {
        dash_risk: w.optional_enum(&o, "dash_risk"),
        child_present: w.optional_bool(&o, "child_present"),
    });
    let health = w
        .optional_object(obj, "health", &["setting"])
        .map(|o| HealthDetails { setting: w.optional_enum(&o, "setting") });
    let school = w.optional_object(obj, "school", &["urn"]).map(|o| {
        let urn = w.optional_string(&o, "urn", ..=6);
        if urn.as_ref().is_some_and(|u| u.len() != 6 || !u.bytes().all(|b| b.is_ascii_digit())) {
            w.err(&o.at("urn"), "must be a six-digit school URN");
        }
        SchoolDetails { urn }
    });
    let consent = consent(w, obj);
    Some(NewContact {
        agency_reference: agency_reference?,
        referrer: referrer?,
        children: children?,
        adults: adults.unwrap_or_default(),
        concerns: concerns?,
        injury,
        disclosure_made,
        immediate_risk,
        narrative: narrative?,
        incident_at,
        police,
        health,
        school,
        consent: consent?,
    })
}

fn referrer(w: &mut Walker, obj: &Object<'_>) -> Option<Referrer> {
    let r = w.required_object(obj, "referrer", &["name", "role", "phone", "email", "anonymity_requested"])?;
    let name = w.required_string(&r, "name", ..=200);
    let role = w.required_string(&r, "role", ..=200);
    let phone = w.optional_string(&r, "phone", ..=50);
    let email = w.optional_string(&r, "email", ..=254);
    if email.as_ref().is_some_and(|e| !is_plausible_email(e)) {
        w.err(&r.at("email"), "must be an email address");
    }
    let anonymity_requested = w.optional_bool(&r, "anonymity_requested").unwrap_or(false);
    Some(Referrer { name: name?, role: role?, phone, email, anonymity_requested })
}

/// A date field that must not be after today.
fn past_date(w: &mut Walker, today: Today, obj: &Object<'_>, key: &str) -> Option<NaiveDate> {
    let date = w.optional_date(obj, key)?;
    if date > today.date {
        w.err(&obj.at(key), "must not be in the future");
    }
    Some(date)
}

/// A child's date of birth: in the past, and not so long ago that the person is not a child.
fn child_birth_date(w: &mut Walker, today: Today, c: &Object<'_>) -> Option<NaiveDate> {
    let date = past_date(w, today, c, "date_of_birth")?;
    if today.date.checked_sub_months(MAX_CHILD_AGE).is_some_and(|oldest| date < oldest) {
        w.err(&c.at("date_of_birth"), "must be within the last 25 years for a child");
    }
    Some(date)
}

/// A person's given and family names, and whether either was given (a name that is present but
/// invalid has its own problem already, so it counts as given).
fn names(w: &mut Walker, person: &Object<'_>) -> (Option<String>, Option<String>, bool) {
    let given_name = w.optional_string(person, "given_name", ..=100);
    let family_name = w.optional_string(person, "family_name", ..=100);
    let name_given = given_name.is_some()
        || family_name.is_some()
        || w.has_error_at(&person.at("given_name"))
        || w.has_error_at(&person.at("family_name"));
    (given_name, family_name, name_given)
}

fn child(w: &mut Walker, today: Today, value: &Value, ptr: &Ptr) -> Option<Child> {
    let c = w.object(
        value,
        ptr,
        &[
            "given_name",
            "family_name",
            "date_of_birth",
            "expected_date_of_birth",
            "gender",
            "ethnicity",
            "nhs_number",
            "upn",
            "non_mobile",
            "address",
            "school",
        ],
    )?;
    let (given_name, family_name, name_given) = names(w, &c);
    let date_of_birth = child_birth_date(w, today, &c);
    let expected_date_of_birth = w.optional_date(&c, "expected_date_of_birth");
    if let Some(edd) = expected_date_of_birth {
        if date_of_birth.is_some() {
            w.err(&c.at("expected_date_of_birth"), "is for an unborn child and cannot be given with date_of_birth");
        } else if today.date.checked_add_months(MAX_EDD_AHEAD).is_some_and(|limit| edd > limit) {
            w.err(&c.at("expected_date_of_birth"), "must not be more than 10 months ahead");
        }
    }
    if !name_given && c.get("expected_date_of_birth").is_none() {
        w.err(c.ptr(), "a child needs a given_name or family_name, or an expected_date_of_birth if unborn");
    }
    let gender = w.optional_enum(&c, "gender");
    let ethnicity = w.optional_enum(&c, "ethnicity");
    let nhs_number = w.optional_string(&c, "nhs_number", ..=20).and_then(|raw| {
        normalise_nhs_number(&raw).or_else(|| {
            w.err(&c.at("nhs_number"), "must be a valid 10-digit NHS number (modulus 11 check digit)");
            None
        })
    });
    let upn = w.optional_string(&c, "upn", ..=20).and_then(|raw| {
        normalise_upn(&raw).or_else(|| {
            w.err(&c.at("upn"), "must be a valid 13-character UPN (check letter)");
            None
        })
    });
    let non_mobile = w.optional_bool(&c, "non_mobile");
    let address = w.optional_object(&c, "address", &["line1", "line2", "town", "postcode"]).map(|a| Address {
        line1: w.optional_string(&a, "line1", ..=200),
        line2: w.optional_string(&a, "line2", ..=200),
        town: w.optional_string(&a, "town", ..=100),
        postcode: w.optional_string(&a, "postcode", ..=10).map(|pc| pc.to_ascii_uppercase()),
    });
    let school = w.optional_string(&c, "school", ..=200);
    Some(Child {
        given_name,
        family_name,
        date_of_birth,
        expected_date_of_birth,
        gender,
        ethnicity,
        nhs_number,
        upn,
        non_mobile,
        address,
        school,
    })
}

fn adult(w: &mut Walker, today: Today, value: &Value, ptr: &Ptr) -> Option<Adult> {
    let a = w.object(value, ptr, &["given_name", "family_name", "date_of_birth", "relationship"])?;
    let (given_name, family_name, name_given) = names(w, &a);
    if !name_given {
        w.err(a.ptr(), "an adult needs a given_name or family_name");
    }
    let date_of_birth = past_date(w, today, &a, "date_of_birth");
    let relationship = w.optional_enum(&a, "relationship");
    Some(Adult { given_name, family_name, date_of_birth, relationship })
}

fn concerns(w: &mut Walker, obj: &Object<'_>) -> Option<Vec<Concern>> {
    // Repeats are ignored, so allow some slack over the number of distinct concerns.
    let count = Items::between(1..=4 * Concern::VARIANTS.len()).worded("list", "concern", "concerns");
    let listed = w.required_array(obj, "concerns", count).and_then(|a| w.each(&a, Walker::enum_value::<Concern>))?;
    let mut concerns = Vec::with_capacity(listed.len());
    for concern in listed {
        if !concerns.contains(&concern) {
            concerns.push(concern);
        }
    }
    Some(concerns)
}

fn incident_at(w: &mut Walker, today: Today, obj: &Object<'_>) -> Option<DateTime<Utc>> {
    let at = w.optional_date_time(obj, "incident_at")?;
    if at > today.now + INCIDENT_SKEW {
        w.err(&obj.at("incident_at"), "must not be in the future");
    }
    Some(at)
}

fn consent(w: &mut Walker, obj: &Object<'_>) -> Option<Consent> {
    let c = w.required_object(obj, "consent", &["status", "reason_not_sought"])?;
    let status = w.required_enum::<ConsentStatus>(&c, "status");
    let reason_not_sought = w.optional_enum(&c, "reason_not_sought");
    match (status, reason_not_sought, c.get("reason_not_sought")) {
        (Some(ConsentStatus::Obtained), _, Some(_)) => {
            w.err(&c.at("reason_not_sought"), "applies only when consent was not obtained");
        }
        (Some(ConsentStatus::Refused | ConsentStatus::NotSought), None, None) => {
            w.err(&c.at("reason_not_sought"), "is required when consent was not obtained");
        }
        _ => {}
    }
    Some(Consent { status: status?, reason_not_sought })
}

/// A light check: one `@` with text either side and no spaces. Deliverability is not our business.
fn is_plausible_email(email: &str) -> bool {
    matches!(email.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.contains('@'))
        && !email.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn today() -> Today {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
        Today { date: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(), now }
    }

    fn example() -> Value {
        json!({
            "agency_reference": "PPN-2026-004211",
            "referrer": {"name": "PC Jo Hart", "role": "Response officer", "phone": "0161 000 0000",
                         "email": "jo.hart@police.example", "anonymity_requested": false},
            "children": [{
                "given_name": "Ava", "family_name": "Smith", "date_of_birth": "2026-07-30",
                "gender": "female", "nhs_number": "9434765919", "upn": null, "non_mobile": true,
                "address": {"line1": "1 High Street", "town": "Stockport", "postcode": "sk1 1aa"},
                "school": null
            }],
            "adults": [{"given_name": "Lee", "family_name": "Smith", "date_of_birth": "1998-02-11", "relationship": "parent"}],
            "concerns": ["physical_abuse", "domestic_abuse", "physical_abuse"],
            "injury": {"observed": true, "description": "bruise to left cheek", "non_accidental_suspected": true},
            "disclosure_made": false,
            "immediate_risk": false,
            "narrative": "Attended a domestic incident. The baby had a bruise to the cheek ...",
            "incident_at": "2026-11-21T23:10:00Z",
            "police": {"dash_risk": "high", "child_present": true},
            "health": null,
            "school": null,
            "consent": {"status": "not_sought", "reason_not_sought": "would_prejudice_investigation"}
        })
    }

    fn pointers(value: &Value) -> Vec<String> {
        let mut p: Vec<String> =
            parse_new_contact(value, today()).unwrap_err().into_iter().map(|e| e.pointer).collect();
        p.sort();
        p
    }

    #[test]
    fn the_api_md_example_is_accepted_and_normalised() {
        let contact = parse_new_contact(&example(), today()).unwrap();
        assert_eq!(contact.concerns, vec![Concern::PhysicalAbuse, Concern::DomesticAbuse]);
        assert_eq!(contact.children[0].address.as_ref().unwrap().postcode.as_deref(), Some("SK1 1AA"));
        assert_eq!(contact.children[0].nhs_number.as_deref(), Some("9434765919"));
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_pointer() {
        let mut v = example();
        v["children"][0]["nhs_number"] = json!("9434765918");
        v["children"][0]["date_of_birth"] = json!("2027-01-01");
        v["children"][0]["gender"] = json!("f");
        v["concerns"] = json!(["physical_abuse", "bad_thing"]);
        v["narrative"] = json!(["not", "text"]);
        v["consent"] = json!({"status": "refused"});
        v["imediate_risk"] = json!(true);
        v.as_object_mut().unwrap().remove("referrer");
        assert_eq!(
            pointers(&v),
            vec![
                "/children/0/date_of_birth",
                "/children/0/gender",
                "/children/0/nhs_number",
                "/concerns/1",
                "/consent/reason_not_sought",
                "/imediate_risk",
                "/narrative",
                "/referrer",
            ]
        );
    }

    #[test]
    fn messages_never_quote_the_submitted_values() {
        let mut v = example();
        v["children"][0]["nhs_number"] = json!("1234567890");
        v["children"][0]["given_name"] = json!(12);
        v["children"][0]["date_of_birth"] = json!("30/07/2026");
        v["referrer"]["email"] = json!("jo.hart at police");
        for e in parse_new_contact(&v, today()).unwrap_err() {
            for secret in ["1234567890", "30/07/2026", "jo.hart", "Ava", "Smith"] {
                assert!(!e.detail.contains(secret), "{e:?}");
            }
        }
    }

    #[test]
    fn unborn_children_need_no_name_but_not_both_dates() {
        let mut v = example();
        v["children"] = json!([{"expected_date_of_birth": "2027-03-01"}]);
        assert!(parse_new_contact(&v, today()).is_ok());
        v["children"] = json!([{"expected_date_of_birth": "2027-10-01"}]);
        assert_eq!(pointers(&v), vec!["/children/0/expected_date_of_birth"]);
        v["children"] =
            json!([{"given_name": "A", "date_of_birth": "2026-01-01", "expected_date_of_birth": "2027-01-01"}]);
        assert_eq!(pointers(&v), vec!["/children/0/expected_date_of_birth"]);
        v["children"] = json!([{"gender": "male"}]);
        assert_eq!(pointers(&v), vec!["/children/0"]);
        v["children"] = json!([]);
        assert_eq!(pointers(&v), vec!["/children"]);
    }

    #[test]
    fn a_date_of_birth_today_is_accepted_and_tomorrow_is_not() {
        let mut v = example();
        v["children"][0]["date_of_birth"] = json!("2026-11-22");
        assert!(parse_new_contact(&v, today()).is_ok());
        v["children"][0]["date_of_birth"] = json!("2026-11-23");
        assert_eq!(pointers(&v), vec!["/children/0/date_of_birth"]);
    }

    #[test]
    fn consent_reason_is_required_unless_obtained_and_refused_when_obtained() {
        let mut v = example();
        v["consent"] = json!({"status": "obtained"});
        assert!(parse_new_contact(&v, today()).is_ok());
        v["consent"] = json!({"status": "obtained", "reason_not_sought": "emergency"});
        assert_eq!(pointers(&v), vec!["/consent/reason_not_sought"]);
        v["consent"] = json!({"status": "not_sought"});
        assert_eq!(pointers(&v), vec!["/consent/reason_not_sought"]);
        // Without a status, whether a reason is needed is unknown: one problem, not two.
        v["consent"] = json!({});
        assert_eq!(pointers(&v), vec!["/consent/status"]);
    }

    #[test]
    fn lengths_are_counted_in_characters_and_nul_is_refused() {
        let mut v = example();
        v["narrative"] = json!("é".repeat(MAX_NARRATIVE));
        assert!(parse_new_contact(&v, today()).is_ok());
        v["narrative"] = json!("é".repeat(MAX_NARRATIVE + 1));
        assert_eq!(pointers(&v), vec!["/narrative"]);
        v["narrative"] = json!("a\u{0}b");
        assert_eq!(pointers(&v), vec!["/narrative"]);
        v["narrative"] = json!("line one\nline two");
        assert!(parse_new_contact(&v, today()).is_ok());
    }

    #[test]
    fn unknown_fields_are_named_only_when_they_look_like_field_names() {
        let mut v = example();
        v["imediate_risk"] = json!(true);
        v["children"][0]["Ava Smith 2026-07-30"] = json!(1);
        let errors = parse_new_contact(&v, today()).unwrap_err();
        let mut pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        pointers.sort_unstable();
        assert_eq!(pointers, ["/children/0", "/imediate_risk"]);
        assert!(!format!("{errors:?}").contains("Ava"));
    }

    #[test]
    fn at_most_a_hundred_problems_are_listed() {
        let mut v = example();
        for i in 0..500 {
            v[format!("extra_{i}")] = json!(1);
        }
        let errors = parse_new_contact(&v, today()).unwrap_err();
        assert_eq!(errors.len(), MAX_ERRORS);
        assert!(errors[MAX_ERRORS - 1].detail.contains("more problems"));
    }

    #[test]
    fn empty_optional_strings_count_as_absent_and_empty_required_ones_as_missing() {
        let mut v = example();
        v["children"][0]["upn"] = json!("");
        v["referrer"]["phone"] = json!("  ");
        assert!(parse_new_contact(&v, today()).is_ok());
        v["narrative"] = json!("");
        assert_eq!(pointers(&v), vec!["/narrative"]);
    }

    #[test]
    fn implausible_dates_of_birth_are_refused() {
        let mut v = example();
        v["children"][0]["date_of_birth"] = json!("1899-12-31");
        assert_eq!(pointers(&v), vec!["/children/0/date_of_birth"]);
        v["children"][0]["date_of_birth"] = json!("1990-01-01");
        assert_eq!(pointers(&v), vec!["/children/0/date_of_birth"]);
        v["children"][0]["date_of_birth"] = json!("2001-11-23");
        assert!(parse_new_contact(&v, today()).is_ok(), "a 24-year-old care leaver");
    }

    #[test]
    fn a_non_object_body_is_one_problem_at_the_root() {
        assert_eq!(pointers(&json!([1, 2])), vec![""]);
    }

    #[test]
    fn batches_check_the_envelope_then_each_item_alone() {
        let mut bad = example();
        bad["concerns"] = json!([]);
        let items = parse_batch(&json!({"contacts": [example(), bad]}), today()).unwrap();
        assert!(items[0].is_ok());
        assert_eq!(items[1].as_ref().unwrap_err()[0].pointer, "/concerns");
        let too_many: Vec<Value> = (0..=MAX_BATCH).map(|_| json!({})).collect();
        assert_eq!(parse_batch(&json!({"contacts": too_many}), today()).unwrap_err()[0].pointer, "/contacts");
        assert_eq!(parse_batch(&json!({"contacts": []}), today()).unwrap_err()[0].pointer, "/contacts");
        assert_eq!(parse_batch(&json!({"items": []}), today()).unwrap_err().len(), 2);
    }
}
