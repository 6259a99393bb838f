//! The webhook outbox: endpoints (an agency's, for decisions on its contacts; the hub's, for
//! ladder notifications) and the deliveries queued to them.
//!
//! Owns the `webhook_endpoints` and `deliveries` tables.
//!
//! Invariants:
//! - A delivery is queued in the same transaction as its event (decision or ladder step), so
//!   nothing is announced that did not happen and nothing that happened is forgotten.
//! - Secrets are stored to sign with and are never logged; the API shows a secret only once,
//!   when the hub generated it.
//!
//! This module sits below the clocks and the worklist, which queue into it; sending is
//! [`crate::webhook`], which sits above the clocks because a delivered decision stops the
//! referrer-feedback clock.

pub mod repo;
pub mod secret;
pub mod service;

pub use repo::{DeliveryFilter, DeliveryRow, DueDelivery, EndpointRow};
pub use service::OutboxError;
