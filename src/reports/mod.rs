//! Management information: the timeliness and outcomes reports, and Ofsted's Annex A list of
//! contacts. Every figure is computed here, once, from the system of record (the API's JSON and
//! CSV are two spellings of the same structures), and each is defined in `docs/REPORTS.md` in
//! terms of the audit trail it can be reproduced from.
//!
//! Invariants:
//! - A report's cohort is the contacts *received* in its period (the hub's local days, both
//!   ends included), narrowed by its filters; a contact's later history (its decision, its
//!   feedback) counts with the period it was received in, so a report for a past month does not
//!   change except as its open contacts are decided.
//! - "Now" (ages, "past deadline") is the report's `as_at`, from the injected clock.
//! - Reports hold counts and ids of agencies only, never a child's details; the Annex A export is
//!   the one exception, by Ofsted's design, and is audited like a read of case data.

pub mod model;
mod repo;
pub mod service;

pub use model::{Bound, Outcomes, Period, ReportFilter, ReportLine, Timeliness};
pub use service::ReportError;
