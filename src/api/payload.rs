//! A JSON request body that is read, size-limited and parsed here, but validated by the domain.
//!
//! poem-openapi's own `Json<T>` stops at the first type error and quotes the input in its
//! message. Contacts need every problem at once, with pointers and without echoing personal
//! data, so [`JsonBody`] only reads bytes into a `serde_json::Value`; `intake::validate` does the
//! rest. The OpenAPI schema still comes from `T`, so partners see the full contract.

use std::{cell::Cell, marker::PhantomData, sync::Arc};

use poem::{Request, RequestBody, http::header};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    payload::{ParsePayload, Payload},
    registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry},
    types::Type,
};
use serde_json::Value;

use super::problem::ApiError;
use crate::{
    config::HttpSettings,
    intake::walker::{self, Object, Walker},
    state::AppState,
};

/// A request body that both documents itself (its `poem_openapi::Object` schema) and reads
/// itself with intake's walker, so every body gets the same answers: every problem at once with
/// its pointer, unknown fields refused, nothing echoed. A unit test keeps [`Self::FIELDS`] and
/// the required fields equal to the schema's.
pub trait ReadBody: Sized {
    /// The fields the body may have.
    const FIELDS: &'static [&'static str];

    /// Reads the body's fields; problems go to `w`. Read every field before giving up on any.
    fn read(w: &mut Walker, body: &Object<'_>) -> Option<Self>;
}

/// A request body type that knows its size limit.
pub trait BodyLimit {
    /// The largest body accepted, in bytes.
    fn limit(settings: &HttpSettings) -> usize;
}

/// How much request-body memory all requests together may hold at once. A body is read only
/// after its caller's key and role are checked (see [`JsonBody`]), and reading waits here for
/// its share (its declared length, or its limit when the length is not declared), so a burst
/// of large bodies queues instead of growing memory without bound. The parsed form is bounded
/// too: a body may hold at most one JSON value per [`BYTES_PER_VALUE`] bytes of its limit.
#[derive(Clone)]
pub struct BodyBudget {
    kib: Arc<tokio::sync::Semaphore>,
}

impl BodyBudget {
    /// Room for two of the largest bodies (a batch) at once.
    pub fn new(settings: &HttpSettings) -> Self {
        Self { kib: Arc::new(tokio::sync::Semaphore::new(Self::kib(2 * settings.max_batch_body_bytes))) }
    }

    fn kib(bytes: usize) -> usize {
        bytes.div_ceil(1024).max(1)
    }
}

/// A JSON value takes far more memory parsed than as text (`[0,0,...]` is two bytes a value and
/// some 32 bytes a value parsed). Real contacts have a few hundred values in tens of kilobytes,
/// so one value per 64 bytes of the limit is generous for them and bounds the rest.
pub const BYTES_PER_VALUE: usize = 64;

/// A JSON body documented as `T`. Extracting it checks only the headers (415, and 413 on a
/// declared length); the bytes are read when the handler calls [`Self::read`] or
/// [`Self::parse`], after it has checked the caller's role, so a caller without the right
/// role never makes the server read, hold or parse a body.
pub struct JsonBody<T> {
    body: poem::Body,
    declared: Option<usize>,
    limit: usize,
    budget: Option<BodyBudget>,
    _schema: PhantomData<fn() -> T>,
}

impl<T> JsonBody<T> {
    /// Reads the body (within its limit and the shared budget) as a JSON value: 413 when too
    /// large or holding too many values, 400 when not JSON or when an object repeats a key.
    pub async fn read(self) -> Result<Value, ApiError> {
        let limit = self.limit;
        // Held while the bytes are read and parsed; the parsed value is bounded by its value
        // budget below.
        let _permit = match &self.budget {
            Some(budget) => {
                let kib = BodyBudget::kib(self.declared.unwrap_or(limit).min(limit));
                let kib = u32::try_from(kib).unwrap_or(u32::MAX);
                Some(budget.kib.clone().acquire_many_owned(kib).await.map_err(|_| ApiError::internal())?)
            }
            None => None,
        };
        let bytes = self.body.into_bytes_limit(limit).await.map_err(|err| match err {
            poem::error::ReadBodyError::PayloadTooLarge => ApiError::body_too_large(limit),
            _ => ApiError::new(
                poem::http::StatusCode::BAD_REQUEST,
                "unreadable_body",
                "The body could not be read",
                "The request body could not be read.",
            ),
        })?;
        let values = std::cell::Cell::new(limit / BYTES_PER_VALUE);
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde::de::DeserializeSeed::deserialize(StrictSeed { values: &values }, &mut de)
            .and_then(|v| de.end().map(|()| v))
            .map_err(|err| {
                if err.to_string().starts_with(TOO_MANY_VALUES) {
                    ApiError::body_too_complex(limit / BYTES_PER_VALUE)
                } else {
                    ApiError::malformed_json(&err)
                }
            })?;
        Ok(value)
    }
}

