//! Who is calling: agencies, hub staff, their API keys, and the roles every route checks.
//!
//! Invariants:
//! - A key is 192 random bits shown once at creation; only its SHA-256 hash is stored.
//! - A key belongs to exactly one agency client or one staff member (a database constraint).
//! - Agencies act only within their own [`AgencyScope`]; another agency's data is "not found".
//! - A key lets its holder in only while live: not revoked, not expired, staff not deactivated.
//!   Authentication reads that from PostgreSQL on every request (no cache), so ending a key
//!   takes effect on every replica at once. Every lifecycle change is audited.

pub mod model;
mod repo;
pub mod service;
pub mod session;

pub use model::{
    AgencyKind, AgencyPrincipal, AgencyScope, DeactivatedStaff, KeyOwner, KeyStatus, KeySummary, Principal, Role,
    RotatedKey, StaffPrincipal,
};
pub use service::{AuthError, IssuedKey};
