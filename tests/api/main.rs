//! The one integration-test binary: the real app on port 0, a fresh PostgreSQL database and a
//! fresh Redis key prefix per test, and a manual clock.
//!
//! Needs `MASH_TEST_PG_ADMIN_URL` (a superuser URL; default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and `MASH_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`). `make test` sets both.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers report failure by panicking")]
#![allow(clippy::too_many_lines, reason = "a test is one scenario, read top to bottom")]

mod architecture;
mod audit;
mod cli;
mod client;
mod clocks;
mod console;
mod feed;
mod fixtures;
mod health;
mod helpers;
mod hostile;
mod idempotency;
mod intake;
mod keys;
mod limits;
mod monitoring;
mod openapi;
mod privacy;
mod reports;
mod resilience;
mod sandbox;
mod triage;
mod webhooks;
mod worklist;
