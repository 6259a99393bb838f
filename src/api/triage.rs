//! Staff triage operations: re-rating a contact, and a child's contacts across agencies.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};

use super::{
    ApiTags,
    payload::{BodyLimit, JsonBody},
    problem::{ApiError, ContactReadError, RerateError},
    security::BearerKey,
};
use crate::{
    app::AppState,
    auth::Role,
    config::HttpSettings,
    intake::FieldError,
    triage::{self, TriageError},
};

/// A manager's re-rating of a contact.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct RerateRequest {
    /// The new urgency: one of the policy's levels (by default `red`, `amber`, `green`).
    pub urgency: String,
    /// Why, in words (1-2000 characters). Kept on record with the contact; shown to staff only.
    #[oai(validator(min_length = 1, max_length = 2000))]
    pub reason: String,
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

fn triage_error(err: &TriageError, retry_after: u32, what: &str) -> ApiError {
    let field = |pointer: &str, detail: &str| {
        ApiError::validation(vec![FieldError { pointer: pointer.into(), detail: detail.into() }])
    };
    match err {
        TriageError::NotFound => ApiError::not_found(what),
        TriageError::Decided => ApiError::new(
            poem::http::StatusCode::CONFLICT,
            "already_decided",
            "Already decided",
            "The contact has been decided; its urgency can no longer change.",
        ),
        TriageError::UnknownLevel => field("/urgency", "must be one of the policy's levels"),
        TriageError::SameLevel => field("/urgency", "is already the contact's urgency"),
        TriageError::ReasonRequired => field("/reason", "must be a written reason of 1 to 2000 characters"),
        TriageError::VersionMismatch { current } => ApiError::new(
            poem::http::StatusCode::PRECONDITION_FAILED,
            "version_mismatch",
            "The contact has changed",
            format!("The contact is at version {current}; read it again and decide on the current version."),
        ),
        TriageError::Store(e) => ApiError::from_store(e, retry_after),
    }
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
        id: Path<String>,
        /// The contact's version as read (its `ETag`); when given and stale, the answer is 412
        /// and nothing changes, so one manager never silently undoes another's re-rating.
        #[oai(name = "If-Match")]
        if_match: poem_openapi::param::Header<Option<String>>,
        body: JsonBody<RerateRequest>,
    ) -> Result<RerateResponses, RerateError> {
        let retry = self.state.settings.http.retry_after_seconds;
        auth.0.require_staff(&[Role::Manager]).map_err(|e| ApiError::from_auth(&e, retry))?;
        let id = uuid::Uuid::parse_str(&id.0).map_err(|_| ApiError::not_found("contact"))?;
        let (urgency, reason) = match (
            body.value.get("urgency").and_then(|v| v.as_str()),
            body.value.get("reason").and_then(|v| v.as_str()),
        ) {
            (Some(u), Some(r)) => (u.to_owned(), r.to_owned()),
            (u, r) => {
                let mut errors = Vec::new();
                if u.is_none() {
                    errors.push(FieldError {
                        pointer: "/urgency".into(),
                        detail: "is required and must be a string".into(),
                    });
                }
                if r.is_none() {
                    errors.push(FieldError {
                        pointer: "/reason".into(),
                        detail: "is required and must be a string".into(),
                    });
                }
                return Err(ApiError::validation(errors).into());
            }
        };
        let unknown = super::payload::unknown_fields(&body.value, &["urgency", "reason"]);
        if !unknown.is_empty() {
            return Err(ApiError::validation(unknown).into());
        }
        let rerated = triage::service::rerate(
            &self.state.db,
            self.state.clock.as_ref(),
            &self.state.policy,
            &auth.0.actor(),
            id.into(),
            &triage::service::Rerate {
                urgency: &urgency,
                reason: &reason,
                // Optional on re-rating: absent or `*` skips the check.
                expected_version: super::payload::if_match(if_match.0.as_deref()).flatten(),
            },
        )
        .await
        .map_err(|e| triage_error(&e, retry, "contact"))?;
        crate::sla::timer::schedule_or_log(&self.state.redis, &rerated.scheduled).await;
        let tag = etag(rerated.version);
        Ok(RerateResponses::Ok(
            Json(RerateResponse {
                id,
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
        id: Path<String>,
    ) -> Result<ChildContactsResponses, ContactReadError> {
        let retry = self.state.settings.http.retry_after_seconds;
        auth.0.require_staff(Role::CASE_READERS).map_err(|e| ApiError::from_auth(&e, retry))?;
        let child_id = uuid::Uuid::parse_str(&id.0).map_err(|_| ApiError::not_found("child"))?;
        let contacts =
            triage::service::contacts_about_child(&self.state.db, self.state.clock.as_ref(), &auth.0.actor(), child_id)
                .await
                .map_err(|e| triage_error(&e, retry, "child"))?;
        Ok(ChildContactsResponses::Ok(Json(ChildContactsResponse {
            child_id,
            contacts: contacts
                .into_iter()
                .map(|c| ChildContactResponse {
                    contact_id: c.contact_id.0,
                    child_id: c.child_id,
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
