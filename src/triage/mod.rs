//! Triage: an explainable urgency and a queue for every contact, from a versioned policy file.
//!
//! The hub's policy (levels, rules, modifiers, routes, narrative signals) is read from
//! [`crate::policy`], which sits below this module.
//!
//! - [`narrative`]: does free text describe an injury to the child (negation, whose injury,
//!   names), with the sentence to read and any doubt.
//! - [`classify`]: the pure engine. Facts in, [`Decision`] out: level, queue, every reason.
//! - [`matching`]: the same child across contacts (NHS number, or normalised names and birth date).
//! - [`service`]: classification inside the intake transaction, re-rating, a child's contacts.
//! - [`explain`]: the decision for a contact file without a database (`policy explain`).
//!
//! Invariants: classification is deterministic (same facts and policy, same decision); with
//! the default policy, adding a concern or a risk fact never lowers the urgency (rules run from
//! the highest level down and every default condition is positive); every decision carries the
//! version of the policy that made it.

pub mod classify;
pub mod explain;
pub mod matching;
pub mod narrative;
pub(crate) mod repo;
pub mod service;
#[cfg(test)]
mod tests;

pub use classify::{ChildFacts, ContactFacts, Decision, Reason, classify};
pub use repo::ChildContact;
pub use service::{Rerated, TriageError};
