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
use crate::{app::AppState, config::HttpSettings};

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
        let value = serde_json::from_slice(&bytes).map_err(|err| ApiError::malformed_json(&err))?;
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
