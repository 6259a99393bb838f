//! The worklist: queues, claims, release and renewal, assignment and moves, notes, decisions.
//! Updates take the contact's version in `If-Match`; a stale one gets 412.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Query, payload::Json};

use super::{
    ApiTags,
    path::Path,
    payload::{BodyLimit, JsonBody, ReadBody},
    precondition::IfMatchHeader,
    problem::{ApiError, ContactReadError, ListError, WorklistChangeError},
    security::BearerKey,
    triage::etag,
};
use crate::{
    auth::{Role, StaffPrincipal},
    config::HttpSettings,
    id::ContactId,
    intake::walker::{self, Walker},
    state::AppState,
    worklist::{self, Claimed, DecisionInput},
};

/// A queue's numbers.
#[derive(Debug, Object)]
pub struct QueueResponse {
    pub queue: String,
    /// Open contacts per urgency, most urgent first.
    pub by_urgency: Vec<UrgencyCount>,
    pub unclaimed: i64,
    pub claimed: i64,
    pub escalated: i64,
    /// Age of the oldest open contact, in minutes.
    #[oai(skip_serializing_if_is_none)]
    pub oldest_age_minutes: Option<i64>,
    /// The soonest decision deadline among open contacts.
    #[oai(skip_serializing_if_is_none)]
    pub next_deadline: Option<DateTime<Utc>>,
    /// Open contacts not yet past their deadline that will be by the end of the working day
    /// (the hub calendar's next closing time) if nobody decides them.
    pub breach_by_close: i64,
    /// Age of the oldest contact nobody holds, in minutes.
    #[oai(skip_serializing_if_is_none)]
    pub oldest_unclaimed_age_minutes: Option<i64>,
}

/// Open contacts of one urgency.
#[derive(Debug, Object)]
pub struct UrgencyCount {
    pub urgency: String,
    pub count: i64,
}

#[derive(Debug, Object)]
pub struct QueuesResponse {
    pub queues: Vec<QueueResponse>,
}

/// An open contact in a queue.
#[derive(Debug, Object)]
pub struct QueueItemResponse {
    pub id: uuid::Uuid,
    #[oai(skip_serializing_if_is_none)]
    pub urgency: Option<String>,
    pub status: String,
    pub received_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub decision_due_at: Option<DateTime<Utc>>,
    /// Past 75% of its decision clock: it comes first.
    pub escalated: bool,
    /// The staff member holding the claim, if any.
    #[oai(skip_serializing_if_is_none)]
    pub claimed_by: Option<uuid::Uuid>,
    #[oai(skip_serializing_if_is_none)]
    pub claim_expires_at: Option<DateTime<Utc>>,
    pub version: i64,
}

#[derive(Debug, Object)]
pub struct QueueContactsResponse {
    pub queue: String,
    pub contacts: Vec<QueueItemResponse>,
    /// Pass as `offset` for the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_offset: Option<i64>,
}

/// A claim held.
#[derive(Debug, Object)]
pub struct ClaimResponse {
    pub contact_id: uuid::Uuid,
    /// Renew before this, or the contact returns to its queue.
    pub expires_at: DateTime<Utc>,
    pub version: i64,
}

impl From<Claimed> for ClaimResponse {
    fn from(c: Claimed) -> Self {
        Self { contact_id: c.contact_id.0, expires_at: c.expires_at, version: c.version }
    }
}

#[derive(ApiResponse)]
pub enum QueuesResponses {
    #[oai(status = 200)]
    Ok(Json<QueuesResponse>),
}

#[derive(ApiResponse)]
pub enum QueueContactsResponses {
    #[oai(status = 200)]
    Ok(Json<QueueContactsResponse>),
}

