//! Principals, roles and agency kinds, and keys as an operator lists them (never the secret).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr, VariantArray, VariantNames};

use crate::id::{AgencyId, ApiKeyId, ContactId, StaffId};
pub use crate::vocabulary::AgencyKind;

/// A hub staff role. Each staff key carries exactly one.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    IntoStaticStr,
    VariantArray,
    VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// Screens contacts from the queues.
    Practitioner,
    /// Re-rates, assigns, pauses clocks, watches escalations.
    Manager,
    /// Reads the audit trail.
    Auditor,
    /// Manages agencies, keys and configuration; does not read case data.
    Admin,
}

impl Role {
    /// Roles that read case data (admins manage the service, not cases).
    pub const CASE_READERS: &'static [Role] = &[Role::Practitioner, Role::Manager, Role::Auditor];
    /// Roles that work contacts: claim, note, decide.
    pub const CASEWORKERS: &'static [Role] = &[Role::Practitioner, Role::Manager];
}

/// An authenticated agency client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgencyPrincipal {
    pub agency_id: AgencyId,
    pub kind: AgencyKind,
    pub key_id: ApiKeyId,
}

/// An authenticated hub staff member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffPrincipal {
    pub staff_id: StaffId,
    pub role: Role,
    pub key_id: ApiKeyId,
}

/// Whoever presented a valid API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    Agency(AgencyPrincipal),
    Staff(StaffPrincipal),
}

/// Which agencies' contacts a query may see. Every repository function over case data takes one,
/// so a query cannot forget the tenancy check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgencyScope {
    /// Only this agency's own contacts.
    Own(AgencyId),
    /// Every agency's contacts (hub staff).
    AllAgencies,
}

impl AgencyScope {
    /// The agency filter for SQL: `None` means no filter.
    pub fn agency_filter(self) -> Option<AgencyId> {
        match self {
            Self::Own(id) => Some(id),
            Self::AllAgencies => None,
        }
    }
}

/// Whom a key identifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOwner {
    /// A partner agency's client. The name is the organisation's, not a person's.
    Agency { id: AgencyId, name: String },
    /// A member of hub staff, named by id and role only (a listing needs no more).
    Staff { id: StaffId, role: Role },
}

/// Whether a key lets its holder in now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Display, IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum KeyStatus {
    /// It authenticates.
    Live,
    /// Its `expires_at` has passed.
    Expired,
    /// It was revoked (directly, by a rotation without grace, or with its staff member).
    Revoked,
    /// Its staff member was deactivated.
    StaffDeactivated,
}

/// A key as an operator sees it: never the secret or its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySummary {
    pub id: ApiKeyId,
    pub owner: KeyOwner,
    pub created_at: DateTime<Utc>,
    /// The last instant it works; `None`: until revoked.
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub status: KeyStatus,
}

/// A key replaced by [`super::service::rotate_key`].
#[derive(Debug)]
pub struct RotatedKey {
    /// The new key, shown once.
    pub new: super::IssuedKey,
    /// When the old key stops working (now, for a rotation without grace).
    pub old_stops_at: DateTime<Utc>,
}

/// What deactivating a member of staff changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeactivatedStaff {
    /// Their keys that were live or in a grace period, now revoked.
    pub revoked_keys: Vec<ApiKeyId>,
    /// Contacts they held: the leases end now, so anyone may claim them and the claim-expiry
    /// round returns them to their queues.
    pub ended_claims: Vec<ContactId>,
}
