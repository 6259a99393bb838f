//! Intake: a partner's contact is validated, de-duplicated on its agency reference, and stored
//! with its audit record in one transaction.
//!
//! - [`walker`]: the generic reader of a JSON body that collects every problem with its pointer.
//! - [`validate`]: the contact rules, on the walker.
//! - [`identifiers`]: NHS numbers and UPNs. [`model`]: the contact. [`service`]: submit,
//!   replay, read; `repo`: its SQL.
//!
//! Invariants:
//! - One contact per `(agency, agency_reference)`, enforced by a unique constraint, so racing
//!   retries cannot make two. The same normalised body again is a replay (the stored contact is
//!   returned); a different body is a conflict.
//! - Nothing is half-written: the contact and its `contact.submitted` audit event commit
//!   together or not at all.
//! - An `Idempotency-Key` is recorded in the transaction that stores (or finds) its contact, and
//!   a second request with the key while the first is in flight is refused, never run twice.
//! - The contact is stored through [`crate::contact`], which owns the table; triage and the
//!   decision clock run inside the same transaction, so no contact is stored unclassified.

pub mod identifiers;
pub mod model;
mod repo;
pub mod service;
#[cfg(test)]
mod triage_cases;
pub mod validate;
pub mod walker;

pub use model::Submitted;
pub use service::IntakeError;
pub use validate::Today;
pub use walker::FieldError;