impl<T: ReadBody> JsonBody<T> {
    /// The body read as `T`, or a 422 naming every field at fault.
    pub async fn parse(self) -> Result<T, ApiError> {
        let value = self.read().await?;
        walker::parse_object(&value, T::FIELDS, T::read).map_err(ApiError::validation)
    }
}

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        content_type.parse::<mime::Mime>().is_ok_and(|m| {
            m.type_() == mime::APPLICATION && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
        })
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + BodyLimit> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let limit = request.data::<Arc<AppState>>().map_or(1 << 20, |state| T::limit(&state.settings.http));
        // Refuse early on a declared length; a chunked body is cut off while it is read.
        let declared = request.header(header::CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|len| len > limit) {
            return Err(ApiError::body_too_large(limit).into());
        }
        Ok(Self {
            body: body.take()?,
            declared,
            limit,
            budget: request.data::<BodyBudget>().cloned(),
            _schema: PhantomData,
        })
    }
}

impl<'a, T: Type + BodyLimit> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: <Self as Payload>::CONTENT_TYPE,
                schema: <Self as Payload>::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(ct) if Self::check_content_type(ct) => <Self as ParsePayload>::from_request(request, body).await,
            _ => Err(ApiError::unsupported_media_type().into()),
        }
    }
}

/// Parses a JSON value with two rules more than `serde_json::Value`:
/// - an object may not repeat a key. `serde_json` keeps the last of two equal keys, so
///   `"immediate_risk": true, ..., "immediate_risk": false` would silently drop a red flag;
/// - at most `values` values in all (every scalar, array and object counts one), so a body of
///   tiny values cannot swell many times over once parsed.
pub(crate) struct StrictSeed<'a> {
    pub values: &'a Cell<usize>,
}

/// The error message for a repeated key; `ApiError::malformed_json` recognises it.
pub(crate) const DUPLICATE_KEY: &str = "duplicate key";
/// The error message for a body over its value budget.
pub(crate) const TOO_MANY_VALUES: &str = "too many values";

impl<'de> serde::de::DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictVisitor { values: self.values })
    }
}

struct StrictVisitor<'a> {
    values: &'a Cell<usize>,
}

impl StrictVisitor<'_> {
    /// Counts one value against the budget.
    fn count<E: serde::de::Error>(&self) -> Result<(), E> {
        match self.values.get().checked_sub(1) {
            Some(left) => {
                self.values.set(left);
                Ok(())
            }
            None => Err(E::custom(TOO_MANY_VALUES)),
        }
    }

    fn seed(&self) -> StrictSeed<'_> {
        StrictSeed { values: self.values }
    }
}

