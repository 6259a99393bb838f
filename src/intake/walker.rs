//! A walker over a JSON request body (a `serde_json::Value`) that reads typed fields and collects
//! every problem as a [`FieldError`], so a caller fixes everything in one round trip.
//!
//! - Pointers are JSON pointers (RFC 6901), to the bad value or to where a missing one belongs.
//! - Details name the rule that failed and never quote the submitted value: bodies carry
//!   personal data, and error responses end up in callers' logs.
//! - Unknown fields are refused, not ignored: a misspelt `imediate_risk: true` silently dropped
//!   would hide a red flag. An unknown key is named in the pointer only when it is shaped like
//!   one of our field names; any other key (it could be a name or a date typed into the wrong
//!   place) is reported at its object, unquoted.
//! - An explicit `null` is an absent field, and so is a string that is empty after trimming.
//! - At most [`MAX_ERRORS`] problems are returned.
//!
//! It knows nothing about what a body means: callers (the contact rules in
//! [`validate`](super::validate), small request bodies) say which fields an object has and read
//! them. Read every field before giving up (`?`) on any, so that every problem is collected.
//!
//! A small body, `{"reason": "...", "queue": "..."}`:
//!
//! ```
//! use mash_triage::intake::walker::{self, FieldError};
//!
//! struct MoveRequest {
//!     reason: String,
//!     queue: String,
//! }
//!
//! fn parse(body: &serde_json::Value) -> Result<MoveRequest, Vec<FieldError>> {
//!     walker::parse_object(body, &["reason", "queue"], |w, body| {
//!         let reason = w.required_string(body, "reason", 1..=2000);
//!         let queue = w.required_string(body, "queue", ..=64);
//!         Some(MoveRequest { reason: reason?, queue: queue? })
//!     })
//! }
//!
//! let errors = parse(&serde_json::json!({"reason": 7, "queue": "screening", "urgent": true})).err().unwrap();
//! let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
//! assert_eq!(pointers, ["/urgent", "/reason"]);
//! ```

use std::{
    ops::{Bound, RangeBounds},
    str::FromStr,
};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde_json::{Map, Value};
use strum::VariantNames;

/// The most problems reported for one document; a broken generator should not get a megabyte
/// of errors back.
pub const MAX_ERRORS: usize = 100;

/// One problem with a body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// JSON pointer to the offending value (or to where a missing one belongs).
    pub pointer: String,
    /// What rule it breaks; never the value itself.
    pub detail: String,
}

/// A JSON pointer (RFC 6901) under construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ptr(String);

impl Ptr {
    /// The whole document.
    pub fn root() -> Self {
        Self(String::new())
    }

    /// A member of the object here.
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        Self(format!("{}/{}", self.0, key.replace('~', "~0").replace('/', "~1")))
    }

    /// An item of the array here.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        Self(format!("{}/{index}", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An object being read, and where it is.
#[derive(Debug, Clone)]
pub struct Object<'v> {
    fields: &'v Map<String, Value>,
    ptr: Ptr,
}

impl<'v> Object<'v> {
    /// Where the object is.
    pub fn ptr(&self) -> &Ptr {
        &self.ptr
    }

    /// Where its field `key` is (or belongs).
    pub fn at(&self, key: &str) -> Ptr {
        self.ptr.key(key)
    }

    /// The field's value, treating an explicit `null` like an absent field.
    pub fn get(&self, key: &str) -> Option<&'v Value> {
        self.fields.get(key).filter(|v| !v.is_null())
    }
}

/// An array being read, and where it is.
#[derive(Debug, Clone)]
pub struct Array<'v> {
    items: &'v [Value],
    ptr: Ptr,
}

impl<'v> Array<'v> {
    /// Where the array is.
    pub fn ptr(&self) -> &Ptr {
        &self.ptr
    }

    pub fn items(&self) -> &'v [Value] {
        self.items
    }
}

