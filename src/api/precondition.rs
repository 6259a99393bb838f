//! The `If-Match` header of worklist updates, documented as required (it is: a missing one is
//! 428 Precondition Required) but read by the operation, not by poem-openapi, so its absence is
//! answered with that 428 problem rather than a generic 400.

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaParamIn, MetaSchemaRef, Registry},
    types::Type,
};

use crate::contact::IfMatch;

/// The contact version the caller read (`ETag`), as sent in `If-Match`; `None` when missing.
pub struct IfMatchHeader(pub Option<IfMatch>);

impl<'a> ApiExtractor<'a> for IfMatchHeader {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    const PARAM_IS_REQUIRED: bool = true;

    type ParamType = String;
    type ParamRawType = String;

    fn register(registry: &mut Registry) {
        <String as Type>::register(registry);
    }

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Header)
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
        Ok(Self(request.header(param_opts.name).map(IfMatch::parse)))
    }
}
