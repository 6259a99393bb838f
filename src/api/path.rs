//! Ids in paths: one extractor, [`IdPath`], that answers 404 for an id that is not a UUID.
//!
//! A malformed id names nothing that exists, so it is "not found", exactly like an id of
//! another agency's contact: the answer never tells a caller more than a missing contact would.
//! The published schema stays a plain string (the contract documents ids as opaque strings).

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaParamIn, MetaSchemaRef, Registry},
    types::Type,
};

use super::problem::ApiError;
use crate::id::{AgencyId, ChildId, ContactId};

/// An id type that can appear in a path, with the word its 404 uses.
pub trait PathId: From<uuid::Uuid> + Send {
    /// What a missing one is called in the problem's detail ("No contact with that id ...").
    const WHAT: &'static str;
}

impl PathId for ContactId {
    const WHAT: &'static str = "contact";
}

impl PathId for ChildId {
    const WHAT: &'static str = "child";
}

impl PathId for AgencyId {
    const WHAT: &'static str = "agency";
}

/// A typed id from the path; see the module docs.
pub struct IdPath<T>(pub T);

impl<'a, T: PathId> ApiExtractor<'a> for IdPath<T> {
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
        request
            .raw_path_param(param_opts.name)
            .and_then(|raw| uuid::Uuid::parse_str(raw).ok())
            .map(|id| Self(T::from(id)))
            .ok_or_else(|| ApiError::not_found(T::WHAT).into())
    }
}
