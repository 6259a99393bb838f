//! Sending the webhook outbox by the Standard Webhooks specification: each queued delivery is
//! signed, sent, retried on a three-day schedule and recorded; a delivered decision stops the referrer-feedback clock.
//!
//! Invariants:
//! - Sending happens outside any transaction; a delivery is leased while it is sent, and its id
//!   is stable across retries, so a receiver de-duplicates on it.
//! - A delivered decision stops the referrer-feedback clock, in the transaction that marks it
//!   delivered.
//! - Secrets sign; they are never logged.

pub mod service;

pub use service::{WebhookError, sign, standard_signature};
