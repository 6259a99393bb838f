//! A JSON request body that is read, size-limited and parsed here, but validated by the domain.
//!
//! poem-openapi's own `Json<T>` stops at the first type error and quotes the input in its
//! message. Contacts need every problem at once, with pointers and without echoing personal
//! data, so [`JsonBody`] only reads bytes into a `serde_json::Value`; `intake::validate` does the
//! rest. The OpenAPI schema still comes from `T`, so partners see the full contract.

use std::{marker::PhantomData, sync::Arc};

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

impl<T: ReadBody> JsonBody<T> {
    /// The body read as `T`, or a 422 naming every field at fault.
    pub fn parse(&self) -> Result<T, ApiError> {
        walker::parse_object(&self.value, T::FIELDS, T::read).map_err(ApiError::validation)
    }
}

/// A request body type that knows its size limit.
pub trait BodyLimit {
    /// The largest body accepted, in bytes.
    fn limit(settings: &HttpSettings) -> usize;
}

/// A JSON body documented as `T` and delivered as a raw value.
pub struct JsonBody<T> {
    pub value: Value,
    _schema: PhantomData<fn() -> T>,
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
        let bytes = body.take()?.into_bytes_limit(limit).await.map_err(|err| match err {
            poem::error::ReadBodyError::PayloadTooLarge => ApiError::body_too_large(limit),
            _ => ApiError::new(
                poem::http::StatusCode::BAD_REQUEST,
                "unreadable_body",
                "The body could not be read",
                "The request body could not be read.",
            ),
        })?;
        let StrictValue(value) = serde_json::from_slice(&bytes).map_err(|err| ApiError::malformed_json(&err))?;
        Ok(Self { value, _schema: PhantomData })
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

/// A JSON value parsed with one rule more than `serde_json::Value`: an object may not repeat a
/// key. `serde_json` keeps the last of two equal keys, so `"immediate_risk": true, ...,
/// "immediate_risk": false` would silently drop a red flag.
pub(crate) struct StrictValue(pub Value);

/// The error message for a repeated key; `ApiError::malformed_json` recognises it.
pub(crate) const DUPLICATE_KEY: &str = "duplicate key";

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(DUPLICATE_KEY));
            }
            let StrictValue(v) = map.next_value()?;
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
    use crate::api::{clocks, triage, webhook, worklist};

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
        in_step::<webhook::EndpointRequest>(&json!({"url": "https://example.org/hook", "secret": "0123456789abcdef"}));
        in_step::<webhook::FeedbackGivenRequest>(&json!({"method": "phone"}));
        in_step::<worklist::AssignRequest>(
            &json!({"staff_id": "7d1c7c5e-8a35-4a53-9d43-0a9f8e3f2b11", "reason": reason}),
        );
        in_step::<worklist::MoveRequest>(&json!({"queue": "screening", "reason": reason}));
        in_step::<worklist::NoteRequest>(&json!({"body": "Spoke to the school"}));
        in_step::<worklist::DecisionRequest>(&json!({
            "outcome": "signpost_other_agency", "rationale": "r", "signpost_agency": "Early Help", "feedback": "f"
        }));
    }

    fn parse(text: &str) -> Result<Value, serde_json::Error> {
        serde_json::from_str::<StrictValue>(text).map(|v| v.0)
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