#[derive(ApiResponse)]
pub enum ClaimResponses {
    /// The caller now holds the contact.
    #[oai(status = 200)]
    Claimed(Json<ClaimResponse>, #[oai(header = "ETag")] String),
    /// Nothing unclaimed in this queue.
    #[oai(status = 204)]
    Empty,
}

#[derive(ApiResponse)]
pub enum ChangeResponses {
    /// Done; the contact's new version is in `ETag`.
    #[oai(status = 200)]
    Ok(Json<ChangeResponse>, #[oai(header = "ETag")] String),
}

/// The contact after a change.
#[derive(Debug, Object)]
pub struct ChangeResponse {
    pub contact_id: uuid::Uuid,
    pub version: i64,
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A manager's assignment.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct AssignRequest {
    /// The practitioner (or manager) to give the contact to.
    pub staff_id: uuid::Uuid,
    #[oai(validator(min_length = 1, max_length = 2000))]
    pub reason: String,
}

/// A manager's move to another queue.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct MoveRequest {
    #[oai(validator(min_length = 1, max_length = 100))]
    pub queue: String,
    #[oai(validator(min_length = 1, max_length = 2000))]
    pub reason: String,
}

/// A staff note.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct NoteRequest {
    #[oai(validator(min_length = 1, max_length = 10000))]
    pub body: String,
}

/// Why a contact past its deadline is late, recorded before its decision.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct LateReasonRequest {
    /// One of the policy's late reasons.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub late_reason: String,
    /// The sentence a reason such as `other` needs (and only such a reason).
    #[oai(validator(min_length = 1, max_length = 2000))]
    pub late_reason_text: Option<String>,
}

/// A manager sends a decision back to its author.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct SendBackRequest {
    /// Why, for the decision's author (staff only; never shown to the agency).
    #[oai(validator(min_length = 1, max_length = 2000))]
    pub reason: String,
}

/// A decision awaiting a manager's authorisation.
#[derive(Debug, Object)]
pub struct AwaitingAuthorisationItem {
    pub contact_id: uuid::Uuid,
    pub outcome: String,
    /// The hub's urgency and queue.
    #[oai(skip_serializing_if_is_none)]
    pub urgency: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub queue: Option<String>,
    pub decided_by: uuid::Uuid,
    pub decided_at: DateTime<Utc>,
    /// Why the policy asks a manager to authorise it (its `worklist.authorisation` reasons).
    pub authorisation_reasons: Vec<String>,
    /// The authorisation clock's deadline (absent while paused).
    #[oai(skip_serializing_if_is_none)]
    pub due_at: Option<DateTime<Utc>>,
    /// Working minutes since the decision was recorded, on the hub's calendar.
    pub age_working_minutes: i64,
    /// The contact's version, for `If-Match`.
    pub version: i64,
}

#[derive(Debug, Object)]
pub struct AwaitingAuthorisationResponse {
    pub decisions: Vec<AwaitingAuthorisationItem>,
}

#[derive(ApiResponse)]
pub enum AwaitingAuthorisationResponses {
    #[oai(status = 200)]
    Ok(Json<AwaitingAuthorisationResponse>),
}

/// A screening decision.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct DecisionRequest {
    /// One of the policy's outcomes (by default those of DOMAIN.md).
    #[oai(validator(min_length = 1, max_length = 100))]
    pub outcome: String,
    /// Why (staff only).
    #[oai(validator(min_length = 1, max_length = 10000))]
    pub rationale: String,
    /// The agency signposted to; required for `signpost_other_agency`.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub signpost_agency: Option<String>,
    /// What the referrer is told (shown in the agency's view of the contact).
    #[oai(validator(min_length = 1, max_length = 4000))]
    pub feedback: String,
    /// Why the decision comes after the contact's deadline: one of the policy's late reasons
    /// (by default `awaiting_partner_information`, `capacity`, `misrouted`,
    /// `received_out_of_hours`, `complexity`, `system_unavailable`, `other`). Required on a
    /// decision recorded after the deadline or on a contact that breached (422 without it), and
    /// refused on one in time. Staff only: never shown to the agency.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub late_reason: Option<String>,
    /// The sentence a late reason such as `other` needs (and only such a reason).
    #[oai(validator(min_length = 1, max_length = 2000))]
    pub late_reason_text: Option<String>,
    /// The hub's threshold level (its continuum of need) the child's needs were judged to be
    /// at: one of the policy's (by default `universal`, `early_help`, `targeted`, `specialist`).
    #[oai(validator(min_length = 1, max_length = 100))]
    pub threshold_level: String,
}

