//! `/v1/contacts`: partners submit contacts (one or a batch) and read them back; hub staff read
//! the full contact. Handlers authorise, parse and call the services, nothing else; the wire
//! types are in [`request`] and [`response`].

pub mod request;
pub mod response;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::{
    Enum, OpenApi,
    param::{Header, Query},
    payload::Json,
};

use self::response::{BatchSubmitResponse, ContactFeedPage, ContactFeedResponse, GetContactResponse, SubmitResponse};
pub use self::{
    request::{BatchRequest, NewContactRequest, as_request},
    response::{BatchItemResult, BatchResponse, ContactResponse},
};
use super::{
    ApiTags,
    path::Path,
    payload::JsonBody,
    problem::{ApiError, BatchError, ContactReadError, ListError, SubmitError},
    security::BearerKey,
};
use crate::{
    auth::{AgencyPrincipal, Principal, Role},
    contact::{self, NewContact},
    id::ContactId,
    intake::{self, Submitted, Today, validate},
    state::AppState,
};

/// Contact intake and reading.
pub struct IntakeApi {
    pub state: Arc<AppState>,
    /// Stores contacts submitted at the same moment together (group commit).
    pub coalescer: intake::service::Coalescer,
}

impl IntakeApi {
    fn today(&self) -> Today {
        Today { date: self.state.clock.today_local(), now: self.state.clock.now() }
    }

    fn location(&self, id: uuid::Uuid) -> String {
        format!("{}/v1/contacts/{id}", self.state.settings.http.public_base_url)
    }

    async fn submit_one(
        &self,
        agency: &AgencyPrincipal,
        contact: &NewContact,
        key: Option<&str>,
    ) -> Result<Submitted, ApiError> {
        Ok(intake::service::submit_contact(&self.state, Some(&self.coalescer), agency, contact, key).await?)
    }
}

/// A status as an agency sees it, to filter the change feed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AgencyStatus {
    AwaitingScreening,
    /// Includes a decision awaiting a manager's authorisation (the agency sees `in_screening`).
    InScreening,
    Decided,
    Closed,
}

impl AgencyStatus {
    fn stored(self) -> Vec<&'static str> {
        match self {
            Self::AwaitingScreening => vec!["awaiting_screening"],
            Self::InScreening => vec!["in_screening", "awaiting_authorisation"],
            Self::Decided => vec!["decided"],
            Self::Closed => vec!["closed"],
        }
    }
}

/// The `Idempotency-Key` header's value: a Structured Field string (`"..."`, as the IETF draft
/// writes it) or the same characters bare; 1-255 printable ASCII characters (spaces inside).
fn idempotency_key(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let raw = raw.trim();
    let key = raw.strip_prefix('"').and_then(|k| k.strip_suffix('"')).unwrap_or(raw);
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ') || key.contains('"')
    {
        return Err(ApiError::invalid_parameter(
            "Idempotency-Key",
            "must be 1 to 255 printable ASCII characters, bare or quoted (a UUID is a good choice)",
        ));
    }
    Ok(Some(key.to_owned()))
}

