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

/// Samples per measurement; the one with the shortest round trip wins.
const SAMPLES: usize = 3;
/// How often the offset is measured again.
const REALIGN_EVERY: Duration = Duration::from_mins(1);

/// The local clock, corrected to the database server's.
#[derive(Debug, Default)]
pub struct AlignedClock {
    offset_micros: AtomicI64,
}

impl AlignedClock {
    /// Measures the offset to the database's clock: the best of a few samples, each timed on an
    /// already-open connection, so neither connecting nor waiting for the pool skews it.
    pub async fn align(&self, db: &PgPool) -> Result<TimeDelta, sqlx::Error> {
        let mut conn = db.acquire().await?;
        let mut best: Option<(TimeDelta, TimeDelta)> = None;
        for _ in 0..SAMPLES {
            let before = Utc::now();
            let server = super::repo::database_now(&mut conn).await?;
            let after = Utc::now();
            let round_trip = after - before;
            let offset = server - (before + round_trip / 2);
            if best.is_none_or(|(rt, _)| round_trip < rt) {
                best = Some((round_trip, offset));
            }
        }
        let offset = best.map_or(TimeDelta::zero(), |(_, o)| o);
        self.offset_micros.store(offset.num_microseconds().unwrap_or(0), Ordering::Relaxed);
        Ok(offset)
    }

    /// The current correction.
    pub fn offset(&self) -> TimeDelta {
        TimeDelta::microseconds(self.offset_micros.load(Ordering::Relaxed))
    }

    /// Measures once before the process starts serving or firing, waiting at most a few seconds:
    /// with the database down, the local clock stands in until the first measurement succeeds.
    pub async fn align_at_start(&self, db: &PgPool) {
        match tokio::time::timeout(Duration::from_secs(5), self.align(db)).await {
            Ok(Ok(offset)) => tracing::info!(offset_ms = offset.num_milliseconds(), "aligned with the database clock"),
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "could not read the database clock; using the local clock for now");
            }
            Err(_) => tracing::warn!("the database clock did not answer in time; using the local clock for now"),
        }
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