macro_rules! small_body {
    ($($t:ty),+) => {$(
        impl BodyLimit for $t {
            fn limit(_: &HttpSettings) -> usize {
                64 * 1024
            }
        }
    )+};
}
small_body!(AssignRequest, MoveRequest, NoteRequest, DecisionRequest, LateReasonRequest, SendBackRequest);

impl ReadBody for SendBackRequest {
    const FIELDS: &'static [&'static str] = &["reason"];

    fn read(w: &mut Walker, body: &walker::Object<'_>) -> Option<Self> {
        Some(Self { reason: w.required_string(body, "reason", 1..=2000)? })
    }
}

impl ReadBody for LateReasonRequest {
    const FIELDS: &'static [&'static str] = &["late_reason", "late_reason_text"];

    fn read(w: &mut Walker, body: &walker::Object<'_>) -> Option<Self> {
        let late_reason = w.required_string(body, "late_reason", 1..=100);
        let late_reason_text = w.optional_string(body, "late_reason_text", 1..=2000);
        Some(Self { late_reason: late_reason?, late_reason_text })
    }
}

impl ReadBody for AssignRequest {
    const FIELDS: &'static [&'static str] = &["staff_id", "reason"];

    fn read(w: &mut Walker, body: &walker::Object<'_>) -> Option<Self> {
        let staff_id = w.required_parsed(body, "staff_id", "a staff id");
        let reason = w.required_string(body, "reason", 1..=2000);
        Some(Self { staff_id: staff_id?, reason: reason? })
    }
}

impl ReadBody for MoveRequest {
    const FIELDS: &'static [&'static str] = &["queue", "reason"];

    fn read(w: &mut Walker, body: &walker::Object<'_>) -> Option<Self> {
        let queue = w.required_string(body, "queue", 1..=100);
        let reason = w.required_string(body, "reason", 1..=2000);
        Some(Self { queue: queue?, reason: reason? })
    }
}

impl ReadBody for NoteRequest {
    const FIELDS: &'static [&'static str] = &["body"];

    fn read(w: &mut Walker, body: &walker::Object<'_>) -> Option<Self> {
        Some(Self { body: w.required_string(body, "body", 1..=10_000)? })
    }
}

impl From<DecisionRequest> for DecisionInput {
    fn from(r: DecisionRequest) -> Self {
        let DecisionRequest {
            outcome,
            rationale,
            signpost_agency,
            feedback,
            late_reason,
            late_reason_text,
            threshold_level,
        } = r;
        Self { outcome, rationale, signpost_agency, feedback, late_reason, late_reason_text, threshold_level }
    }
}

impl ReadBody for DecisionRequest {
    const FIELDS: &'static [&'static str] =
        &["outcome", "rationale", "signpost_agency", "feedback", "late_reason", "late_reason_text", "threshold_level"];

    fn read(w: &mut Walker, body: &walker::Object<'_>) -> Option<Self> {
        let outcome = w.required_string(body, "outcome", 1..=100);
        let rationale = w.required_string(body, "rationale", 1..=10_000);
        let signpost_agency = w.optional_string(body, "signpost_agency", 1..=200);
        let feedback = w.required_string(body, "feedback", 1..=4000);
        let late_reason = w.optional_string(body, "late_reason", 1..=100);
        let late_reason_text = w.optional_string(body, "late_reason_text", 1..=2000);
        let threshold_level = w.required_string(body, "threshold_level", 1..=100);
        Some(Self {
            outcome: outcome?,
            rationale: rationale?,
            signpost_agency,
            feedback: feedback?,
            late_reason,
            late_reason_text,
            threshold_level: threshold_level?,
        })
    }
}

