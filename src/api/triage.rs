//! Staff triage operations: re-rating a contact, and a child's contacts across agencies.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use super::{
    ApiTags,
    path::Path,
    payload::{BodyLimit, JsonBody, ReadBody},
    problem::{ContactReadError, RerateError},
    security::BearerKey,
};
use crate::{
    auth::Role,
    config::HttpSettings,
    contact::IfMatch,
    id::{ChildId, ContactId},
    intake::walker::{self, Walker},
    state::AppState,
    triage,
};

/// A manager's re-rating of a contact.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct RerateRequest {
    /// The new urgency: one of the policy's levels (by default `red`, `amber`, `green`).
    #[oai(validator(min_length = 1, max_length = 100))]
    pub urgency: String,
    /// Why, in words (1-2000 characters). Kept on record with the contact; shown to staff only.
    #[oai(validator(min_length = 1, max_length = 2000))]
    pub reason: String,
}

impl ReadBody for RerateRequest {
    const FIELDS: &'static [&'static str] = &["urgency", "reason"];

    fn read(w: &mut Walker, body: &walker::Object<'_>) -> Option<Self> {
        let urgency = w.required_string(body, "urgency", 1..=100);
        let reason = w.required_string(body, "reason", 1..=2000);
        Some(Self { urgency: urgency?, reason: reason? })
    }
}

impl BodyLimit for RerateRequest {
    fn limit(_: &HttpSettings) -> usize {
        16 * 1024
    }
}

/// The contact after a re-rating.
#[derive(Debug, Object)]
pub struct RerateResponse {
    pub id: uuid::Uuid,
    pub urgency: String,
    #[oai(skip_serializing_if_is_none)]
    pub previous_urgency: Option<String>,
    /// The queue the policy's routes give at the new urgency.
    pub queue: String,
    /// The contact's new version.
    pub version: i64,
}

#[derive(ApiResponse)]
pub enum RerateResponses {
    /// Re-rated. The original classification and every re-rating stay on record.
    #[oai(status = 200)]
    Ok(Json<RerateResponse>, #[oai(header = "ETag")] String),
}

/// The `ETag` for a contact version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// A contact about a child.
#[derive(Debug, Object)]
pub struct ChildContactResponse {
    pub contact_id: uuid::Uuid,
    /// The child's id within that contact.
    pub child_id: uuid::Uuid,
    pub received_at: DateTime<Utc>,
    pub status: String,
    #[oai(nullable)]
    pub urgency: Option<String>,
    #[oai(nullable)]
    pub queue: Option<String>,
    /// The kind of agency that sent it.
    pub agency_kind: String,
    /// `self` (the child asked about), `nhs_number`, or `name_and_date_of_birth`.
    pub matched_on: String,
}

/// Every contact about one child, oldest first.
#[derive(Debug, Object)]
pub struct ChildContactsResponse {
    pub child_id: uuid::Uuid,
    pub contacts: Vec<ChildContactResponse>,
}

#[derive(ApiResponse)]
pub enum ChildContactsResponses {
    #[oai(status = 200)]
    Ok(Json<ChildContactsResponse>),
}

/// Staff triage operations.
pub struct TriageApi {
    pub state: Arc<AppState>,
}

#[OpenApi(tag = "ApiTags::Triage")]
impl TriageApi {
    /// Re-rate a contact (managers).
    ///
    /// Sets a new urgency with a mandatory written reason. The queue follows the policy's routes
    /// at the new urgency. The original classification and every re-rating stay on record (see
    /// `ratings` in the staff view) and in the audit trail.
    #[oai(path = "/v1/contacts/:id/rerate", method = "post", operation_id = "triage.contact.rerate")]
    async fn rerate(
        &self,
        auth: BearerKey,
        /// The contact's id.
        id: Path<ContactId>,
        /// The contact's version as read (its `ETag`); when given and stale, the answer is 412
        /// and nothing changes, so one manager never silently undoes another's re-rating.
        #[oai(name = "If-Match")]
        if_match: poem_openapi::param::Header<Option<String>>,
        body: JsonBody<RerateRequest>,
    ) -> Result<RerateResponses, RerateError> {
        auth.0.require_staff(&[Role::Manager])?;
        let id = id.0;
        let RerateRequest { urgency, reason } = body.parse().await?;
        let rerated = triage::service::rerate(
            &self.state,
            &auth.0.actor(),
            id,
            &triage::service::Rerate {
                urgency: &urgency,
                reason: &reason,
                // Optional on re-rating: absent or `*` skips the check.
                expected_version: if_match.0.as_deref().map(IfMatch::parse),
            },
        )
        .await?;
        let tag = etag(rerated.version);
        Ok(RerateResponses::Ok(
            Json(RerateResponse {
                id: id.0,
                urgency: rerated.urgency,
                previous_urgency: rerated.previous_urgency,
                queue: rerated.queue,
                version: rerated.version,
            }),
            tag,
        ))
    }

    /// A child's contacts (staff).
    ///
    /// Every contact about the same child as this one (the same NHS number, or the same given
    /// name, family name and date of birth, ignoring case, spacing and accents), from any agency,
    /// oldest first. The child id comes from `children` in the staff view of a contact.
    /// Practitioners, managers and auditors; audited.
    #[oai(path = "/v1/children/:id/contacts", method = "get", operation_id = "triage.child.contacts")]
    async fn child_contacts(
        &self,
        auth: BearerKey,
        /// The child's id (from a contact's staff view).
        id: Path<ChildId>,
    ) -> Result<ChildContactsResponses, ContactReadError> {
        auth.0.require_staff(Role::CASE_READERS)?;
        let child_id = id.0;
        let contacts = triage::service::contacts_about_child(&self.state, &auth.0.actor(), child_id).await?;
        Ok(ChildContactsResponses::Ok(Json(ChildContactsResponse {
            child_id: child_id.0,
            contacts: contacts
                .into_iter()
                .map(|c| ChildContactResponse {
                    contact_id: c.contact_id.0,
                    child_id: c.child_id.0,
                    received_at: c.received_at,
                    status: c.status,
                    urgency: c.urgency,
                    queue: c.queue,
                    agency_kind: c.agency_kind,
                    matched_on: c.matched_on,
                })
                .collect(),
        })))
    }
}
