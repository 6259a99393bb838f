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

    #[test]
    fn today_local_uses_london_not_utc() {
        // 23:30 UTC on 1 July is 00:30 BST on 2 July.
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 7, 1, 23, 30, 0).unwrap());
        assert_eq!(clock.today_local(), NaiveDate::from_ymd_opt(2026, 7, 2).unwrap());
    }
}
