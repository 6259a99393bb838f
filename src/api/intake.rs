//! `/v1/contacts`: partners submit contacts (one or a batch) and read them back; hub staff read
//! the full contact. Handlers parse, authorise and call `intake::service`, nothing else.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json, types::ParseFromJSON};

use super::{
    ApiTags,
    path::Path,
    payload::{BodyLimit, JsonBody},
    problem::{ApiError, BatchError, ContactReadError, Problem, SubmitError},
    security::BearerKey,
};
use crate::{
    auth::{AgencyPrincipal, Principal, Role},
    config::HttpSettings,
    contact::{
        self, ContactRecord, NewContact, StaffContact,
        model::{
            Classification, Concern, ConsentStatus, ContactStatus, DashRisk, Gender, HealthSetting, ReasonNotSought,
            Relationship,
        },
    },
    id::ContactId,
    intake::{self, Submitted, Today, service::BatchItemError, validate},
    state::AppState,
};

// ---- Request schema (documentation of the contract; `intake::validate` enforces it) ----

/// A contact about one or more children, as a partner agency submits it.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct NewContactRequest {
    /// The agency's own reference, unique per agency: resending the same reference with the same
    /// body is a safe retry.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub agency_reference: String,
    pub referrer: ReferrerRequest,
    /// The children the contact is about (1-20).
    #[oai(validator(min_items = 1, max_items = 20))]
    pub children: Vec<ChildRequest>,
    /// Adults in the child's life (0-20).
    #[oai(validator(max_items = 20))]
    pub adults: Option<Vec<AdultRequest>>,
    /// At least one concern; repeats are ignored.
    #[oai(validator(min_items = 1, max_items = 25))]
    pub concerns: Vec<Concern>,
    pub injury: Option<InjuryRequest>,
    /// The child has disclosed the abuse. Default false.
    pub disclosure_made: Option<bool>,
    /// The referrer believes the child is at immediate risk. Default false.
    pub immediate_risk: Option<bool>,
    /// What happened, in the referrer's words (1-20,000 characters).
    #[oai(validator(min_length = 1, max_length = 20000))]
    pub narrative: String,
    /// When the incident happened (RFC 3339 with offset; not in the future).
    pub incident_at: Option<DateTime<Utc>>,
    pub police: Option<PoliceRequest>,
    pub health: Option<HealthRequest>,
    pub school: Option<SchoolRequest>,
    pub consent: ConsentRequest,
}

/// Who made the contact.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct ReferrerRequest {
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: String,
    /// The referrer's role, e.g. "Designated safeguarding lead".
    #[oai(validator(min_length = 1, max_length = 200))]
    pub role: String,
    #[oai(validator(max_length = 50))]
    pub phone: Option<String>,
    #[oai(validator(max_length = 254))]
    pub email: Option<String>,
    /// The referrer asks not to be named to the family. Default false.
    pub anonymity_requested: Option<bool>,
}

/// A child. Needs a given or family name, unless unborn (then `expected_date_of_birth`).
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct ChildRequest {
    #[oai(validator(max_length = 100))]
    pub given_name: Option<String>,
    #[oai(validator(max_length = 100))]
    pub family_name: Option<String>,
    /// Not in the future.
    pub date_of_birth: Option<NaiveDate>,
    /// For an unborn child, in place of `date_of_birth`; at most 10 months ahead.
    pub expected_date_of_birth: Option<NaiveDate>,
    pub gender: Option<Gender>,
    /// Ten digits with a valid modulus-11 check digit; spaces and hyphens are ignored.
    #[oai(validator(max_length = 20))]
    pub nhs_number: Option<String>,
    /// Unique pupil number: 13 characters with a valid check letter.
    #[oai(validator(max_length = 20))]
    pub upn: Option<String>,
    /// The child cannot yet move about on their own (e.g. a baby who cannot crawl).
    pub non_mobile: Option<bool>,
    pub address: Option<AddressRequest>,
    /// The school the child attends.
    #[oai(validator(max_length = 200))]
    pub school: Option<String>,
}

/// A postal address.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct AddressRequest {
    #[oai(validator(max_length = 200))]
    pub line1: Option<String>,
    #[oai(validator(max_length = 200))]
    pub line2: Option<String>,
    #[oai(validator(max_length = 100))]
    pub town: Option<String>,
    #[oai(validator(max_length = 10))]
    pub postcode: Option<String>,
}