/// The worklist.
pub struct WorklistApi {
    pub state: Arc<AppState>,
}

impl WorklistApi {
    fn staff(auth: &BearerKey, roles: &[Role]) -> Result<StaffPrincipal, ApiError> {
        Ok(auth.0.require_staff(roles)?)
    }

    fn changed(contact: ContactId, version: i64, expires_at: Option<DateTime<Utc>>) -> ChangeResponses {
        ChangeResponses::Ok(Json(ChangeResponse { contact_id: contact.0, version, expires_at }), etag(version))
    }
}

#[OpenApi(tag = "ApiTags::Worklist")]
impl WorklistApi {
    /// Queues (staff).
    ///
    /// Each queue with its open contacts by urgency and by state (unclaimed, claimed,
    /// escalated), the oldest contact's age and the next deadline. The counts are the hub's as
    /// read at most a few seconds ago (`metrics.cache_seconds`, 5 by default), so that a board
    /// polling constantly costs the database nothing more; a queue's own listing is always
    /// current.
    #[oai(path = "/v1/queues", method = "get", operation_id = "worklist.queue.list")]
    async fn queues(&self, auth: BearerKey) -> Result<QueuesResponses, ListError> {
        Self::staff(&auth, Role::CASE_READERS)?;
        let now = self.state.clock.now();
        let queues = worklist::service::queues(&self.state).await?;
        Ok(QueuesResponses::Ok(Json(QueuesResponse {
            queues: queues
                .into_iter()
                .map(|q| QueueResponse {
                    queue: q.queue,
                    by_urgency: q
                        .by_urgency
                        .into_iter()
                        .map(|(urgency, count)| UrgencyCount { urgency, count })
                        .collect(),
                    unclaimed: q.unclaimed,
                    claimed: q.claimed,
                    escalated: q.escalated,
                    oldest_age_minutes: q.oldest_received_at.map(|t| (now - t).num_minutes()),
                    next_deadline: q.next_deadline,
                    breach_by_close: q.breach_by_close,
                    oldest_unclaimed_age_minutes: q.oldest_unclaimed_at.map(|t| (now - t).num_minutes()),
                })
                .collect(),
        })))
    }

    /// A queue's open contacts (staff).
    ///
    /// In working order: escalated contacts first, then by decision deadline, soonest first (a
    /// green contact close to breach comes before an amber one just received).
    #[oai(path = "/v1/queues/:queue/contacts", method = "get", operation_id = "worklist.queue.contacts")]
    async fn queue_contacts(
        &self,
        auth: BearerKey,
        /// The queue's name.
        queue: Path<String>,
        /// Skip this many (from `next_offset`).
        #[oai(validator(minimum(value = "0")))]
        offset: Query<Option<i64>>,
        /// Page size, 1-500 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<i64>>,
    ) -> Result<QueueContactsResponses, ContactReadError> {
        Self::staff(&auth, Role::CASE_READERS)?;
        let (offset, limit) = (offset.0.unwrap_or(0), limit.0.unwrap_or(50));
        let items = worklist::service::queue_contacts(&self.state, &auth.0.actor(), &queue.0, offset, limit).await?;
        let full = i64::try_from(items.len()).is_ok_and(|n| n == limit);
        Ok(QueueContactsResponses::Ok(Json(QueueContactsResponse {
            queue: queue.0,
            // Checked: a caller may page from any offset up to i64::MAX.
            next_offset: full.then(|| offset.checked_add(limit)).flatten(),
            contacts: items
                .into_iter()
                .map(|i| QueueItemResponse {
                    id: i.id.0,
                    urgency: i.urgency,
                    status: i.status,
                    received_at: i.received_at,
                    decision_due_at: i.decision_due_at,
                    escalated: i.escalated,
                    claimed_by: i.claimed_by.map(|s| s.0),
                    claim_expires_at: i.claim_expires_at,
                    version: i.version,
                })
                .collect(),
        })))
    }

