//! What `/v1/contacts` answers: the agency and staff views of a contact, and a batch's results.

use chrono::{DateTime, Utc};
use poem_openapi::{ApiResponse, Object, payload::Json};

use crate::{
    api::problem::{ApiError, Problem},
    contact::{
        ContactRecord, StaffContact,
        model::{Classification, ContactStatus, Decision, SentBack},
    },
    intake::{Submitted, service::BatchItemError},
};

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
    /// Staff only: earlier decisions a manager sent back to their author, oldest first.
    #[oai(skip_serializing_if_is_none)]
    pub sent_back: Option<Vec<SentBackResponse>>,
    /// Staff only: a re-referral, because a child of this contact had a contact decided as a
    /// referral (the policy's `referral_outcomes`) within the 12 months before it.
    #[oai(skip_serializing_if_is_none)]
    pub re_referral: Option<bool>,
}

/// A webhook delivery's status.
#[derive(Debug, Clone, Object)]
pub struct DeliveryResponse {
    /// The `X-Mash-Delivery` id.
    pub id: uuid::Uuid,
    pub event: String,
    /// `pending`, `delivered`, `failed` (given up) or `cancelled` (its endpoint was removed).
    /// `last_error` is `http_NNN`, `timeout`, `connect`, `request`, `refused_destination` (the URL
    /// is no longer allowed, see `webhooks.allow_hosts`) or `endpoint_removed`.
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
    /// Why the decision came after the contact's deadline (one of the policy's late reasons).
    #[oai(skip_serializing_if_is_none)]
    pub late_reason: Option<String>,
    /// The sentence the late reason needed, if it needed one.
    #[oai(skip_serializing_if_is_none)]
    pub late_reason_text: Option<String>,
    /// The hub's threshold level the child's needs were judged to be at (absent on decisions
    /// recorded before levels were kept).
    #[oai(skip_serializing_if_is_none)]
    pub threshold_level: Option<String>,
    /// `awaiting` or `authorised` when the policy asks a manager to authorise this decision
    /// (absent when it does not): while `awaiting`, the agency has not been told.
    #[oai(skip_serializing_if_is_none)]
    pub authorisation: Option<String>,
    /// Why it needs authorisation: the policy's `worklist.authorisation` reasons it matched.
    #[oai(skip_serializing_if_is_none)]
    pub authorisation_reasons: Option<Vec<String>>,
    /// The manager who authorised it, and when.
    #[oai(skip_serializing_if_is_none)]
    pub authorised_by: Option<uuid::Uuid>,
    #[oai(skip_serializing_if_is_none)]
    pub authorised_at: Option<DateTime<Utc>>,
}

impl From<Decision> for DecisionResponse {
    fn from(d: Decision) -> Self {
        Self {
            outcome: d.outcome,
            rationale: d.rationale,
            signpost_agency: d.signpost_agency,
            feedback: d.feedback,
            decided_by: d.decided_by.0,
            decided_at: d.decided_at,
            late_reason: d.late_reason,
            late_reason_text: d.late_reason_text,
            threshold_level: d.threshold_level,
            authorisation: d.authorisation,
            authorisation_reasons: d.authorisation_reasons,
            authorised_by: d.authorised_by.map(|s| s.0),
            authorised_at: d.authorised_at,
        }
    }
}

impl From<SentBack> for SentBackResponse {
    fn from(b: SentBack) -> Self {
        Self {
            outcome: b.outcome,
            decided_by: b.decided_by.0,
            decided_at: b.decided_at,
            authorisation_reasons: b.authorisation_reasons,
            sent_back_by: b.sent_back_by.0,
            sent_back_at: b.sent_back_at,
            reason: b.reason,
        }
    }
}

/// A decision a manager sent back to its author.
#[derive(Debug, Clone, Object)]
pub struct SentBackResponse {
    pub outcome: String,
    pub decided_by: uuid::Uuid,
    pub decided_at: DateTime<Utc>,
    pub authorisation_reasons: Vec<String>,
    pub sent_back_by: uuid::Uuid,
    pub sent_back_at: DateTime<Utc>,
    /// The manager's reason, for the author.
    pub reason: String,
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
            sent_back: None,
            re_referral: None,
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
    pub(super) fn for_staff(c: StaffContact) -> Result<Self, ApiError> {
        let submission = serde_json::to_value(&c.submission).map_err(|_| ApiError::internal())?;
        let agency = AgencySummary { id: c.record.agency_id.0, name: c.agency_name, kind: c.agency_kind };
        let re_referral = Some(c.re_referral);
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
            re_referral,
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
            decision: c.decision.map(Into::into),
            sent_back: Some(c.sent_back.into_iter().map(Into::into).collect()),
            classification,
            ..c.record.into()
        })
    }
}

#[derive(ApiResponse)]
pub enum SubmitResponse {
    /// The contact was stored. `Idempotent-Replayed: true` when this repeats an earlier request
    /// with the same `Idempotency-Key` and body (the contact as it is now).
    #[oai(status = 201)]
    Created(
        Json<ContactResponse>,
        #[oai(header = "Location")] String,
        #[oai(header = "Idempotent-Replayed")] Option<String>,
    ),
    /// A retry of an earlier submission with the same body (the same `agency_reference`): the
    /// stored contact, unchanged. `Idempotent-Replayed: true` as for 201.
    #[oai(status = 200)]
    Replayed(
        Json<ContactResponse>,
        #[oai(header = "Location")] String,
        #[oai(header = "Idempotent-Replayed")] Option<String>,
    ),
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

/// A page of the agency's change feed.
#[derive(Debug, Object)]
pub struct ContactFeedPage {
    /// The agency's contacts whose status, outcome, feedback or rating changed after `after`, in
    /// the order of those changes, each once, as it is now (the agency view).
    pub contacts: Vec<ContactResponse>,
    /// Pass as `after` for the next page: the place of the last contact on this page, or the
    /// same `after` again when nothing has changed since. Store it once the page is processed.
    #[oai(skip_serializing_if_is_none)]
    pub next_after: Option<String>,
}

#[derive(ApiResponse)]
pub enum ContactFeedResponse {
    #[oai(status = 200)]
    Ok(Json<ContactFeedPage>),
}

#[derive(ApiResponse)]
pub enum GetContactResponse {
    /// The contact: the agency view for its agency, the full view for hub staff (with the
    /// contact's version as `ETag`, for `If-Match` on updates).
    #[oai(status = 200)]
    Ok(Json<ContactResponse>, #[oai(header = "ETag")] Option<String>),
}

impl BatchItemResult {
    /// One item's answer: the status it would have had if sent alone.
    pub(super) fn new(index: u32, outcome: Result<Submitted, BatchItemError>) -> Self {
        match outcome {
            Ok(submitted) => {
                let status = submitted.status();
                Self { index, status, contact: Some(submitted.record().clone().into()), problem: None }
            }
            Err(e) => {
                let e = ApiError::from(e);
                Self { index, status: e.problem.status, contact: None, problem: Some(e.problem) }
            }
        }
    }
}
