//! Webhooks: agencies' endpoints for decisions (feedback to the referrer) and hub endpoints for
//! staff notifications, delivered from the events outbox, signed, retried, and visible.
//!
//! Invariants:
//! - A delivery is queued in the same transaction as its event (decision or ladder step), so
//!   nothing is announced that did not happen and nothing that happened is forgotten.
//! - Sending happens outside any transaction; a delivery is leased while it is sent, and its id
//!   is stable across retries, so a receiver de-duplicates on it.
//! - A delivered decision stops the referrer-feedback clock; so does staff recording that the
//!   referrer was told another way.
//! - Secrets are stored to sign with and are never returned by the API or logged.

pub mod repo;
pub mod service;

pub use service::{WebhookError, sign};
