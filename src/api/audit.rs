//! `/v1/audit`: auditors read the append-only audit trail.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Query, payload::Json};

use super::{ApiTags, problem::ListError, security::BearerKey};
use crate::{
    audit::{self, AuditEvent, AuditFilter},
    auth::Role,
    state::AppState,
};

/// Page size when none is asked for.
const DEFAULT_LIMIT: i64 = 100;
/// Largest page.
const MAX_LIMIT: i64 = 1000;

/// One audit event.
#[derive(Debug, Object)]
#[oai(rename = "AuditEvent")]
pub struct AuditEventResponse {
    /// Increasing; pass the last one seen as `after` for the next page.
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    /// `agency`, `staff` or `system`.
    pub actor_kind: String,
    /// The agency or staff member who acted.
    #[oai(nullable)]
    pub actor_id: Option<uuid::Uuid>,
    /// The key they used.
    #[oai(nullable)]
    pub api_key_id: Option<uuid::Uuid>,
    /// What happened, e.g. `contact.submitted`, `contact.read`.
    pub action: String,
    #[oai(nullable)]
    pub contact_id: Option<uuid::Uuid>,
    /// Ids and codes about the event; never personal data.
    pub detail: serde_json::Value,
}

impl From<AuditEvent> for AuditEventResponse {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            occurred_at: e.occurred_at,
            actor_kind: e.actor_kind,
            actor_id: e.actor_id,
            api_key_id: e.api_key_id.map(|k| k.0),
            action: e.action,
            contact_id: e.contact_id.map(|c| c.0),
            detail: e.detail,
        }
    }
}

/// A page of audit events.
#[derive(Debug, Object)]
pub struct AuditPage {
    pub events: Vec<AuditEventResponse>,
    /// Pass as `after` to get the next page; absent when this page is the last so far.
    #[oai(skip_serializing_if_is_none)]
    pub next_after: Option<i64>,
}

#[derive(ApiResponse)]
pub enum ListAuditResponse {
    /// Events, oldest first.
    #[oai(status = 200)]
    Ok(Json<AuditPage>),
}

/// The audit trail.
pub struct AuditApi {
    pub state: Arc<AppState>,
}

#[OpenApi(tag = "ApiTags::Audit")]
impl AuditApi {
    /// List audit events.
    ///
    /// Oldest first, optionally only about one contact, by one member of staff or agency, of one
    /// action, or within a period. Auditors only; the listing itself is audited.
    #[oai(path = "/v1/audit", method = "get", operation_id = "audit.event.list")]
    #[allow(clippy::too_many_arguments)] // an operation's query parameters
    async fn list(
        &self,
        auth: BearerKey,
        /// Only events about this contact.
        contact_id: Query<Option<uuid::Uuid>>,
        /// Only what this member of staff (or agency) did.
        actor_id: Query<Option<uuid::Uuid>>,
        /// Only this action, e.g. `contact.read` or `decision.authorised`.
        #[oai(validator(max_length = 100))]
        action: Query<Option<String>>,
        /// Only events at or after this instant.
        from: Query<Option<DateTime<Utc>>>,
        /// Only events before this instant.
        to: Query<Option<DateTime<Utc>>>,
        /// Only events after this id (the `next_after` of the previous page).
        #[oai(validator(minimum(value = "0")))]
        after: Query<Option<i64>>,
        /// Page size, 1-1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<i64>>,
    ) -> Result<ListAuditResponse, ListError> {
        auth.0.require_staff(&[Role::Auditor])?;
        let limit = limit.0.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let filter = AuditFilter {
            contact_id: contact_id.0.map(Into::into),
            actor_id: actor_id.0,
            action: action.0,
            from: from.0,
            to: to.0,
            after: after.0,
            limit,
        };
        let events = audit::list(&self.state, &auth.0.actor(), &filter).await?;
        let full_page = i64::try_from(events.len()).is_ok_and(|n| n == limit);
        let next_after = events.last().filter(|_| full_page).map(|e| e.id);
        Ok(ListAuditResponse::Ok(Json(AuditPage { events: events.into_iter().map(Into::into).collect(), next_after })))
    }
}