/// An adult in the child's life. Needs a given or family name.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct AdultRequest {
    #[oai(validator(max_length = 100))]
    pub given_name: Option<String>,
    #[oai(validator(max_length = 100))]
    pub family_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub relationship: Option<Relationship>,
}

/// An injury seen or described.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct InjuryRequest {
    pub observed: Option<bool>,
    #[oai(validator(max_length = 2000))]
    pub description: Option<String>,
    pub non_accidental_suspected: Option<bool>,
}

/// Police details.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct PoliceRequest {
    pub dash_risk: Option<DashRisk>,
    /// A child was present at the incident.
    pub child_present: Option<bool>,
}

/// Health details.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct HealthRequest {
    pub setting: Option<HealthSetting>,
}

/// School details.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct SchoolRequest {
    /// The school's six-digit unique reference number.
    #[oai(validator(pattern = r"^[0-9]{6}$"))]
    pub urn: Option<String>,
}

/// Whether the family consented to the contact.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct ConsentRequest {
    pub status: ConsentStatus,
    /// Required unless `status` is `obtained`.
    pub reason_not_sought: Option<ReasonNotSought>,
}

/// Up to 500 contacts, each handled on its own.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct BatchRequest {
    #[oai(validator(min_items = 1, max_items = 500))]
    pub contacts: Vec<NewContactRequest>,
}

impl BodyLimit for NewContactRequest {
    fn limit(settings: &HttpSettings) -> usize {
        settings.max_body_bytes
    }
}

impl BodyLimit for BatchRequest {
    fn limit(settings: &HttpSettings) -> usize {
        settings.max_batch_body_bytes
    }
}

// ---- Responses ----

/// A contact as its submitting agency sees it.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Contact")]
pub struct ContactResponse {
    pub id: uuid::Uuid,
    pub agency_reference: String,
    pub status: ContactStatus,
    pub received_at: DateTime<Utc>,
    /// `red`, `amber` or `green` once triaged.
    #[oai(nullable)]
    pub urgency: Option<String>,
    /// The work queue the contact was routed to.
    #[oai(nullable)]
    pub queue: Option<String>,
    /// When a screening decision is due.
    #[oai(nullable)]
    pub decision_due_at: Option<DateTime<Utc>>,
    /// The urgency decision with its reasons and policy version; absent until triaged.
    /// (Absent rather than null: OpenAPI 3.0 cannot mark a referenced schema nullable.)
    #[oai(skip_serializing_if_is_none)]
    pub classification: Option<ClassificationResponse>,
    /// The screening outcome once decided.
    #[oai(nullable)]
    pub outcome: Option<String>,
    /// What the hub tells the referrer about the outcome, once decided.
    #[oai(skip_serializing_if_is_none)]
    pub feedback: Option<String>,
    /// Staff only: optimistic-concurrency version of the contact.
    #[oai(skip_serializing_if_is_none)]
    pub version: Option<i64>,
    /// Staff only: the agency that sent the contact.
    #[oai(skip_serializing_if_is_none)]
    pub agency: Option<AgencySummary>,
    /// Staff only: the contact as submitted (validated and normalised): people, concerns,
    /// narrative.
    #[oai(skip_serializing_if_is_none)]
    pub submission: Option<serde_json::Value>,
    /// Staff only: what has happened to the contact, oldest first (reads are in the audit trail).
    #[oai(skip_serializing_if_is_none)]
    pub history: Option<Vec<HistoryEntry>>,
    /// Staff only: the children, each with its id (for `/v1/children/{id}/contacts`) and the
    /// earlier contacts it was matched to at intake.
    #[oai(skip_serializing_if_is_none)]
    pub children: Option<Vec<ContactChildResponse>>,
    /// Staff only: the original classification and every re-rating, oldest first.
    #[oai(skip_serializing_if_is_none)]
    pub ratings: Option<Vec<RatingResponse>>,
    /// Staff only: notes, oldest first (never shown to agencies).
    #[oai(skip_serializing_if_is_none)]
    pub notes: Option<Vec<NoteResponse>>,
    /// Staff only: the decision with its rationale.
    #[oai(skip_serializing_if_is_none)]
    pub decision: Option<DecisionResponse>,
    /// Staff only: webhook deliveries about this contact and their status.
    #[oai(skip_serializing_if_is_none)]
    pub deliveries: Option<Vec<DeliveryResponse>>,
}

