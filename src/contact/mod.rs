//! The contact: its table, its status, and its case file.
//!
//! Owns the `contacts` table: [`repo`] is the only code that writes it (intake inserts through
//! it; triage sets the rating, the clocks the decision deadline and the escalation marker, the
//! worklist the status and outcome, each through a function here). Its [`model`] holds the
//! submission ([`NewContact`]), the stored record ([`ContactRecord`]), the [`ContactStatus`]
//! enum, the [`IfMatch`] precondition of every update, and the case file staff read
//! ([`StaffContact`]), which [`service`] assembles in one transaction with its audit record.
//!
//! Invariants:
//! - Every lookup of a contact takes an [`AgencyScope`](crate::auth::AgencyScope): an agency
//!   sees its own contacts only, and another agency's is "not found".
//! - Every read of a contact, by an agency or by staff, is audited in the read's transaction.
//!
//! It sits below triage, the clocks, the worklist and the webhooks, which change a contact
//! through it; the case file reads their tables directly (a read model), so it depends on none
//! of them.

pub mod model;
pub(crate) mod repo;
pub mod service;

pub use model::{
    CaseChild, Classification, ClassificationReason, ContactRecord, ContactStatus, Decision, DeliveryStatus, IfMatch,
    NewContact, Note, Rating, StaffContact,
};
pub use repo::{FeedFilter, FeedItem};
pub use service::ContactError;
