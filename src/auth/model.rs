//! Principals, roles and agency kinds.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr, VariantArray, VariantNames};

use crate::id::{AgencyId, ApiKeyId, StaffId};
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