    /// Claim the next contact of a queue (practitioners, managers).
    ///
    /// The next unclaimed contact in working order, or 204 when there is none. Two callers never
    /// get the same contact. The claim is a lease: renew it before `expires_at`.
    #[oai(path = "/v1/queues/:queue/claim", method = "post", operation_id = "worklist.queue.claim")]
    async fn claim(
        &self,
        auth: BearerKey,
        /// The queue's name.
        queue: Path<String>,
    ) -> Result<ClaimResponses, ContactReadError> {
        let staff = Self::staff(&auth, Role::CASEWORKERS)?;
        match worklist::service::claim_next(&self.state, &staff, &queue.0).await? {
            Some(claimed) => {
                let tag = etag(claimed.version);
                Ok(ClaimResponses::Claimed(Json(claimed.into()), tag))
            }
            None => Ok(ClaimResponses::Empty),
        }
    }

    /// Claim a named contact (practitioners, managers).
    ///
    /// For picking a contact from the list, or taking one back after a lapsed lease. 409 when
    /// someone else holds it.
    #[oai(path = "/v1/contacts/:id/claim", method = "post", operation_id = "worklist.contact.claim")]
    async fn claim_contact(
        &self,
        auth: BearerKey,
        id: Path<ContactId>,
    ) -> Result<ChangeResponses, WorklistChangeError> {
        let staff = Self::staff(&auth, Role::CASEWORKERS)?;
        let contact = id.0;
        let c = worklist::service::claim_contact(&self.state, &staff, contact).await?;
        Ok(Self::changed(contact, c.version, Some(c.expires_at)))
    }

    /// Renew a claim (its holder).
    #[oai(path = "/v1/contacts/:id/claim/renew", method = "post", operation_id = "worklist.claim.renew")]
    async fn renew(&self, auth: BearerKey, id: Path<ContactId>) -> Result<ChangeResponses, WorklistChangeError> {
        let staff = Self::staff(&auth, Role::CASEWORKERS)?;
        let contact = id.0;
        let c = worklist::service::renew(&self.state, &staff, contact).await?;
        Ok(Self::changed(contact, c.version, Some(c.expires_at)))
    }

    /// Release a claim (its holder, or a manager): the contact returns to its queue.
    #[oai(path = "/v1/contacts/:id/release", method = "post", operation_id = "worklist.claim.release")]
    async fn release(
        &self,
        auth: BearerKey,
        id: Path<ContactId>,
        /// The contact's version as read (`ETag`); stale gets 412.
        #[oai(name = "If-Match")]
        if_match_header: IfMatchHeader,
    ) -> Result<ChangeResponses, WorklistChangeError> {
        let staff = Self::staff(&auth, Role::CASEWORKERS)?;
        let contact = id.0;
        let version = worklist::service::release(&self.state, &staff, contact, if_match_header.0).await?;
        Ok(Self::changed(contact, version, None))
    }

    /// Assign a contact to a named practitioner (managers), with a reason.
    #[oai(path = "/v1/contacts/:id/assign", method = "post", operation_id = "worklist.contact.assign")]
    async fn assign(
        &self,
        auth: BearerKey,
        id: Path<ContactId>,
        #[oai(name = "If-Match")] if_match_header: IfMatchHeader,
        body: JsonBody<AssignRequest>,
    ) -> Result<ChangeResponses, WorklistChangeError> {
        let manager = Self::staff(&auth, &[Role::Manager])?;
        let contact = id.0;
        let AssignRequest { staff_id, reason } = body.parse().await?;
        let c = worklist::service::assign(&self.state, &manager, contact, staff_id.into(), &reason, if_match_header.0)
            .await?;
        Ok(Self::changed(contact, c.version, Some(c.expires_at)))
    }

