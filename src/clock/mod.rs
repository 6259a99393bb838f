//! The injectable source of time.
//!
//! Domain code never calls `Utc::now()` directly: it asks a [`Clock`], so tests can freeze time or
//! run a day of clocks in a second with [`ManualClock`]. Serving and workers use
//! [`authority::AlignedClock`], aligned to PostgreSQL's clock so every replica agrees on what is due.

pub mod authority;
mod repo;

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Europe::London;

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// The hub's own time, never moved: equal to [`Clock::now`] except in a sandbox, where `now`
    /// is the test clock of the agency whose work is being done. What leaves the hub to be
    /// compared with another machine's clock (a webhook's timestamp) uses this.
    fn wall(&self) -> DateTime<Utc> {
        self.now()
    }

    /// Today's date in the hub's timezone (Europe/London), used for date-of-birth checks.
    fn today_local(&self) -> NaiveDate {
        self.now().with_timezone(&London).date_naive()
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

tokio::task_local! {
    /// How far the current task's agency's sandbox test clock is ahead of the hub's.
    static SANDBOX_OFFSET: TimeDelta;
}

/// Runs `work` on the test clock of a sandbox agency that is `offset` ahead: every
/// [`SandboxClock`] reading within it (the task's own, not tasks it spawns) is moved on by
/// `offset`.
pub async fn with_offset<F: Future>(offset: TimeDelta, work: F) -> F::Output {
    SANDBOX_OFFSET.scope(offset, work).await
}

/// A sandbox deployment's clock: the hub's clock, moved on by the test-clock offset of the
/// agency whose work the current task is doing (see [`with_offset`]); the hub's own time
/// elsewhere. Each agency's time only ever moves forward.
pub struct SandboxClock {
    inner: SharedClock,
}

impl SandboxClock {
    /// A sandbox clock over the hub's clock.
    pub fn new(inner: SharedClock) -> Self {
        Self { inner }
    }
}

impl Clock for SandboxClock {
    fn now(&self) -> DateTime<Utc> {
        self.inner.now() + SANDBOX_OFFSET.try_with(|o| *o).unwrap_or_else(|_| TimeDelta::zero())
    }

    fn wall(&self) -> DateTime<Utc> {
        self.inner.wall()
    }
}

/// A clock that moves only when told to; for tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    /// Added after every reading, so successive events are strictly ordered (zero: frozen).
    step: TimeDelta,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { now: Mutex::new(start), step: TimeDelta::zero() }
    }

    /// A clock that moves on by `step` after every reading, like real time but repeatable.
    pub fn ticking(start: DateTime<Utc>, step: TimeDelta) -> Self {
        Self { now: Mutex::new(start), step }
    }

    /// Moves the clock to `instant`.
    pub fn set(&self, instant: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = instant;
    }

    /// Moves the clock forward by `delta`.
    pub fn advance(&self, delta: TimeDelta) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += delta;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        let reading = *now;
        *now += self.step;
        reading
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = Utc.with_ymd_and_hms(2026, 3, 29, 0, 30, 0).unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(TimeDelta::hours(1));
        assert_eq!(clock.now(), start + TimeDelta::hours(1));
    }

    #[tokio::test]
    async fn a_sandbox_clock_is_moved_on_only_within_its_agencys_scope() {
        let start = Utc.with_ymd_and_hms(2026, 12, 4, 9, 0, 0).unwrap();
        let clock = SandboxClock::new(Arc::new(ManualClock::new(start)));
        assert_eq!(clock.now(), start);
        let moved = with_offset(TimeDelta::days(3), async { (clock.now(), clock.wall()) }).await;
        assert_eq!(moved, (start + TimeDelta::days(3), start));
        assert_eq!(clock.now(), start, "outside the scope the hub's time again");
    }

    #[test]
    fn today_local_uses_london_not_utc() {
        // 23:30 UTC on 1 July is 00:30 BST on 2 July.
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 7, 1, 23, 30, 0).unwrap());
        assert_eq!(clock.today_local(), NaiveDate::from_ymd_opt(2026, 7, 2).unwrap());
    }
}
