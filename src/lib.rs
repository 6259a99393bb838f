//! mash-triage: the front door of a Multi-Agency Safeguarding Hub.
//!
//! Module map (see `ARCHITECTURE.md` for the path of a contact and the invariants):
//! - [`app`]: composition root: state, HTTP server, shutdown.
//! - [`config`]: typed, validated settings from `config/default.toml` and the environment.
//! - [`telemetry`]: logs and traces; ids only, never personal data.
//! - [`clock`]: the injectable source of time.
//! - [`id`]: typed identifiers.
//! - [`db`], [`redis_store`]: connection pools and store-level error classification.
//! - [`api`]: the only module that knows about HTTP (poem / poem-openapi).
//! - [`auth`]: agencies, staff, API keys, principals and roles.
//! - [`intake`]: validating, de-duplicating and storing contacts.
//! - [`audit`]: the append-only audit trail.
//! - [`sla`]: working-time calendar, clock budgets, deadlines.
//! - [`triage`]: urgency, reasons and queue from the versioned policy file.
//! - [`webhook`]: signed, retried delivery of the outbox to agencies and hub endpoints.
//! - [`worklist`]: queues, claims, notes and decisions.
//! - [`demo`]: demo agencies and staff for `make run`.

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod id;
pub mod intake;
pub mod redis_store;
pub mod sla;
pub mod telemetry;
pub mod triage;
pub mod webhook;
pub mod worklist;
