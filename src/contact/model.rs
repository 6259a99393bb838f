//! A contact as submitted (after validation and normalisation), as stored, and as staff see it
//! (the case file), plus its status and the `If-Match` precondition every update honours.
//!
//! These types are the domain's; the HTTP schema in `api` mirrors their field names exactly
//! (API.md fixes them), and a test round-trips one through the other.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::vocabulary::wire_enum;
pub use crate::vocabulary::{
    Concern, ConsentStatus, DashRisk, Ethnicity, Gender, HealthSetting, ReasonNotSought, Relationship,
};

use crate::id::{AgencyId, ChildId, ContactId, DeliveryId, StaffId};

wire_enum!(
    /// Where a contact is in its life. `awaiting_authorisation` is the hub's own: a decision a
    /// manager must authorise is waiting, and its agency is still shown `in_screening`.
    ContactStatus { AwaitingScreening, InScreening, AwaitingAuthorisation, Decided, Closed }
);

/// A validated, normalised contact ready to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewContact {
    pub agency_reference: String,
    pub referrer: Referrer,
    pub children: Vec<Child>,
    pub adults: Vec<Adult>,
    /// Distinct, in the order first given.
    pub concerns: Vec<Concern>,
    pub injury: Option<Injury>,
    pub disclosure_made: bool,
    pub immediate_risk: bool,
    pub narrative: String,
    pub incident_at: Option<DateTime<Utc>>,
    pub police: Option<PoliceDetails>,
    pub health: Option<HealthDetails>,
    pub school: Option<SchoolDetails>,
    pub consent: Consent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Referrer {
    pub name: String,
    pub role: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub anonymity_requested: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Child {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    /// For an unborn child, in place of `date_of_birth`.
    pub expected_date_of_birth: Option<NaiveDate>,
    pub gender: Option<Gender>,
    /// The `DfE` census code (for Ofsted's Annex A); absent on contacts stored before it existed.
    #[serde(default)]
    pub ethnicity: Option<Ethnicity>,
    /// Ten digits, check digit verified.
    pub nhs_number: Option<String>,
    /// Upper case, check letter verified.
    pub upn: Option<String>,
    pub non_mobile: Option<bool>,
    pub address: Option<Address>,
    /// The school the child attends, by name.
    pub school: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub town: Option<String>,
    pub postcode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adult {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub relationship: Option<Relationship>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Injury {
    pub observed: Option<bool>,
    pub description: Option<String>,
    pub non_accidental_suspected: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoliceDetails {
    pub dash_risk: Option<DashRisk>,
    pub child_present: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthDetails {
    pub setting: Option<HealthSetting>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchoolDetails {
    /// The school's six-digit unique reference number.
    pub urn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    pub status: ConsentStatus,
    pub reason_not_sought: Option<ReasonNotSought>,
}

/// Why a contact got its urgency: filled in by triage, with the policy version that decided it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub urgency: String,
    pub policy_version: String,
    pub reasons: Vec<ClassificationReason>,
    #[serde(default)]
    pub flags: Vec<String>,
}

/// One rule that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReason {
    pub rule: String,
    pub effect: String,
    pub explanation: String,
    /// The child it concerns (0-based), for rules and modifiers.
    #[serde(default)]
    pub child: Option<usize>,
    /// Rests on other contacts about the child: shown to hub staff only.
    #[serde(default)]
    pub uses_other_contacts: bool,
}

/// A stored contact: what every view is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactRecord {
    pub id: ContactId,
    pub agency_id: AgencyId,
    pub agency_reference: String,
    pub status: ContactStatus,
    pub received_at: DateTime<Utc>,
    pub urgency: Option<String>,
    pub queue: Option<String>,
    pub decision_due_at: Option<DateTime<Utc>>,
    pub classification: Option<Classification>,
    pub outcome: Option<String>,
    /// The text written for the referrer with the decision.
    pub feedback: Option<String>,
    pub version: i64,
}

/// A stored contact with everything hub staff may see.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffContact {
    pub record: ContactRecord,
    pub agency_name: String,
    pub agency_kind: String,
    /// A child of the contact had a contact decided as a referral within the 12 months before
    /// it (the Department for Education's re-referral). Staff only.
    pub re_referral: bool,
    pub submission: NewContact,
    pub history: Vec<crate::audit::AuditEvent>,
    /// The children with their ids and the earlier contacts each was matched to.
    pub children: Vec<CaseChild>,
    /// The original classification and every re-rating, oldest first.
    pub ratings: Vec<Rating>,
    /// Staff notes, oldest first (never shown to agencies).
    pub notes: Vec<Note>,
    /// The screening decision, once made.
    pub decision: Option<Decision>,
    /// Earlier decisions a manager sent back, oldest first.
    pub sent_back: Vec<SentBack>,
    /// Webhook deliveries about this contact and their status.
    pub deliveries: Vec<DeliveryStatus>,
}

/// One stored rating.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Rating {
    pub kind: String,
    pub urgency: String,
    pub queue: String,
    pub previous_urgency: Option<String>,
    pub reason: Option<String>,
    pub actor_kind: String,
    pub actor_id: Option<uuid::Uuid>,
    pub policy_version: String,
    pub at: DateTime<Utc>,
}

/// A child of a contact, with the earlier contacts it was matched to at intake.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CaseChild {
    pub id: ChildId,
    pub ordinal: i32,
    pub matched_contact_ids: Vec<ContactId>,
}

