//! The sandbox: a deployment where partners see the whole life of a contact in minutes.
//!
//! With `sandbox.enabled`, each agency has a test clock (Stripe's test clocks are the model): its
//! time is the hub's plus an offset that only grows, moved by `POST /v1/sandbox/clock`. Work done
//! for the agency (its own requests, its sandbox staff keys' requests, staff requests about one
//! of its contacts, and the background rounds for its contacts) runs on that clock through
//! [`crate::clock::SandboxClock`]: due ladder steps, feedback clocks and webhook retries happen as
//! if the time had passed, in working time and with bank holidays, because they are the same
//! code reading a later "now".
//!
//! Owns the `sandbox_clocks`, `sandbox_staff` and `deployment` tables.
//!
//! Invariants:
//! - A sandbox never runs on a database that holds live data, and a live process never runs on
//!   a sandbox's database (the `deployment` mark, checked at start).
//! - A test clock never moves back.
//! - In production the endpoints answer 404 and no clock can be moved: the process's clock is
//!   the aligned one, with no offsets.
//! - What leaves the hub to be checked against another machine's clock (a webhook's
//!   `webhook-timestamp`) keeps the wall clock.

pub(crate) mod repo;
pub mod service;

pub use service::{Advanced, SandboxError};