impl<'de> serde::de::Visitor<'de> for StrictVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        self.count()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.count()?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.count()?;
        Ok(Value::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.count()?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.count()?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.count()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.count()?;
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.count()?;
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(self.seed())? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.count()?;
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(DUPLICATE_KEY));
            }
            let v = map.next_value_seed(self.seed())?;
            object.insert(key, v);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::registry::MetaSchemaRef;
    use serde_json::json;

    use super::*;
    use crate::api::{clocks, sandbox, triage, webhook, worklist};

    fn parse_as<T: ReadBody>(value: &Value) -> Result<T, Vec<String>> {
        walker::parse_object(value, T::FIELDS, T::read)
            .map_err(|errors| errors.into_iter().map(|e| e.pointer).collect())
    }

    /// The walker reads exactly what the schema documents: the same fields, the same required
    /// ones, and each documented string length is where the walker draws the line.
    fn in_step<T: ReadBody + Type>(valid: &Value) {
        let mut registry = Registry::new();
        T::register(&mut registry);
        let schema = &registry.schemas[&*T::name()];
        let mut documented: Vec<&str> = schema.properties.iter().map(|(name, _)| *name).collect();
        let mut read = T::FIELDS.to_vec();
        documented.sort_unstable();
        read.sort_unstable();
        assert_eq!(documented, read, "{}: fields", T::name());

        let mut required: Vec<String> = schema.required.iter().map(|k| format!("/{k}")).collect();
        let mut missing = parse_as::<T>(&json!({})).err().unwrap();
        required.sort();
        missing.sort();
        assert_eq!(required, missing, "{}: required fields", T::name());

        assert!(parse_as::<T>(valid).is_ok(), "{}: the valid example", T::name());
        assert!(parse_as::<T>(&json!([])).is_err(), "{}: not an object", T::name());
        let mut unknown = valid.clone();
        unknown["surprise"] = json!(true);
        assert_eq!(parse_as::<T>(&unknown).err().unwrap(), ["/surprise"], "{}: unknown field", T::name());

        for (name, property) in &schema.properties {
            let MetaSchemaRef::Inline(property) = property else { continue };
            let with = |chars: usize| {
                let mut body = valid.clone();
                body[*name] = json!("x".repeat(chars));
                parse_as::<T>(&body)
            };
            if let Some(max) = property.max_length {
                assert!(with(max).is_ok(), "{}.{name}: {max} characters", T::name());
                assert_eq!(with(max + 1).err().unwrap(), [format!("/{name}")], "{}.{name}: too long", T::name());
            }
            if let Some(min) = property.min_length.filter(|&m| m > 1) {
                assert!(with(min).is_ok(), "{}.{name}: {min} characters", T::name());
                assert_eq!(with(min - 1).err().unwrap(), [format!("/{name}")], "{}.{name}: too short", T::name());
            }
            let mut wrong_type = valid.clone();
            wrong_type[*name] = json!(7);
            assert_eq!(parse_as::<T>(&wrong_type).err().unwrap(), [format!("/{name}")], "{}.{name}: type", T::name());
        }
    }

    #[test]
    fn small_request_bodies_read_what_their_schemas_document() {
        let reason = json!("Checked with the referrer");
        in_step::<clocks::PauseRequest>(&json!({"reason": "awaiting_information"}));
        in_step::<triage::RerateRequest>(&json!({"urgency": "red", "reason": reason}));
        in_step::<webhook::EndpointRequest>(
            &json!({"url": "https://example.org/hook", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
        );
        in_step::<sandbox::AdvanceRequest>(&json!({"advance_to": "2026-12-04T10:00:00Z"}));
        in_step::<sandbox::SandboxStaffKeyRequest>(&json!({"role": "practitioner"}));
        in_step::<webhook::FeedbackGivenRequest>(&json!({"method": "phone"}));
        in_step::<worklist::AssignRequest>(
            &json!({"staff_id": "7d1c7c5e-8a35-4a53-9d43-0a9f8e3f2b11", "reason": reason}),
        );
        in_step::<worklist::MoveRequest>(&json!({"queue": "screening", "reason": reason}));
        in_step::<worklist::NoteRequest>(&json!({"body": "Spoke to the school"}));
        in_step::<worklist::LateReasonRequest>(&json!({"late_reason": "other", "late_reason_text": "Waited"}));
        in_step::<worklist::DecisionRequest>(&json!({
            "outcome": "signpost_other_agency", "rationale": "r", "signpost_agency": "Early Help", "feedback": "f",
            "threshold_level": "targeted"
        }));
    }

    fn parse(text: &str) -> Result<Value, serde_json::Error> {
        parse_within(text, usize::MAX)
    }

    fn parse_within(text: &str, values: usize) -> Result<Value, serde_json::Error> {
        let values = Cell::new(values);
        let mut de = serde_json::Deserializer::from_str(text);
        serde::de::DeserializeSeed::deserialize(StrictSeed { values: &values }, &mut de)
    }

    #[test]
    fn a_body_holds_at_most_its_budget_of_values() {
        let text = r#"{"a": [1, 2, {"b": null}], "c": "d"}"#; // 7 values
        assert!(parse_within(text, 7).is_ok());
        let err = parse_within(text, 6).unwrap_err();
        assert!(err.to_string().starts_with(TOO_MANY_VALUES));
        let zeros = format!("[{}0]", "0,".repeat(100_000));
        assert!(parse_within(&zeros, 1000).is_err(), "stops long before the end");
    }

    #[test]
    fn strict_values_match_serde_json_and_refuse_repeated_keys() {
        let text = r#"{"a": [1, -2, 3.5, true, null, "x"], "b": {"c": {}}}"#;
        assert_eq!(parse(text).unwrap(), serde_json::from_str::<Value>(text).unwrap());
        let err = parse(r#"{"immediate_risk": true, "x": 1, "immediate_risk": false}"#).unwrap_err();
        assert!(err.to_string().starts_with(DUPLICATE_KEY));
        assert!(parse(r#"{"a": {"b": 1, "b": 2}}"#).is_err(), "nested objects too");
        assert!(parse(r#"[{"a": 1}, {"a": 2}]"#).is_ok(), "the same key in sibling objects is fine");
    }
}
