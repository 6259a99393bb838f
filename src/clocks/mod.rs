//! Service-level clocks on contacts and their escalation ladder.
//!
//! Owns the `clocks`, `clock_segments`, `ladder_steps`, `breaches` and `events` tables, and the
//! Redis due index (`timer`). A clock is a list of running and paused segments; its deadline and
//! every ladder step's due time are re-derived from them with [`crate::worktime`] under the
//! policy's budgets.
//!
//! - [`service`]: start, re-level, pause, resume and stop a clock (each in a transaction with its
//!   audit record); read clocks and the events outbox.
//! - [`timer`]: the Redis sorted-set index of pending steps, leased claims, and the re-seed.
//! - [`worker`]: fire due steps exactly once (the PostgreSQL guard), from the index or by sweeping
//!   PostgreSQL when the index is behind or down.

pub mod repo;
pub mod service;
pub mod timer;
pub mod worker;
