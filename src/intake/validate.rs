//! Turns a submitted JSON document into a [`NewContact`], or into the complete list of what is
//! wrong with it.
//!
//! The walker visits the whole document and collects every problem with its JSON pointer
//! (RFC 6901), so a partner fixes everything in one round trip. Messages describe the rule that
//! failed and never quote the submitted value: contacts carry children's personal data, and
//! error responses end up in partners' logs. Unknown fields are refused rather than ignored: a
//! misspelt `imediate_risk: true` silently dropped would hide a red flag.

use std::str::FromStr;

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, Utc};
use serde_json::{Map, Value};
use strum::VariantNames;

use super::identifiers::{normalise_nhs_number, normalise_upn};
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
/// The most problems reported for one document; a broken generator should not get a megabyte
/// of errors back.
pub const MAX_ERRORS: usize = 100;

/// One problem with a submission.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// JSON pointer to the offending value (or to where a missing one belongs).
    pub pointer: String,
    /// What rule it breaks; never the value itself.
    pub detail: String,
}

/// Today's date in the hub's timezone and the current instant, for the date rules.
#[derive(Debug, Clone, Copy)]
pub struct Today {
    pub date: NaiveDate,
    pub now: DateTime<Utc>,
}

/// Validates one contact document.
pub fn parse_new_contact(value: &Value, today: Today) -> Result<NewContact, Vec<FieldError>> {
    let mut w = Walker { errors: Vec::new(), today };
    let contact = w.contact(value, &Ptr::root());
    match contact {
        Some(contact) if w.errors.is_empty() => Ok(contact),
        _ => Err(w.finish()),
    }
}

/// Validates a batch document: `{"contacts": [...]}`. The outer `Err` is a problem with the
/// envelope; each item is validated on its own.
pub fn parse_batch(value: &Value, today: Today) -> Result<Vec<Result<NewContact, Vec<FieldError>>>, Vec<FieldError>> {
    let mut w = Walker { errors: Vec::new(), today };
    let root = Ptr::root();
    let items = w.object(value, &root, &["contacts"]).and_then(|obj| match get(obj, "contacts") {
        None => {
            w.err(&root.key("contacts"), "is required");
            None
        }
        Some(Value::Array(items)) if items.is_empty() => {
            w.err(&root.key("contacts"), "must hold at least one contact");
            None
        }
        Some(Value::Array(items)) if items.len() > MAX_BATCH => {
            w.err(&root.key("contacts"), format!("must hold at most {MAX_BATCH} contacts"));
            None
        }
        Some(Value::Array(items)) => Some(items),
        Some(_) => {
            w.err(&root.key("contacts"), "must be an array");
            None
        }
    });
    match items {
        Some(items) if w.errors.is_empty() => Ok(items.iter().map(|item| parse_new_contact(item, today)).collect()),
        _ => Err(w.finish()),
    }
}

/// A JSON pointer under construction.
#[derive(Debug, Clone)]
struct Ptr(String);

impl Ptr {
    fn root() -> Self {
        Self(String::new())
    }

    fn key(&self, key: &str) -> Self {
        Self(format!("{}/{}", self.0, key.replace('~', "~0").replace('/', "~1")))
    }

    fn index(&self, index: usize) -> Self {
        Self(format!("{}/{index}", self.0))
    }
}

/// A field's value, treating an explicit `null` like an absent field.
fn get<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).filter(|v| !v.is_null())
}

struct Walker {
    errors: Vec<FieldError>,
    today: Today,
}