/// How many items an array may hold, and how its problems say so: the verb and the item's
/// names make "must list at least one concern" and "must list at most 64 concerns".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Items {
    pub min: usize,
    pub max: usize,
    pub verb: &'static str,
    /// The name of one item; may be empty ("must name at least one").
    pub one: &'static str,
    /// The name of several.
    pub many: &'static str,
}

impl Items {
    /// A count in `range`, worded "must have at least one item", "must have at most 5 items".
    pub fn between(range: impl RangeBounds<usize>) -> Self {
        let (min, max) = bounds(&range);
        Self { min, max, verb: "have", one: "item", many: "items" }
    }

    /// The same count, worded with another verb and names.
    #[must_use]
    pub fn worded(self, verb: &'static str, one: &'static str, many: &'static str) -> Self {
        Self { verb, one, many, ..self }
    }

    fn too_few(&self) -> String {
        let Self { min, verb, one, many, .. } = *self;
        let text = if min == 1 {
            format!("must {verb} at least one {one}")
        } else {
            format!("must {verb} at least {min} {many}")
        };
        text.trim_end().to_owned()
    }

    fn too_many(&self) -> String {
        let Self { max, verb, many, .. } = *self;
        format!("must {verb} at most {max} {many}").trim_end().to_owned()
    }
}

