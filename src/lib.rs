//! mash-triage: the front door of a Multi-Agency Safeguarding Hub.
//!
//! Module map (see `ARCHITECTURE.md` for the path of a contact and the invariants):
//! - [`app`]: the run root: starts HTTP and the background loops a process's role needs; shutdown.
//! - [`state`]: the service context every service takes (pool, Redis, clock, policy, settings).
//! - [`config`]: typed, validated settings from `config/default.toml` and the environment.
//! - [`telemetry`]: logs and traces; ids only, never personal data.
//! - [`clock`]: the injectable source of time.
//! - [`id`]: typed identifiers.
//! - [`egress`]: where webhooks may go (public HTTPS, or `webhooks.allow_hosts`): no SSRF.
//! - [`ratelimit`]: requests per key and per address, shared through Redis, per-process fallback.
//! - [`db`], [`redis_store`]: connection pools and store-level error classification.
//! - [`api`]: the only module that knows about HTTP (poem / poem-openapi).
//! - [`auth`]: agencies, staff, API keys, principals and roles.
//! - [`contact`]: the contact's table, status, `If-Match` precondition and case file.
//! - [`intake`]: validating, de-duplicating and storing contacts.
//! - [`audit`]: the append-only audit trail.
//! - [`worktime`]: working-time calendar, clock budgets, deadlines (pure maths).
//! - [`clocks`]: clocks on contacts, the escalation ladder and its Redis index.
//! - [`vocabulary`]: the contract's closed sets of names (agency kinds, concerns, DASH risk, ...).
//! - [`policy`]: the hub's versioned policy file: levels, rules, queues, timescales, ladder, outcomes.
//! - [`triage`]: urgency, reasons and queue from the policy.
//! - [`outbox`]: webhook endpoints, and deliveries queued in the transaction of their event.
//! - [`webhook`]: signed, retried sending of the outbox; a delivered decision stops the feedback clock.
//! - [`worklist`]: queues, claims, notes and decisions.
//! - [`demo`]: demo agencies and staff for `make run`.

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod clock;
pub mod clocks;
pub mod config;
pub mod console;
pub mod contact;
pub mod db;
pub mod demo;
pub mod egress;
pub mod id;
pub mod intake;
pub mod metrics;
pub mod monitoring;
pub mod outbox;
pub mod policy;
pub mod ratelimit;
pub mod redis_store;
pub mod reports;
pub mod sandbox;
pub mod state;
pub mod telemetry;
pub mod triage;
pub mod vocabulary;
pub mod webhook;
pub mod worklist;
pub mod worktime;
