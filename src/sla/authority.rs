//! The one time authority: PostgreSQL's clock.
//!
//! Every replica's [`AlignedClock`] reads the local clock plus an offset measured against the
//! database server's `now()` (half the round trip corrected), re-measured every minute. So all
//! workers agree on when a step is due, within a few milliseconds, however the machines' clocks
//! drift; and tests replace the whole thing with a manual clock.

use std::{
    sync::Arc,
    sync::atomic::{AtomicI64, Ordering},
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;

/// How often the offset is measured again.
const REALIGN_EVERY: Duration = Duration::from_mins(1);

/// The local clock, corrected to the database server's.
#[derive(Debug, Default)]
pub struct AlignedClock {
    offset_micros: AtomicI64,
}

impl AlignedClock {
    /// Measures the offset to the database's clock once.
    pub async fn align(&self, db: &PgPool) -> Result<TimeDelta, sqlx::Error> {
        let before = Utc::now();
        let server = super::repo::database_now(db).await?;
        let after = Utc::now();
        let local = before + (after - before) / 2;
        let offset = server - local;
        self.offset_micros.store(offset.num_microseconds().unwrap_or(0), Ordering::Relaxed);
        Ok(offset)
    }

    /// The current correction.
    pub fn offset(&self) -> TimeDelta {
        TimeDelta::microseconds(self.offset_micros.load(Ordering::Relaxed))
    }

    /// Keeps the offset current until `shutdown`; a failed measurement keeps the last offset.
    pub async fn keep_aligned(self: Arc<Self>, db: PgPool, shutdown: CancellationToken) {
        loop {
            match self.align(&db).await {
                Ok(offset) => tracing::debug!(offset_ms = offset.num_milliseconds(), "aligned with the database clock"),
                Err(err) => tracing::warn!(error = %err, "could not read the database clock; keeping the last offset"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(REALIGN_EVERY) => {}
            }
        }
    }
}

impl Clock for AlignedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset()
    }
}