/// The smallest and largest counts in `range`.
fn bounds(range: &impl RangeBounds<usize>) -> (usize, usize) {
    let min = match range.start_bound() {
        Bound::Included(&n) => n,
        Bound::Excluded(&n) => n.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let max = match range.end_bound() {
        Bound::Included(&n) => n,
        Bound::Excluded(&n) => n.saturating_sub(1),
        Bound::Unbounded => usize::MAX,
    };
    (min, max)
}

/// Whether an unknown key may be quoted in a pointer: only names shaped like our own fields.
/// Anything else (it could be a name or a date typed into the wrong place) is not echoed.
fn is_field_like(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && key.len() <= 40
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Reads `value` as an object with only the `allowed` fields, with `read`; the value read, or
/// every problem (when there is any, even if `read` returned a value).
pub fn parse_object<'v, T>(
    value: &'v Value,
    allowed: &[&str],
    read: impl FnOnce(&mut Walker, &Object<'v>) -> Option<T>,
) -> Result<T, Vec<FieldError>> {
    let mut w = Walker::new();
    let read = w.object(value, &Ptr::root(), allowed).and_then(|obj| read(&mut w, &obj));
    w.result(read)
}

/// Collects the problems of one document as its readers find them.
#[derive(Debug, Default)]
pub struct Walker {
    errors: Vec<FieldError>,
}

impl Walker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem at `ptr`. `detail` names the rule; it must not quote the value.
    pub fn err(&mut self, ptr: &Ptr, detail: impl Into<String>) {
        self.errors.push(FieldError { pointer: ptr.0.clone(), detail: detail.into() });
    }

    /// Whether a problem has been recorded at exactly `ptr`.
    pub fn has_error_at(&self, ptr: &Ptr) -> bool {
        self.errors.iter().any(|e| e.pointer == ptr.0)
    }

    /// The problems, at most [`MAX_ERRORS`] of them (the last then says how many more there were).
    pub fn finish(mut self) -> Vec<FieldError> {
        if self.errors.len() > MAX_ERRORS {
            let more = self.errors.len() - (MAX_ERRORS - 1);
            self.errors.truncate(MAX_ERRORS - 1);
            self.errors
                .push(FieldError { pointer: String::new(), detail: format!("and {more} more problems not listed") });
        }
        self.errors
    }

    /// `value` when it was read and nothing is wrong; otherwise the problems.
    pub fn result<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => Err(self.finish()),
        }
    }

    /// `value` as an object with only `allowed` keys; reports a wrong type and every unknown key.
    pub fn object<'v>(&mut self, value: &'v Value, ptr: &Ptr, allowed: &[&str]) -> Option<Object<'v>> {
        let Value::Object(fields) = value else {
            self.err(ptr, "must be an object");
            return None;
        };
        for key in fields.keys().filter(|k| !allowed.contains(&k.as_str())) {
            if is_field_like(key) {
                self.err(&ptr.key(key), "is not a recognised field");
            } else {
                self.err(ptr, "has a field whose name is not recognised (names are lower-case snake_case)");
            }
        }
        Some(Object { fields, ptr: ptr.clone() })
    }

    /// `read`, or the problem `detail` at `ptr` when nothing was read.
    pub fn reported<T>(&mut self, read: Option<T>, ptr: &Ptr, detail: &str) -> Option<T> {
        if read.is_none() {
            self.err(ptr, detail);
        }
        read
    }

    /// The field's value, or a problem when it is absent (or `null`).
    pub fn required<'v>(&mut self, obj: &Object<'v>, key: &str) -> Option<&'v Value> {
        self.reported(obj.get(key), &obj.at(key), "is required")
    }

    /// A field that must be present, read with `read` (e.g. [`Self::bool_value`]) at its pointer.
    pub fn required_field<'v, T>(
        &mut self,
        obj: &Object<'v>,
        key: &str,
        read: impl FnOnce(&mut Self, &'v Value, &Ptr) -> Option<T>,
    ) -> Option<T> {
        let value = self.required(obj, key)?;
        read(self, value, &obj.at(key))
    }

    /// A field read with `read` at its pointer; `None` when absent (or `null`).
    pub fn optional_field<'v, T>(
        &mut self,
        obj: &Object<'v>,
        key: &str,
        read: impl FnOnce(&mut Self, &'v Value, &Ptr) -> Option<T>,
    ) -> Option<T> {
        read(self, obj.get(key)?, &obj.at(key))
    }

    /// A nested object field with only `allowed` keys, which must be present.
    pub fn required_object<'v>(&mut self, obj: &Object<'v>, key: &str, allowed: &[&str]) -> Option<Object<'v>> {
        self.required_field(obj, key, |w, v, p| w.object(v, p, allowed))
    }

    /// A nested object field with only `allowed` keys; `None` when absent.
    pub fn optional_object<'v>(&mut self, obj: &Object<'v>, key: &str, allowed: &[&str]) -> Option<Object<'v>> {
        self.optional_field(obj, key, |w, v, p| w.object(v, p, allowed))
    }

    /// A string field, trimmed, of `chars` characters and no control characters other than
    /// line breaks and tabs. `Ok(None)` when absent or blank; `Err(())` when present but invalid
    /// (reported).
    fn string(&mut self, obj: &Object<'_>, key: &str, chars: (usize, usize)) -> Result<Option<String>, ()> {
        let (min, max) = chars;
        let problem = match obj.get(key) {
            None => return Ok(None),
            Some(Value::String(s)) => {
                let trimmed = s.trim();
                let count = trimmed.chars().count();
                if trimmed.is_empty() {
                    // Callers often send "" for "not known": treat it as absent, so a required
                    // field still reports "is required".
                    return Ok(None);
                } else if count > max {
                    format!("must be at most {max} characters")
                } else if count < min {
                    format!("must be at least {min} characters")
                } else if trimmed.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
                    "must not contain control characters".to_owned()
                } else {
                    return Ok(Some(trimmed.to_owned()));
                }
            }
            Some(_) => "must be a string".to_owned(),
        };
        self.err(&obj.at(key), problem);
        Err(())
    }

    /// A string field that must be present and not blank, of `chars` characters (after trimming).
    pub fn required_string(&mut self, obj: &Object<'_>, key: &str, chars: impl RangeBounds<usize>) -> Option<String> {
        match self.string(obj, key, bounds(&chars)) {
            Ok(Some(s)) => Some(s),
            Ok(None) => {
                self.err(&obj.at(key), "is required");
                None
            }
            Err(()) => None,
        }
    }

    /// A string field of `chars` characters (after trimming); `None` when absent, blank or invalid.
    pub fn optional_string(&mut self, obj: &Object<'_>, key: &str, chars: impl RangeBounds<usize>) -> Option<String> {
        self.string(obj, key, bounds(&chars)).ok().flatten()
    }

    /// A string field that must be present and parse as `T` (an id, say); `what` completes
    /// "must be ..." in the problem.
    pub fn required_parsed<T: FromStr>(&mut self, obj: &Object<'_>, key: &str, what: &str) -> Option<T> {
        self.required_field(obj, key, |w, v, p| {
            w.reported(v.as_str().and_then(|s| s.trim().parse().ok()), p, &format!("must be {what}"))
        })
    }

    /// `value` as `true` or `false`.
    pub fn bool_value(&mut self, value: &Value, ptr: &Ptr) -> Option<bool> {
        self.reported(value.as_bool(), ptr, "must be true or false")
    }

    pub fn required_bool(&mut self, obj: &Object<'_>, key: &str) -> Option<bool> {
        self.required_field(obj, key, Self::bool_value)
    }

    pub fn optional_bool(&mut self, obj: &Object<'_>, key: &str) -> Option<bool> {
        self.optional_field(obj, key, Self::bool_value)
    }

    /// `value` as one of `E`'s variants, by its strum name.
    pub fn enum_value<E: FromStr + VariantNames>(&mut self, value: &Value, ptr: &Ptr) -> Option<E> {
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

    pub fn required_enum<E: FromStr + VariantNames>(&mut self, obj: &Object<'_>, key: &str) -> Option<E> {
        self.required_field(obj, key, Self::enum_value)
    }

    pub fn optional_enum<E: FromStr + VariantNames>(&mut self, obj: &Object<'_>, key: &str) -> Option<E> {
        self.optional_field(obj, key, Self::enum_value)
    }

    /// `value` as a calendar date, `YYYY-MM-DD`, from 1900 on.
    pub fn date_value(&mut self, value: &Value, ptr: &Ptr) -> Option<NaiveDate> {
        let parsed = value
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().filter(|_| s.len() == 10))
            .filter(|d| d.year() >= 1900);
        self.reported(parsed, ptr, "must be a date in the form YYYY-MM-DD, from 1900 on")
    }

    pub fn required_date(&mut self, obj: &Object<'_>, key: &str) -> Option<NaiveDate> {
        self.required_field(obj, key, Self::date_value)
    }

    pub fn optional_date(&mut self, obj: &Object<'_>, key: &str) -> Option<NaiveDate> {
        self.optional_field(obj, key, Self::date_value)
    }

    /// `value` as an instant, RFC 3339 with an offset.
    pub fn date_time_value(&mut self, value: &Value, ptr: &Ptr) -> Option<DateTime<Utc>> {
        let parsed = value.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok());
        self.reported(parsed, ptr, "must be an RFC 3339 date-time with an offset").map(|at| at.with_timezone(&Utc))
    }

    pub fn optional_date_time(&mut self, obj: &Object<'_>, key: &str) -> Option<DateTime<Utc>> {
        self.optional_field(obj, key, Self::date_time_value)
    }

    /// `value` as an array of a count in `items`. Too few is reported and the array is still
    /// returned (its items can have problems too); too many is reported and it is not (a huge
    /// array is not walked).
    pub fn array<'v>(&mut self, value: &'v Value, ptr: &Ptr, items: Items) -> Option<Array<'v>> {
        let Value::Array(values) = value else {
            self.err(ptr, "must be an array");
            return None;
        };
        if values.len() < items.min {
            self.err(ptr, items.too_few());
        }
        if values.len() > items.max {
            self.err(ptr, items.too_many());
            return None;
        }
        Some(Array { items: values, ptr: ptr.clone() })
    }

    /// An array field that must be present, of a count in `items`.
    pub fn required_array<'v>(&mut self, obj: &Object<'v>, key: &str, items: Items) -> Option<Array<'v>> {
        self.required_field(obj, key, |w, v, p| w.array(v, p, items))
    }

    /// An array field of a count in `items`; `None` when absent.
    pub fn optional_array<'v>(&mut self, obj: &Object<'v>, key: &str, items: Items) -> Option<Array<'v>> {
        self.optional_field(obj, key, |w, v, p| w.array(v, p, items))
    }

    /// Reads every item of `array` with `one` (all of them, so every problem is found); the items
    /// when all were read.
    pub fn each<'v, T>(
        &mut self,
        array: &Array<'v>,
        mut one: impl FnMut(&mut Self, &'v Value, &Ptr) -> Option<T>,
    ) -> Option<Vec<T>> {
        let read: Vec<Option<T>> =
            array.items.iter().enumerate().map(|(i, v)| one(self, v, &array.ptr.index(i))).collect();
        read.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The pointers and details of reading `body` with `read`, or the value read.
    fn walk<T>(
        body: &Value,
        allowed: &[&str],
        read: impl FnOnce(&mut Walker, &Object<'_>) -> Option<T>,
    ) -> Result<T, Vec<(String, String)>> {
        parse_object(body, allowed, read).map_err(|e| e.into_iter().map(|e| (e.pointer, e.detail)).collect())
    }

    fn problem(pointer: &str, detail: &str) -> (String, String) {
        (pointer.to_owned(), detail.to_owned())
    }

    /// The module's example, verbatim (doctests are off in this crate).
    #[test]
    fn the_module_example_works() {
        struct MoveRequest {
            reason: String,
            queue: String,
        }

        fn parse(body: &serde_json::Value) -> Result<MoveRequest, Vec<FieldError>> {
            parse_object(body, &["reason", "queue"], |w, body| {
                let reason = w.required_string(body, "reason", 1..=2000);
                let queue = w.required_string(body, "queue", ..=64);
                Some(MoveRequest { reason: reason?, queue: queue? })
            })
        }

        let errors = parse(&json!({"reason": 7, "queue": "screening", "urgent": true})).err().unwrap();
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/urgent", "/reason"]);
        let ok = parse(&json!({"reason": " Out of hours ", "queue": "screening"})).unwrap();
        assert_eq!((ok.reason.as_str(), ok.queue.as_str()), ("Out of hours", "screening"));
    }

    #[test]
    fn strings_missing_blank_wrong_type_and_out_of_bounds() {
        let read = |body: Value| {
            walk(&body, &["a", "b"], |w, o| {
                let a = w.required_string(o, "a", 2..=3);
                let b = w.optional_string(o, "b", ..=3);
                Some((a?, b))
            })
        };
        assert_eq!(read(json!({"a": "xy"})), Ok(("xy".to_owned(), None)));
        assert_eq!(read(json!({"a": " xyz ", "b": ""})), Ok(("xyz".to_owned(), None)), "trimmed; blank is absent");
        assert_eq!(read(json!({"b": "x"})), Err(vec![problem("/a", "is required")]));
        assert_eq!(read(json!({"a": "  ", "b": null})), Err(vec![problem("/a", "is required")]));
        assert_eq!(
            read(json!({"a": "x", "b": "wxyz"})),
            Err(vec![problem("/a", "must be at least 2 characters"), problem("/b", "must be at most 3 characters")])
        );
        assert_eq!(read(json!({"a": "éèê"})), Ok(("éèê".to_owned(), None)), "counted in characters");
        assert_eq!(
            read(json!({"a": 1, "b": ["x"]})),
            Err(vec![problem("/a", "must be a string"), problem("/b", "must be a string")])
        );
        assert_eq!(read(json!({"a": "x\u{0}y"})), Err(vec![problem("/a", "must not contain control characters")]));
        assert_eq!(read(json!({"a": "x\ny"})), Ok(("x\ny".to_owned(), None)));
    }

    #[test]
    fn bools_missing_and_wrong_type() {
        let read = |body: Value| {
            walk(&body, &["a", "b"], |w, o| {
                let a = w.required_bool(o, "a");
                let b = w.optional_bool(o, "b");
                Some((a?, b))
            })
        };
        assert_eq!(read(json!({"a": true})), Ok((true, None)));
        assert_eq!(read(json!({"a": false, "b": true})), Ok((false, Some(true))));
        assert_eq!(read(json!({})), Err(vec![problem("/a", "is required")]));
        assert_eq!(
            read(json!({"a": "true", "b": 1})),
            Err(vec![problem("/a", "must be true or false"), problem("/b", "must be true or false")])
        );
    }

    #[derive(Debug, PartialEq, strum::EnumString, strum::VariantNames)]
    #[strum(serialize_all = "snake_case")]
    enum Colour {
        DeepRed,
        Blue,
    }

    #[test]
    fn enums_by_their_strum_names_and_the_values_never_quoted() {
        let read = |body: Value| {
            walk(&body, &["a", "b"], |w, o| {
                let a = w.required_enum::<Colour>(o, "a");
                let b = w.optional_enum::<Colour>(o, "b");
                Some((a?, b))
            })
        };
        assert_eq!(read(json!({"a": "deep_red", "b": "blue"})), Ok((Colour::DeepRed, Some(Colour::Blue))));
        assert_eq!(read(json!({"b": "blue"})), Err(vec![problem("/a", "is required")]));
        assert_eq!(
            read(json!({"a": "Ava Smith", "b": 3})),
            Err(vec![problem("/a", "must be one of: deep_red, blue"), problem("/b", "must be a string")])
        );
    }

    #[test]
    fn dates_and_instants() {
        let read = |body: Value| {
            walk(&body, &["a", "b", "c"], |w, o| {
                let a = w.required_date(o, "a");
                let b = w.optional_date(o, "b");
                let c = w.optional_date_time(o, "c");
                Some((a?, b, c))
            })
        };
        let date = NaiveDate::from_ymd_opt(2026, 7, 30).unwrap();
        assert_eq!(read(json!({"a": "2026-07-30"})), Ok((date, None, None)));
        let at = "2026-11-21T23:10:00+01:00".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(read(json!({"a": "2026-07-30", "c": "2026-11-21T23:10:00+01:00"})), Ok((date, None, Some(at))));
        assert_eq!(read(json!({})), Err(vec![problem("/a", "is required")]));
        let bad_date = "must be a date in the form YYYY-MM-DD, from 1900 on";
        assert_eq!(
            read(json!({"a": "30/07/2026", "b": "1899-12-31", "c": "2026-11-21T23:10:00"})),
            Err(vec![
                problem("/a", bad_date),
                problem("/b", bad_date),
                problem("/c", "must be an RFC 3339 date-time with an offset")
            ])
        );
        assert_eq!(read(json!({"a": "2026-7-30"})), Err(vec![problem("/a", bad_date)]), "the full form only");
    }

    #[test]
    fn arrays_missing_wrong_type_and_item_bounds() {
        let tags = Items::between(1..=2).worded("list", "tag", "tags");
        let read = |body: Value| {
            walk(&body, &["a", "b"], |w, o| {
                let a = w.required_array(o, "a", tags).and_then(|a| w.each(&a, Walker::enum_value::<Colour>));
                let b = w.optional_array(o, "b", Items::between(..3)).map(|b| b.items().len());
                Some((a?, b))
            })
        };
        assert_eq!(read(json!({"a": ["blue"]})), Ok((vec![Colour::Blue], None)));
        assert_eq!(read(json!({"a": ["blue"], "b": [1, 2]})), Ok((vec![Colour::Blue], Some(2))));
        assert_eq!(read(json!({})), Err(vec![problem("/a", "is required")]));
        assert_eq!(
            read(json!({"a": "blue", "b": {}})),
            Err(vec![problem("/a", "must be an array"), problem("/b", "must be an array")])
        );
        assert_eq!(
            read(json!({"a": [], "b": [1, 2, 3]})),
            Err(vec![problem("/a", "must list at least one tag"), problem("/b", "must have at most 2 items")])
        );
        assert_eq!(read(json!({"a": ["blue", "red", "blue"]})), Err(vec![problem("/a", "must list at most 2 tags")]));
        assert_eq!(
            read(json!({"a": ["green", 1]})),
            Err(vec![problem("/a/0", "must be one of: deep_red, blue"), problem("/a/1", "must be a string")]),
            "every item is read"
        );
        assert_eq!(Items::between(2..).worded("name", "", "").too_few(), "must name at least 2");
    }

    #[test]
    fn nested_objects_missing_wrong_type_and_their_own_fields() {
        let read = |body: Value| {
            walk(&body, &["a", "b"], |w, o| {
                let a = w.required_object(o, "a", &["x"]).map(|a| w.optional_bool(&a, "x"));
                let b = w.optional_object(o, "b", &["y"]).and_then(|b| w.required_string(&b, "y", ..=10));
                Some((a?, b))
            })
        };
        assert_eq!(read(json!({"a": {"x": true}, "b": {"y": "z"}})), Ok((Some(true), Some("z".to_owned()))));
        assert_eq!(read(json!({"a": {}})), Ok((None, None)));
        assert_eq!(read(json!({"b": null})), Err(vec![problem("/a", "is required")]));
        assert_eq!(
            read(json!({"a": [], "b": {"y": 1, "z": 2}})),
            Err(vec![
                problem("/a", "must be an object"),
                problem("/b/z", "is not a recognised field"),
                problem("/b/y", "must be a string")
            ])
        );
    }

    #[test]
    fn unknown_fields_are_refused_and_named_only_when_shaped_like_field_names() {
        let read = |body: Value| walk(&body, &["a"], |w, o| w.optional_bool(o, "a").or(Some(false)));
        assert_eq!(read(json!({"a": true})), Ok(true));
        assert_eq!(read(json!({"a": true, "aa": 1})), Err(vec![problem("/aa", "is not a recognised field")]));
        let errors = read(json!({"Ava Smith": 1, "2026-07-30": 2})).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors.iter().all(|(pointer, _)| pointer.is_empty()), "{errors:?}");
        assert!(!format!("{errors:?}").contains("Ava"));
        assert_eq!(read(json!([1])), Err(vec![problem("", "must be an object")]));
    }

    #[test]
    fn several_problems_are_reported_at_once_and_at_most_max_errors() {
        let read = |body: Value| {
            walk(&body, &["a", "b", "c"], |w, o| {
                let a = w.required_string(o, "a", ..=5);
                let b = w.required_bool(o, "b");
                let c = w.optional_date(o, "c");
                Some((a?, b?, c))
            })
        };
        let errors = read(json!({"b": "yes", "c": "today", "d": 1})).unwrap_err();
        let pointers: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(pointers, ["/d", "/a", "/b", "/c"]);
        let mut many = serde_json::Map::new();
        for i in 0..500 {
            many.insert(format!("extra_{i}"), json!(1));
        }
        let errors = read(Value::Object(many)).unwrap_err();
        assert_eq!(errors.len(), MAX_ERRORS);
        assert!(errors[MAX_ERRORS - 1].1.contains("more problems"));
    }

    #[test]
    fn a_value_with_problems_beside_it_is_still_refused() {
        let errors = walk(&json!({"a": 1}), &["a"], |w, o| {
            w.err(&o.at("a"), "must be even");
            Some(())
        });
        assert_eq!(errors, Err(vec![problem("/a", "must be even")]));
    }

    #[test]
    fn pointer_segments_are_escaped() {
        assert_eq!(Ptr::root().key("a/b~c").index(0).as_str(), "/a~1b~0c/0");
        assert!(Walker::new().finish().is_empty());
    }
}