#[OpenApi(tag = "ApiTags::Contacts")]
impl IntakeApi {
    /// Submit a contact.
    ///
    /// Validates the whole contact and answers 422 listing every field at fault. The same
    /// `agency_reference` with the same body again is a safe retry (200 with the stored contact);
    /// with a different body it is a 409. Agency keys only.
    ///
    /// `Idempotency-Key` (IETF httpapi draft) makes any retry safe, whatever the body's
    /// reference: the same key and body within 24 hours is answered as the first request was
    /// (its status, the contact as it is now, and `Idempotent-Replayed: true`); the same key
    /// with a different body is 422 `idempotency_key_reused`; while the first request is still
    /// being processed, 409 `idempotency_key_in_flight` (retry shortly). The reference still
    /// de-duplicates underneath: a new key with a used reference is a replay (200) or a 409.
    #[oai(path = "/v1/contacts", method = "post", operation_id = "intake.contact.create")]
    async fn create(
        &self,
        auth: BearerKey,
        /// A key unique to this submission (a UUID, say), sent again unchanged on every retry:
        /// 1-255 printable ASCII characters, bare or as a quoted Structured Field string.
        #[oai(
            name = "Idempotency-Key",
            validator(
                pattern = r#"^("[\x20\x21\x23-\x7E]{1,255}"|[\x21\x23-\x7E]([\x20\x21\x23-\x7E]{0,253}[\x21\x23-\x7E])?)$"#
            )
        )]
        idempotency_key: Header<Option<String>>,
        body: JsonBody<NewContactRequest>,
    ) -> Result<SubmitResponse, SubmitError> {
        let agency = auth.0.require_agency()?;
        let key = self::idempotency_key(idempotency_key.0.as_deref())?;
        let contact = validate::parse_new_contact(&body.read().await?, self.today()).map_err(ApiError::validation)?;
        let submitted = self.submit_one(&agency, &contact, key.as_deref()).await?;
        let repeated = matches!(submitted, Submitted::Repeated(..)).then(|| "true".to_owned());
        let (status, record) = (submitted.status(), submitted.record().clone());
        let location = self.location(record.id.0);
        Ok(if status == 201 {
            SubmitResponse::Created(Json(record.into()), location, repeated)
        } else {
            SubmitResponse::Replayed(Json(record.into()), location, repeated)
        })
    }

    /// Submit up to 500 contacts at once.
    ///
    /// Each contact is validated, de-duplicated and stored on its own: one bad item never loses
    /// the others. The answer lists a result per item, in request order, with the status the
    /// item would have had if sent alone. Agency keys only.
    #[oai(path = "/v1/contacts/batch", method = "post", operation_id = "intake.contact.create_batch")]
    async fn create_batch(
        &self,
        auth: BearerKey,
        body: JsonBody<BatchRequest>,
    ) -> Result<BatchSubmitResponse, BatchError> {
        let agency = auth.0.require_agency()?;
        let items = validate::parse_batch(&body.read().await?, self.today()).map_err(ApiError::validation)?;
        let outcomes = intake::service::submit_batch(&self.state, Some(&self.coalescer), &agency, items).await;
        let results: Vec<BatchItemResult> =
            outcomes.into_iter().zip(0u32..).map(|(outcome, index)| BatchItemResult::new(index, outcome)).collect();
        // A store that was down for some items: their answer is 503, and resending is safe.
        let retry_after = results.iter().any(|r| r.status == 503).then(|| self.state.retry_after().to_string());
        Ok(BatchSubmitResponse::MultiStatus(Json(BatchResponse { results }), retry_after))
    }

    /// The agency's change feed: its own contacts changed since a cursor (agency keys).
    ///
    /// Every contact whose status, outcome, feedback or rating (as the agency sees them) changed
    /// after `after`, oldest change first, each in its current agency view. Page with
    /// `next_after` until a page comes back empty; keep the last `next_after` and start from it
    /// next time. A contact changed twice since then appears once, at its latest change. Changes
    /// are listed only once every earlier transaction has finished, so a partner that missed
    /// webhooks for a week catches up on every change exactly once, in order. Without `after`,
    /// from the beginning. Staff keys use the queues (403). Audited.
    #[oai(path = "/v1/contacts", method = "get", operation_id = "intake.contact.feed")]
    async fn feed(
        &self,
        auth: BearerKey,
        /// The `next_after` of the previous page (opaque).
        #[oai(validator(pattern = r"^[0-9]{1,20}\.[0-9]{1,19}$"))]
        after: Query<Option<String>>,
        /// Page size, 1-1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<i64>>,
        /// Only contacts now in this status.
        status: Query<Option<AgencyStatus>>,
        /// Only contacts received at or after this instant (RFC 3339).
        received_from: Query<Option<DateTime<Utc>>>,
        /// Only contacts received before this instant (RFC 3339); at or before `received_from`,
        /// nothing.
        received_to: Query<Option<DateTime<Utc>>>,
    ) -> Result<ContactFeedResponse, ListError> {
        let agency = auth.0.require_agency()?;
        let cursor = match after.0.as_deref() {
            None => None,
            Some(c) => Some(
                super::clocks::parse_cursor(c)
                    .ok_or_else(|| ApiError::invalid_parameter("after", "is not a cursor"))?,
            ),
        };
        let filter = contact::FeedFilter {
            statuses: status.0.map(AgencyStatus::stored),
            received_from: received_from.0,
            received_to: received_to.0,
        };
        let limit = limit.0.unwrap_or(100).clamp(1, 1000);
        let cursor = cursor.as_ref().map(|(x, s)| (x.as_str(), *s));
        let items = contact::service::changes_for_agency(&self.state, &agency, cursor, &filter, limit).await?;
        let next_after = items.last().map(|i| format!("{}.{}", i.xid, i.seq)).or(after.0);
        let contacts = items.into_iter().map(|i| i.record.into()).collect();
        Ok(ContactFeedResponse::Ok(Json(ContactFeedPage { contacts, next_after })))
    }

    /// Read a contact.
    ///
    /// An agency key sees its own contacts only (any other id is 404), in the agency view: status,
    /// urgency, queue, deadline and outcome. Practitioner, manager and auditor keys see the full
    /// contact: the agency, the submission (people, concerns, narrative) and its history. Admin
    /// keys manage the service, not cases (403). Every read is audited.
    #[oai(path = "/v1/contacts/:id", method = "get", operation_id = "intake.contact.get")]
    async fn get(
        &self,
        auth: BearerKey,
        /// The contact's id (a UUID). Anything else is "not found".
        id: Path<ContactId>,
    ) -> Result<GetContactResponse, ContactReadError> {
        let view = match auth.0 {
            Principal::Agency(agency) => {
                contact::service::read_contact_as_agency(&self.state, &agency, id.0).await?.into()
            }
            Principal::Staff(_) => {
                auth.0.require_staff(Role::CASE_READERS)?;
                ContactResponse::for_staff(
                    contact::service::read_contact_as_staff(&self.state, &auth.0.actor(), id.0).await?,
                )?
            }
        };
        let tag = view.version.map(super::triage::etag);
        Ok(GetContactResponse::Ok(Json(view), tag))
    }
}