/// Whether an unknown key may be quoted in a pointer: only names shaped like our own fields.
/// Anything else (it could be a name or a date typed into the wrong place) is not echoed.
fn is_field_like(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && key.len() <= 40
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Walker {
    fn err(&mut self, ptr: &Ptr, detail: impl Into<String>) {
        self.errors.push(FieldError { pointer: ptr.0.clone(), detail: detail.into() });
    }

    fn has_error_at(&self, ptr: &Ptr) -> bool {
        self.errors.iter().any(|e| e.pointer == ptr.0)
    }

    /// The errors, at most [`MAX_ERRORS`] of them.
    fn finish(mut self) -> Vec<FieldError> {
        if self.errors.len() > MAX_ERRORS {
            let more = self.errors.len() - (MAX_ERRORS - 1);
            self.errors.truncate(MAX_ERRORS - 1);
            self.errors
                .push(FieldError { pointer: String::new(), detail: format!("and {more} more problems not listed") });
        }
        self.errors
    }

    /// `value` as an object with only `allowed` keys; reports a wrong type and every unknown key.
    fn object<'v>(&mut self, value: &'v Value, ptr: &Ptr, allowed: &[&str]) -> Option<&'v Map<String, Value>> {
        let Value::Object(obj) = value else {
            self.err(ptr, "must be an object");
            return None;
        };
        for key in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
            if is_field_like(key) {
                self.err(&ptr.key(key), "is not a recognised field");
            } else {
                self.err(ptr, "has a field whose name is not recognised (names are lower-case snake_case)");
            }
        }
        Some(obj)
    }

    /// An optional nested object.
    fn optional_object<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &str,
        ptr: &Ptr,
        allowed: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        get(obj, key).and_then(|v| self.object(v, &ptr.key(key), allowed))
    }

    /// A string field. `Ok(None)` when absent; `Err(())` when present but invalid (reported).
    fn string(&mut self, obj: &Map<String, Value>, key: &str, ptr: &Ptr, max: usize) -> Result<Option<String>, ()> {
        let ptr = ptr.key(key);
        match get(obj, key) {
            None => Ok(None),
            Some(Value::String(s)) => {
                let trimmed = s.trim();
                if trimmed.is_empty() {
                    // Partner systems often send "" for "not known": treat it as absent, so a
                    // required field still reports "is required".
                    Ok(None)
                } else if trimmed.chars().count() > max {
                    self.err(&ptr, format!("must be at most {max} characters"));
                    Err(())
                } else if trimmed.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
                    self.err(&ptr, "must not contain control characters");
                    Err(())
                } else {
                    Ok(Some(trimmed.to_owned()))
                }
            }
            Some(_) => {
                self.err(&ptr, "must be a string");
                Err(())
            }
        }
    }

    fn optional_string(&mut self, obj: &Map<String, Value>, key: &str, ptr: &Ptr, max: usize) -> Option<String> {
        self.string(obj, key, ptr, max).ok().flatten()
    }

    fn required_string(&mut self, obj: &Map<String, Value>, key: &str, ptr: &Ptr, max: usize) -> Option<String> {
        match self.string(obj, key, ptr, max) {
            Ok(Some(s)) => Some(s),
            Ok(None) => {
                self.err(&ptr.key(key), "is required");
                None
            }
            Err(()) => None,
        }
    }

    fn optional_bool(&mut self, obj: &Map<String, Value>, key: &str, ptr: &Ptr) -> Option<bool> {
        match get(obj, key) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.err(&ptr.key(key), "must be true or false");
                None
            }
        }
    }

    fn enum_value<E: FromStr + VariantNames>(&mut self, value: &Value, ptr: &Ptr) -> Option<E> {
        if let Value::String(s) = value {
            E::from_str(s).ok().or_else(|| {
                self.err(ptr, format!("must be one of: {}", E::VARIANTS.join(", ")));
                None
            })
        } else {
            self.err(ptr, "must be a string");
            None
        }
    }

    fn optional_enum<E: FromStr + VariantNames>(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        ptr: &Ptr,
    ) -> Option<E> {
        get(obj, key).and_then(|v| self.enum_value(v, &ptr.key(key)))
    }

    fn optional_date(&mut self, obj: &Map<String, Value>, key: &str, ptr: &Ptr) -> Option<NaiveDate> {
        let value = get(obj, key)?;
        let parsed = value
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().filter(|_| s.len() == 10))
            .filter(|d| d.year() >= 1900);
        if parsed.is_none() {
            self.err(&ptr.key(key), "must be a date in the form YYYY-MM-DD, from 1900 on");
        }
        parsed
    }

    fn past_date(&mut self, obj: &Map<String, Value>, key: &str, ptr: &Ptr) -> Option<NaiveDate> {
        let date = self.optional_date(obj, key, ptr)?;
        if date > self.today.date {
            self.err(&ptr.key(key), "must not be in the future");
        }
        Some(date)
    }

    /// A child's date of birth: in the past, and not so long ago that the person is not a child.
    fn child_birth_date(&mut self, obj: &Map<String, Value>, ptr: &Ptr) -> Option<NaiveDate> {
        let date = self.past_date(obj, "date_of_birth", ptr)?;
        if self.today.date.checked_sub_months(MAX_CHILD_AGE).is_some_and(|oldest| date < oldest) {
            self.err(&ptr.key("date_of_birth"), "must be within the last 25 years for a child");
        }
        Some(date)
    }

    fn contact(&mut self, value: &Value, ptr: &Ptr) -> Option<NewContact> {
        let obj = self.object(
            value,
            ptr,
            &[
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
            ],
        )?;
        let agency_reference = self.required_string(obj, "agency_reference", ptr, 100);
        let referrer = self.referrer(obj, ptr);
        let children = self.people(obj, "children", ptr, true, Self::child);
        let adults = self.people(obj, "adults", ptr, false, Self::adult);
        let concerns = self.concerns(obj, ptr);
        let injury = self
            .optional_object(obj, "injury", ptr, &["observed", "description", "non_accidental_suspected"])
            .map(|o| {
                let p = ptr.key("injury");
                Injury {
                    observed: self.optional_bool(o, "observed", &p),
                    description: self.optional_string(o, "description", &p, 2000),
                    non_accidental_suspected: self.optional_bool(o, "non_accidental_suspected", &p),
                }
            });
        let disclosure_made = self.optional_bool(obj, "disclosure_made", ptr).unwrap_or(false);
        let immediate_risk = self.optional_bool(obj, "immediate_risk", ptr).unwrap_or(false);
        let narrative = self.required_string(obj, "narrative", ptr, MAX_NARRATIVE);
        let incident_at = self.incident_at(obj, ptr);
        let police = self.optional_object(obj, "police", ptr, &["dash_risk", "child_present"]).map(|o| {
            let p = ptr.key("police");
            PoliceDetails {
                dash_risk: self.optional_enum(o, "dash_risk", &p),
                child_present: self.optional_bool(o, "child_present", &p),
            }
        });
        let health = self
            .optional_object(obj, "health", ptr, &["setting"])
            .map(|o| HealthDetails { setting: self.optional_enum(o, "setting", &ptr.key("health")) });
        let school = self.optional_object(obj, "school", ptr, &["urn"]).map(|o| {
            let p = ptr.key("school");
            let urn = self.optional_string(o, "urn", &p, 6);
            if urn.as_ref().is_some_and(|u| u.len() != 6 || !u.bytes().all(|b| b.is_ascii_digit())) {
                self.err(&p.key("urn"), "must be a six-digit school URN");
            }
            SchoolDetails { urn }
        });
        let consent = self.consent(obj, ptr);
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

    fn referrer(&mut self, obj: &Map<String, Value>, ptr: &Ptr) -> Option<Referrer> {
        let p = ptr.key("referrer");
        let Some(value) = get(obj, "referrer") else {
            self.err(&p, "is required");
            return None;
        };
        let r = self.object(value, &p, &["name", "role", "phone", "email", "anonymity_requested"])?;
        let name = self.required_string(r, "name", &p, 200);
        let role = self.required_string(r, "role", &p, 200);
        let phone = self.optional_string(r, "phone", &p, 50);
        let email = self.optional_string(r, "email", &p, 254);
        if email.as_ref().is_some_and(|e| !is_plausible_email(e)) {
            self.err(&p.key("email"), "must be an email address");
        }
        let anonymity_requested = self.optional_bool(r, "anonymity_requested", &p).unwrap_or(false);
        Some(Referrer { name: name?, role: role?, phone, email, anonymity_requested })
    }

    /// An array of people (children or adults), each validated by `one`.
    fn people<T>(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        ptr: &Ptr,
        required: bool,
        one: fn(&mut Self, &Value, &Ptr) -> Option<T>,
    ) -> Option<Vec<T>> {
        let p = ptr.key(key);
        let items = match get(obj, key) {
            None if required => {
                self.err(&p, "is required");
                return None;
            }
            None => return Some(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.err(&p, "must be an array");
                return None;
            }
        };
        if required && items.is_empty() {
            self.err(&p, "must name at least one");
        }
        if items.len() > MAX_PEOPLE {
            self.err(&p, format!("must name at most {MAX_PEOPLE}"));
            return None;
        }
        let parsed: Vec<Option<T>> = items.iter().enumerate().map(|(i, v)| one(self, v, &p.index(i))).collect();
        parsed.into_iter().collect()
    }

    fn child(&mut self, value: &Value, p: &Ptr) -> Option<Child> {
        let c = self.object(
            value,
            p,
            &[
                "given_name",
                "family_name",
                "date_of_birth",
                "expected_date_of_birth",
                "gender",
                "nhs_number",
                "upn",
                "non_mobile",
                "address",
                "school",
            ],
        )?;
        let given_name = self.optional_string(c, "given_name", p, 100);
        let family_name = self.optional_string(c, "family_name", p, 100);
        let date_of_birth = self.child_birth_date(c, p);
        let expected_date_of_birth = self.optional_date(c, "expected_date_of_birth", p);
        if let Some(edd) = expected_date_of_birth {
            if date_of_birth.is_some() {
                self.err(
                    &p.key("expected_date_of_birth"),
                    "is for an unborn child and cannot be given with date_of_birth",
                );
            } else if self.today.date.checked_add_months(MAX_EDD_AHEAD).is_some_and(|limit| edd > limit) {
                self.err(&p.key("expected_date_of_birth"), "must not be more than 10 months ahead");
            }
        }
        // A name field that is present but invalid has its own error already.
        let name_given = given_name.is_some()
            || family_name.is_some()
            || self.has_error_at(&p.key("given_name"))
            || self.has_error_at(&p.key("family_name"));
        if !name_given && get(c, "expected_date_of_birth").is_none() {
            self.err(p, "a child needs a given_name or family_name, or an expected_date_of_birth if unborn");
        }
        let gender = self.optional_enum(c, "gender", p);
        let nhs_number = self.optional_string(c, "nhs_number", p, 20).and_then(|raw| {
            normalise_nhs_number(&raw).or_else(|| {
                self.err(&p.key("nhs_number"), "must be a valid 10-digit NHS number (modulus 11 check digit)");
                None
            })
        });
        let upn = self.optional_string(c, "upn", p, 20).and_then(|raw| {
            normalise_upn(&raw).or_else(|| {
                self.err(&p.key("upn"), "must be a valid 13-character UPN (check letter)");
                None
            })
        });
        let non_mobile = self.optional_bool(c, "non_mobile", p);
        let address = self.optional_object(c, "address", p, &["line1", "line2", "town", "postcode"]).map(|a| {
            let ap = p.key("address");
            Address {
                line1: self.optional_string(a, "line1", &ap, 200),
                line2: self.optional_string(a, "line2", &ap, 200),
                town: self.optional_string(a, "town", &ap, 100),
                postcode: self.optional_string(a, "postcode", &ap, 10).map(|pc| pc.to_ascii_uppercase()),
            }
        });
        let school = self.optional_string(c, "school", p, 200);
        Some(Child {
            given_name,
            family_name,
            date_of_birth,
            expected_date_of_birth,
            gender,
            nhs_number,
            upn,
            non_mobile,
            address,
            school,
        })
    }

    fn adult(&mut self, value: &Value, p: &Ptr) -> Option<Adult> {
        let a = self.object(value, p, &["given_name", "family_name", "date_of_birth", "relationship"])?;
        let given_name = self.optional_string(a, "given_name", p, 100);
        let family_name = self.optional_string(a, "family_name", p, 100);
        let name_given = given_name.is_some()
            || family_name.is_some()
            || self.has_error_at(&p.key("given_name"))
            || self.has_error_at(&p.key("family_name"));
        if !name_given {
            self.err(p, "an adult needs a given_name or family_name");
        }
        let date_of_birth = self.past_date(a, "date_of_birth", p);
        let relationship = self.optional_enum(a, "relationship", p);
        Some(Adult { given_name, family_name, date_of_birth, relationship })
    }

    fn concerns(&mut self, obj: &Map<String, Value>, ptr: &Ptr) -> Option<Vec<Concern>> {
        let p = ptr.key("concerns");
        let items = match get(obj, "concerns") {
            None => {
                self.err(&p, "is required");
                return None;
            }
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.err(&p, "must be an array");
                return None;
            }
        };
        if items.is_empty() {
            self.err(&p, "must list at least one concern");
        }
        // Repeats are ignored, so allow some slack over the number of distinct concerns.
        if items.len() > 4 * Concern::VARIANTS.len() {
            self.err(&p, format!("must list at most {} concerns", 4 * Concern::VARIANTS.len()));
            return None;
        }
        let mut concerns = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.enum_value::<Concern>(item, &p.index(i)) {
                Some(c) if !concerns.contains(&c) => concerns.push(c),
                Some(_) => {}
                None => ok = false,
            }
        }
        ok.then_some(concerns)
    }

    fn incident_at(&mut self, obj: &Map<String, Value>, ptr: &Ptr) -> Option<DateTime<Utc>> {
        let value = get(obj, "incident_at")?;
        let p = ptr.key("incident_at");
        let Some(at) = value.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()) else {
            self.err(&p, "must be an RFC 3339 date-time with an offset");
            return None;
        };
        let at = at.with_timezone(&Utc);
        if at > self.today.now + INCIDENT_SKEW {
            self.err(&p, "must not be in the future");
        }
        Some(at)
    }

    fn consent(&mut self, obj: &Map<String, Value>, ptr: &Ptr) -> Option<Consent> {
        let p = ptr.key("consent");
        let Some(value) = get(obj, "consent") else {
            self.err(&p, "is required");
            return None;
        };
        let c = self.object(value, &p, &["status", "reason_not_sought"])?;
        let status = match get(c, "status") {
            None => {
                self.err(&p.key("status"), "is required");
                None
            }
            Some(v) => self.enum_value::<ConsentStatus>(v, &p.key("status")),
        };
        let reason_not_sought = self.optional_enum(c, "reason_not_sought", &p);
        match (status, reason_not_sought, get(c, "reason_not_sought")) {
            (Some(ConsentStatus::Obtained), _, Some(_)) => {
                self.err(&p.key("reason_not_sought"), "applies only when consent was not obtained");
            }
            (Some(ConsentStatus::Refused | ConsentStatus::NotSought), None, None) => {
                self.err(&p.key("reason_not_sought"), "is required when consent was not obtained");
            }
            _ => {}
        }
        Some(Consent { status: status?, reason_not_sought })
    }
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
    fn pointer_segments_are_escaped() {
        let mut v = example();
        v["children"] = json!({"a/b~c": 1});
        let p = Ptr::root().key("a/b~c").key("0");
        assert_eq!(p.0, "/a~1b~0c/0");
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
