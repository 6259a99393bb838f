//! The hub's worklist: queues in working order, claims that are leases, release and renewal,
//! assignment and moves by managers, staff notes, and screening decisions.
//!
//! Invariants:
//! - A contact has at most one live claim (`claims` is keyed by contact), and a claim is taken
//!   with `FOR NO KEY UPDATE SKIP LOCKED`, so two practitioners never get the same contact.
//! - An expired claim returns the contact to its queue; the worker does it and audits it.
//! - Only the claim holder or a manager decides; a decision stops the decision clock (its
//!   pending ladder steps are cancelled) and starts the referrer-feedback clock, in one
//!   transaction. A decision the policy asks a manager to authorise starts the authorisation
//!   clock instead, and the referrer hears nothing until a manager other than its author
//!   authorises it (or sends it back, which resumes the decision clock).
//! - Updates honour `If-Match` (the contact's version): a stale update is refused, never lost.
//! - Notes and rationales are staff-only; the audit trail records ids, never their text.

pub mod repo;
pub mod service;

pub use service::{Claimed, DecisionInput, WorklistError};