    /// Move a contact to another queue (managers), with a reason; any claim is released.
    #[oai(path = "/v1/contacts/:id/move", method = "post", operation_id = "worklist.contact.move")]
    async fn move_contact(
        &self,
        auth: BearerKey,
        id: Path<ContactId>,
        #[oai(name = "If-Match")] if_match_header: IfMatchHeader,
        body: JsonBody<MoveRequest>,
    ) -> Result<ChangeResponses, WorklistChangeError> {
        let manager = Self::staff(&auth, &[Role::Manager])?;
        let contact = id.0;
        let MoveRequest { queue, reason } = body.parse().await?;
        let version =
            worklist::service::move_to(&self.state, &manager, contact, &queue, &reason, if_match_header.0).await?;
        Ok(Self::changed(contact, version, None))
    }

    /// Record why a contact is late, before its decision (managers).
    ///
    /// For an open contact past its decision deadline (or that breached): one of the policy's
    /// late reasons, with its sentence where the reason needs one. The decision takes it unless
    /// it gives its own; recording again revises it. Audited with the reason's code. A contact
    /// still in time is a 422 naming `late_reason`.
    #[oai(path = "/v1/contacts/:id/late-reason", method = "post", operation_id = "worklist.contact.late_reason")]
    async fn late_reason(
        &self,
        auth: BearerKey,
        id: Path<ContactId>,
        body: JsonBody<LateReasonRequest>,
    ) -> Result<ChangeResponses, WorklistChangeError> {
        let manager = Self::staff(&auth, &[Role::Manager])?;
        let contact = id.0;
        let LateReasonRequest { late_reason, late_reason_text } = body.parse().await?;
        let given = (late_reason.as_str(), late_reason_text.as_deref());
        let version = worklist::service::record_late_reason(&self.state, &manager, contact, given).await?;
        Ok(Self::changed(contact, version, None))
    }

    /// Add a note (practitioners, managers). Notes are never shown to agencies.
    ///
    /// Any practitioner may note any open contact, not only the one they hold: a colleague who
    /// takes a call about a child must be able to put it on the record at once. A note changes
    /// neither the rating, the claim nor the decision, and is audited with its author.
    #[oai(path = "/v1/contacts/:id/notes", method = "post", operation_id = "worklist.note.create")]
    async fn note(
        &self,
        auth: BearerKey,
        id: Path<ContactId>,
        body: JsonBody<NoteRequest>,
    ) -> Result<ChangeResponses, WorklistChangeError> {
        let staff = Self::staff(&auth, Role::CASEWORKERS)?;
        let contact = id.0;
        let NoteRequest { body } = body.parse().await?;
        let version = worklist::service::add_note(&self.state, &staff, contact, &body).await?;
        Ok(Self::changed(contact, version, None))
    }

    /// Record the screening decision (the claim holder, or a manager).
    ///
    /// The contact becomes `decided`; its decision clock stops (no further ladder steps) and the
    /// referrer-feedback clock starts. The agency then sees the outcome and `feedback`.
    ///
    /// A decision the policy asks a manager to authorise (`worklist.authorisation`: by default
    /// no further action or advice on a red or amber contact, and any decision on a contact that
    /// breached) is recorded as awaiting authorisation instead: the contact becomes
    /// `awaiting_authorisation` (its agency still sees `in_screening` and no outcome), the
    /// authorisation clock starts on the ladder, and the referrer is told only once a manager
    /// authorises it.
    #[oai(path = "/v1/contacts/:id/decision", method = "post", operation_id = "worklist.contact.decide")]
    async fn decide(
        &self,
        auth: BearerKey,
        id: Path<ContactId>,
        #[oai(name = "If-Match")] if_match_header: IfMatchHeader,
        body: JsonBody<DecisionRequest>,
    ) -> Result<ChangeResponses, WorklistChangeError> {
        let staff = Self::staff(&auth, Role::CASEWORKERS)?;
        let contact = id.0;
        let input = DecisionInput::from(body.parse().await?);
        let version = worklist::service::decide(&self.state, &staff, contact, &input, if_match_header.0).await?;
        Ok(Self::changed(contact, version, None))
    }