/// A staff note.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Note {
    pub id: i64,
    pub staff_id: StaffId,
    pub kind: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A recorded decision.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Decision {
    pub outcome: String,
    pub rationale: String,
    pub signpost_agency: Option<String>,
    pub feedback: String,
    pub decided_by: StaffId,
    pub decided_at: DateTime<Utc>,
    /// Why it came after the contact's deadline (one of the policy's late reasons), and the
    /// sentence some reasons need.
    pub late_reason: Option<String>,
    pub late_reason_text: Option<String>,
    /// The policy's threshold level the screener judged the child's needs to be at.
    pub threshold_level: Option<String>,
    /// `awaiting` or `authorised` when the policy asks a manager to authorise the decision
    /// (`None` when it does not), why, and who authorised it when.
    #[sqlx(default)]
    pub authorisation: Option<String>,
    #[sqlx(default)]
    pub authorisation_reasons: Option<Vec<String>>,
    #[sqlx(default)]
    pub authorised_by: Option<StaffId>,
    #[sqlx(default)]
    pub authorised_at: Option<DateTime<Utc>>,
}

/// A decision a manager sent back, with why.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SentBack {
    pub outcome: String,
    pub decided_by: StaffId,
    pub decided_at: DateTime<Utc>,
    pub authorisation_reasons: Vec<String>,
    pub sent_back_by: StaffId,
    pub sent_back_at: DateTime<Utc>,
    pub reason: String,
}

/// A delivery as staff see it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeliveryStatus {
    pub id: DeliveryId,
    pub event_kind: String,
    pub status: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl TryFrom<String> for ContactStatus {
    type Error = strum::ParseError;

    /// The status as stored (`contacts.status`), for rows that decode it at the repo boundary.
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl ContactStatus {
    /// Whether the contact has been decided (or closed, or its decision awaits authorisation):
    /// no claim, re-rating or decision may change it any more (a decision sent back reopens it).
    pub fn is_decided(self) -> bool {
        matches!(self, Self::AwaitingAuthorisation | Self::Decided | Self::Closed)
    }
}

/// The `If-Match` precondition of an update: the contact's version the caller read, or any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: whatever version the contact is at.
    Any,
    /// The version the caller read (its `ETag`).
    Version(i64),
}

impl IfMatch {
    /// Parses an `If-Match` header value: `*`, or a version as `"3"`, `W/"3"` or `3`. An
    /// unreadable tag matches no version (so it fails as stale, never as "any").
    pub fn parse(header: &str) -> Self {
        match header.trim() {
            "*" => Self::Any,
            tag => Self::Version(tag.trim_start_matches("W/").trim_matches('"').parse().unwrap_or(-1)),
        }
    }

    /// Whether a contact at version `current` satisfies the precondition.
    pub fn matches(self, current: i64) -> bool {
        match self {
            Self::Any => true,
            Self::Version(v) => v == current,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_reads_star_quoted_weak_and_bare_versions() {
        assert_eq!(IfMatch::parse("*"), IfMatch::Any);
        assert_eq!(IfMatch::parse("\"3\""), IfMatch::Version(3));
        assert_eq!(IfMatch::parse("W/\"3\""), IfMatch::Version(3));
        assert_eq!(IfMatch::parse(" 7 "), IfMatch::Version(7));
        assert!(!IfMatch::parse("\"abc\"").matches(-2), "garbage matches nothing real");
        assert!(IfMatch::parse("\"abc\"") != IfMatch::Any);
        assert!(IfMatch::Any.matches(41) && IfMatch::Version(4).matches(4) && !IfMatch::Version(4).matches(5));
    }
}
