//! Path parameters: one extractor, [`Path`], for every segment of every route. A typed id
//! (`Path<ContactId>`) that is not a UUID answers 404.
//!
//! A malformed id names nothing that exists, so it is "not found", exactly like an id of
//! another agency's contact: the answer never tells a caller more than a missing contact would.
//! The published schema stays a plain string (the contract documents ids as opaque strings).
//!
//! The type is called `Path` on purpose: poem-openapi's `#[OpenApi]` macro recognises path
//! parameters by a type named `Path`.

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaParamIn, MetaSchemaRef, Registry},
    types::Type,
};

use super::problem::ApiError;
use crate::id::{AgencyId, ChildId, ContactId, DeliveryId, EndpointId};

/// A value that a path segment can hold.
pub trait PathParam: Sized + Send {
    /// The value of `raw`, or the problem to answer.
    fn parse(raw: &str) -> Result<Self, ApiError>;
}

/// A name (a queue, a clock kind): any segment.
impl PathParam for String {
    fn parse(raw: &str) -> Result<Self, ApiError> {
        Ok(raw.to_owned())
    }
}

macro_rules! id_param {
    ($($id:ty => $what:literal),+ $(,)?) => {$(
        impl PathParam for $id {
            fn parse(raw: &str) -> Result<Self, ApiError> {
                uuid::Uuid::parse_str(raw).map(Self::from).map_err(|_| ApiError::not_found($what))
            }
        }
    )+};
}
id_param!(
    ContactId => "contact",
    ChildId => "child",
    AgencyId => "agency",
    EndpointId => "webhook endpoint",
    DeliveryId => "delivery",
);

/// A path parameter; see the module docs.
pub struct Path<T>(pub T);

impl<'a, T: PathParam> ApiExtractor<'a> for Path<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    const PARAM_IS_REQUIRED: bool = true;

    type ParamType = String;
    type ParamRawType = String;

    fn register(registry: &mut Registry) {
        <String as Type>::register(registry);
    }

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Path)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        Some(String::schema_ref())
    }

    fn param_raw_type(&self) -> Option<&Self::ParamRawType> {
        None
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let raw = request.raw_path_param(param_opts.name).ok_or_else(ApiError::internal)?;
        Ok(Self(T::parse(raw)?))
    }
}