    /// Decisions awaiting authorisation (managers).
    ///
    /// Oldest first, with why each needs authorisation, its authorisation deadline and its age
    /// in working time. At most `limit` (default 100, at most 500).
    #[oai(path = "/v1/decisions/awaiting-authorisation", method = "get", operation_id = "worklist.authorisation.list")]
    async fn awaiting_authorisation(
        &self,
        auth: BearerKey,
        /// At most this many, 1-500 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<i64>>,
    ) -> Result<AwaitingAuthorisationResponses, ListError> {
        Self::staff(&auth, &[Role::Manager])?;
        let limit = limit.0.unwrap_or(100);
        let now = self.state.clock.now();
        let calendar = &self.state.policy.clocks.calendar;
        let items = worklist::service::awaiting_authorisation(&self.state, limit).await?;
        Ok(AwaitingAuthorisationResponses::Ok(Json(AwaitingAuthorisationResponse {
            decisions: items
                .into_iter()
                .map(|i| AwaitingAuthorisationItem {
                    contact_id: i.contact_id.0,
                    outcome: i.outcome,
                    urgency: i.urgency,
                    queue: i.queue,
                    decided_by: i.decided_by.0,
                    decided_at: i.decided_at,
                    authorisation_reasons: i.authorisation_reasons,
                    due_at: i.due_at,
                    age_working_minutes: calendar.working_between(i.decided_at, now).num_minutes(),
                    version: i.version,
                })
                .collect(),
        })))
    }

    /// Authorise a decision (managers, not its author).
    ///
    /// The contact becomes `decided`; the authorisation clock stops, the feedback clock starts,
    /// and the agency sees the outcome and feedback (and its webhook is sent). Who authorised it
    /// and when are recorded on the decision. 409 when no decision awaits authorisation.
    #[oai(path = "/v1/contacts/:id/decision/authorise", method = "post", operation_id = "worklist.decision.authorise")]
    async fn authorise(
        &self,
        auth: BearerKey,
        id: Path<ContactId>,
        #[oai(name = "If-Match")] if_match_header: IfMatchHeader,
    ) -> Result<ChangeResponses, WorklistChangeError> {
        let manager = Self::staff(&auth, &[Role::Manager])?;
        let contact = id.0;
        let version = worklist::service::authorise(&self.state, &manager, contact, if_match_header.0).await?;
        Ok(Self::changed(contact, version, None))
    }

    /// Send a decision back to its author (managers, not its author).
    ///
    /// With a reason for the author. The decision moves to the contact's `sent_back` record, the
    /// contact returns to `in_screening` claimed by the decision's author, its decision clock runs
    /// again (the time it used before still counts), and the agency is told nothing. 409 when
    /// no decision awaits authorisation.
    #[oai(path = "/v1/contacts/:id/decision/send-back", method = "post", operation_id = "worklist.decision.send_back")]
    async fn send_back(
        &self,
        auth: BearerKey,
        id: Path<ContactId>,
        #[oai(name = "If-Match")] if_match_header: IfMatchHeader,
        body: JsonBody<SendBackRequest>,
    ) -> Result<ChangeResponses, WorklistChangeError> {
        let manager = Self::staff(&auth, &[Role::Manager])?;
        let contact = id.0;
        let SendBackRequest { reason } = body.parse().await?;
        let version = worklist::service::send_back(&self.state, &manager, contact, &reason, if_match_header.0).await?;
        Ok(Self::changed(contact, version, None))
    }
}
