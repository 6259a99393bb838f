//! The bearer-key security scheme: every protected operation takes a [`BearerKey`], which
//! resolves the presented key to a [`Principal`] (401 when missing or unknown). Role checks
//! happen in each handler through `Principal::require_*`, so the rule sits next to the route.

use std::sync::Arc;

use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};

use super::problem::ApiError;
use crate::{auth::Principal, state::AppState};

/// An API key sent as `Authorization: Bearer <key>`. Agency keys submit and read their own
/// contacts; staff keys carry one role (`practitioner`, `manager`, `auditor`, `admin`).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "mash-triage API key", checker = "check_key")]
pub struct BearerKey(pub Principal);

async fn check_key(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let state = req.data::<Arc<AppState>>().ok_or_else(ApiError::internal)?;
    let principal = crate::auth::service::authenticate(state, &bearer.token).await.map_err(ApiError::from)?;
    // For the access log: a refusal later in the operation is recorded against this key.
    if let Some(slot) = req.extensions().get::<super::access::PrincipalSlot>() {
        slot.fill(principal.actor());
    }
    Ok(principal)
}