/// A webhook delivery's status.
#[derive(Debug, Clone, Object)]
pub struct DeliveryResponse {
    /// The `X-Mash-Delivery` id.
    pub id: uuid::Uuid,
    pub event: String,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: String,
    pub attempts: i32,
    #[oai(skip_serializing_if_is_none)]
    pub last_status: Option<i32>,
    #[oai(skip_serializing_if_is_none)]
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A staff note.
#[derive(Debug, Clone, Object)]
pub struct NoteResponse {
    pub id: i64,
    pub staff_id: uuid::Uuid,
    /// `note`, or the reason of an `assignment` or `move`.
    pub kind: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A screening decision as staff see it.
#[derive(Debug, Clone, Object)]
pub struct DecisionResponse {
    pub outcome: String,
    pub rationale: String,
    #[oai(skip_serializing_if_is_none)]
    pub signpost_agency: Option<String>,
    pub feedback: String,
    pub decided_by: uuid::Uuid,
    pub decided_at: DateTime<Utc>,
}

/// A child of a contact, as staff see it.
#[derive(Debug, Clone, Object)]
pub struct ContactChildResponse {
    pub id: uuid::Uuid,
    /// Position in the contact's `children` (0-based).
    pub index: i32,
    /// Earlier contacts about the same child (same NHS number, or same names and date of birth).
    pub matched_contact_ids: Vec<uuid::Uuid>,
}

/// One rating of a contact.
#[derive(Debug, Clone, Object)]
pub struct RatingResponse {
    /// `classification` (the policy, at intake) or `rerate` (a manager).
    pub kind: String,
    pub urgency: String,
    pub queue: String,
    #[oai(skip_serializing_if_is_none)]
    pub previous_urgency: Option<String>,
    /// The manager's written reason (re-ratings).
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    /// `system` for the policy, `staff` for a manager.
    pub actor_kind: String,
    #[oai(skip_serializing_if_is_none)]
    pub actor_id: Option<uuid::Uuid>,
    pub policy_version: String,
    pub at: DateTime<Utc>,
}

impl From<ContactRecord> for ContactResponse {
    fn from(r: ContactRecord) -> Self {
        Self {
            id: r.id.0,
            agency_reference: r.agency_reference,
            status: r.status,
            received_at: r.received_at,
            urgency: r.urgency,
            queue: r.queue,
            decision_due_at: r.decision_due_at,
            classification: r.classification.map(|c| ClassificationResponse::new(c, false)),
            outcome: r.outcome,
            feedback: r.feedback,
            version: None,
            agency: None,
            submission: None,
            history: None,
            children: None,
            ratings: None,
            notes: None,
            decision: None,
            deliveries: None,
        }
    }
}

/// Why a contact got its urgency.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Classification")]
pub struct ClassificationResponse {
    /// `red`, `amber` or `green`.
    pub urgency: String,
    /// The policy that decided: its name plus a hash of its content.
    pub policy_version: String,
    /// Every rule that fired, in the order applied.
    pub reasons: Vec<ClassificationReasonResponse>,
    /// Flags the policy's rules and modifiers added (e.g. for a MARAC referral); staff only, so
    /// always empty in an agency's view.
    pub flags: Vec<String>,
}

/// One rule that fired.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ClassificationReason")]
pub struct ClassificationReasonResponse {
    /// The rule's id in the policy file.
    pub rule: String,
    /// What it did: a level (`red`), a raise (`raise:1`) or a queue (`queue:immediate`).
    pub effect: String,
    /// Why, in words.
    pub explanation: String,
    /// The child it concerns (0-based index into `children`), for rules and modifiers.
    #[oai(skip_serializing_if_is_none)]
    pub child: Option<u32>,
}

impl ClassificationResponse {
    /// `staff` sees every reason; an agency does not see reasons that rest on other contacts
    /// about the child, which may have come from other agencies.
    fn new(c: Classification, staff: bool) -> Self {
        Self {
            urgency: c.urgency,
            policy_version: c.policy_version,
            // Flags are the hub's own markers (e.g. a MARAC referral): staff only.
            flags: if staff { c.flags } else { Vec::new() },
            reasons: c
                .reasons
                .into_iter()
                .filter(|r| staff || !r.uses_other_contacts)
                .map(|r| ClassificationReasonResponse {
                    rule: r.rule,
                    effect: r.effect,
                    explanation: r.explanation,
                    child: r.child.and_then(|c| u32::try_from(c).ok()),
                })
                .collect(),
        }
    }
}

/// The agency that sent a contact.
#[derive(Debug, Clone, Object)]
pub struct AgencySummary {
    pub id: uuid::Uuid,
    pub name: String,
    pub kind: String,
}

/// One change to a contact.
#[derive(Debug, Clone, Object)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    /// e.g. `contact.submitted`.
    pub action: String,
    /// `agency`, `staff` or `system`.
    pub actor_kind: String,
    #[oai(nullable)]
    pub actor_id: Option<uuid::Uuid>,
}

impl ContactResponse {
    /// The staff view: the agency view plus everything staff may see.
    fn for_staff(c: StaffContact) -> Result<Self, ApiError> {
        let submission = serde_json::to_value(&c.submission).map_err(|_| ApiError::internal())?;
        let agency = AgencySummary { id: c.record.agency_id.0, name: c.agency_name, kind: c.agency_kind };
        let version = c.record.version;
        let history = c
            .history
            .into_iter()
            .map(|e| HistoryEntry {
                at: e.occurred_at,
                action: e.action,
                actor_kind: e.actor_kind,
                actor_id: e.actor_id,
            })
            .collect();
        let classification = c.record.classification.clone().map(|cl| ClassificationResponse::new(cl, true));
        let children = c
            .children
            .into_iter()
            .map(|ch| ContactChildResponse {
                id: ch.id.0,
                index: ch.ordinal,
                matched_contact_ids: ch.matched_contact_ids.into_iter().map(|c| c.0).collect(),
            })
            .collect();
        let ratings = c
            .ratings
            .into_iter()
            .map(|r| RatingResponse {
                kind: r.kind,
                urgency: r.urgency,
                queue: r.queue,
                previous_urgency: r.previous_urgency,
                reason: r.reason,
                actor_kind: r.actor_kind,
                actor_id: r.actor_id,
                policy_version: r.policy_version,
                at: r.at,
            })
            .collect();
        Ok(Self {
            version: Some(version),
            agency: Some(agency),
            submission: Some(submission),
            history: Some(history),
            children: Some(children),
            ratings: Some(ratings),
            notes: Some(
                c.notes
                    .into_iter()
                    .map(|n| NoteResponse {
                        id: n.id,
                        staff_id: n.staff_id.0,
                        kind: n.kind,
                        body: n.body,
                        created_at: n.created_at,
                    })
                    .collect(),
            ),
            deliveries: Some(
                c.deliveries
                    .into_iter()
                    .map(|d| DeliveryResponse {
                        id: d.id.0,
                        event: d.event_kind,
                        status: d.status,
                        attempts: d.attempts,
                        last_status: d.last_status,
                        last_error: d.last_error,
                        next_attempt_at: d.next_attempt_at,
                        delivered_at: d.delivered_at,
                    })
                    .collect(),
            ),
            decision: c.decision.map(|d| DecisionResponse {
                outcome: d.outcome,
                rationale: d.rationale,
                signpost_agency: d.signpost_agency,
                feedback: d.feedback,
                decided_by: d.decided_by.0,
                decided_at: d.decided_at,
            }),
            classification,
            ..c.record.into()
        })
    }
}

#[derive(ApiResponse)]
pub enum SubmitResponse {
    /// The contact was stored.
    #[oai(status = 201)]
    Created(Json<ContactResponse>, #[oai(header = "Location")] String),
    /// A retry of an earlier submission with the same body: the stored contact, unchanged.
    #[oai(status = 200)]
    Replayed(Json<ContactResponse>, #[oai(header = "Location")] String),
}

/// One item of a batch's answer.
#[derive(Debug, Object)]
pub struct BatchItemResult {
    /// Position of the contact in the request. Pointers in `problem.errors` are relative to
    /// this item (`/children/0/nhs_number`), as if it had been sent alone.
    pub index: u32,
    /// The status the item would have had on its own: 201, 200, 409, 422, 500 or 503.
    pub status: u16,
    #[oai(skip_serializing_if_is_none)]
    pub contact: Option<ContactResponse>,
    #[oai(skip_serializing_if_is_none)]
    pub problem: Option<Problem>,
}

/// The answer to a batch: one result per contact, in request order.
#[derive(Debug, Object)]
pub struct BatchResponse {
    pub results: Vec<BatchItemResult>,
}

#[derive(ApiResponse)]
pub enum BatchSubmitResponse {
    /// Each contact was handled on its own; see each result's `status`. `Retry-After` is set
    /// when a store was unavailable for some items (their status is 503; resending is safe).
    #[oai(status = 207)]
    MultiStatus(Json<BatchResponse>, #[oai(header = "Retry-After")] Option<String>),
}

#[derive(ApiResponse)]
pub enum GetContactResponse {
    /// The contact: the agency view for its agency, the full view for hub staff (with the
    /// contact's version as `ETag`, for `If-Match` on updates).
    #[oai(status = 200)]
    Ok(Json<ContactResponse>, #[oai(header = "ETag")] Option<String>),
}

/// Contact intake and reading.
pub struct IntakeApi {
    pub state: Arc<AppState>,
}

impl IntakeApi {
    fn today(&self) -> Today {
        Today { date: self.state.clock.today_local(), now: self.state.clock.now() }
    }

    fn location(&self, id: uuid::Uuid) -> String {
        format!("{}/v1/contacts/{id}", self.state.settings.http.public_base_url)
    }

    async fn submit_one(&self, agency: &AgencyPrincipal, contact: &NewContact) -> Result<Submitted, ApiError> {
        Ok(intake::service::submit_contact(&self.state, agency, contact).await?)
    }
}

#[OpenApi(tag = "ApiTags::Contacts")]
impl IntakeApi {
    /// Submit a contact.
    ///
    /// Validates the whole contact and answers 422 listing every field at fault. The same
    /// `agency_reference` with the same body again is a safe retry (200 with the stored contact);
    /// with a different body it is a 409. Agency keys only.
    #[oai(path = "/v1/contacts", method = "post", operation_id = "intake.contact.create")]
    async fn create(&self, auth: BearerKey, body: JsonBody<NewContactRequest>) -> Result<SubmitResponse, SubmitError> {
        let agency = auth.0.require_agency()?;
        let contact = validate::parse_new_contact(&body.value, self.today()).map_err(ApiError::validation)?;
        Ok(match self.submit_one(&agency, &contact).await? {
            Submitted::Created(r) => SubmitResponse::Created(Json(r.clone().into()), self.location(r.id.0)),
            Submitted::Replayed(r) => SubmitResponse::Replayed(Json(r.clone().into()), self.location(r.id.0)),
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
        let items = validate::parse_batch(&body.value, self.today()).map_err(ApiError::validation)?;
        let outcomes = intake::service::submit_batch(&self.state, &agency, items).await;
        let results: Vec<BatchItemResult> =
            outcomes.into_iter().zip(0u32..).map(|(outcome, index)| BatchItemResult::new(index, outcome)).collect();
        // A store that was down for some items: their answer is 503, and resending is safe.
        let retry_after = results.iter().any(|r| r.status == 503).then(|| self.state.retry_after().to_string());
        Ok(BatchSubmitResponse::MultiStatus(Json(BatchResponse { results }), retry_after))
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

impl BatchItemResult {
    /// One item's answer: the status it would have had if sent alone.
    fn new(index: u32, outcome: Result<Submitted, BatchItemError>) -> Self {
        match outcome {
            Ok(Submitted::Created(r)) => Self { index, status: 201, contact: Some(r.into()), problem: None },
            Ok(Submitted::Replayed(r)) => Self { index, status: 200, contact: Some(r.into()), problem: None },
            Err(e) => {
                let e = ApiError::from(e);
                Self { index, status: e.problem.status, contact: None, problem: Some(e.problem) }
            }
        }
    }
}

/// Converts a domain contact to the documented request type; used to check that the schema and
/// the validator agree.
pub fn as_request(contact: &NewContact) -> Option<NewContactRequest> {
    NewContactRequest::parse_from_json(serde_json::to_value(contact).ok()).ok()
}
