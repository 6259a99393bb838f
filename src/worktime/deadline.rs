//! Deadlines from a clock's segments: the instant at which a fraction of the budget has been
//! used, counting only running time (and, for a working-time budget, only working hours).
//!
//! Paused time never counts and is never lost: every computation walks the segments from the
//! clock's start, so a re-rating (a new budget) or a resume re-derives every deadline from the
//! same history.

use chrono::{DateTime, TimeDelta, Utc};

use super::{Budget, Calendar, budget::scale};

/// A stretch of a clock's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub running: bool,
    pub started_at: DateTime<Utc>,
    /// `None` for the open (current) segment.
    pub ended_at: Option<DateTime<Utc>>,
}

/// Time counted by `budget` in `[from, to)`.
fn counted(budget: Budget, calendar: &Calendar, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
    if to <= from {
        return TimeDelta::zero();
    }
    if budget.is_working() { calendar.working_between(from, to) } else { to - from }
}

/// Time counted so far (up to `now`).
pub fn used(budget: Budget, calendar: &Calendar, segments: &[Segment], now: DateTime<Utc>) -> TimeDelta {
    segments
        .iter()
        .filter(|s| s.running)
        .map(|s| counted(budget, calendar, s.started_at, s.ended_at.unwrap_or(now).min(now)))
        .sum()
}

/// The instant at which `fraction` of `budget` is used, or `None` when the clock is paused (or
/// stopped) before that point. A point already passed is the instant it was reached.
pub fn instant_at(budget: Budget, calendar: &Calendar, segments: &[Segment], fraction: f64) -> Option<DateTime<Utc>> {
    let target = scale(budget.length(calendar), fraction);
    let point = |start: DateTime<Utc>, left: TimeDelta| {
        if left <= TimeDelta::zero() {
            start
        } else if budget.is_working() {
            calendar.add_working(start, left)
        } else {
            start + left
        }
    };
    let mut consumed = TimeDelta::zero();
    for s in segments.iter().filter(|s| s.running) {
        let left = target - consumed;
        match s.ended_at {
            Some(end) => {
                let available = counted(budget, calendar, s.started_at, end);
                if left <= available {
                    return Some(point(s.started_at, left));
                }
                consumed += available;
            }
            None => return Some(point(s.started_at, left)),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        chrono_tz::Europe::London.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap().with_timezone(&Utc)
    }

    fn running(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Segment {
        Segment { running: true, started_at: from, ended_at: to }
    }

    fn paused(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Segment {
        Segment { running: false, started_at: from, ended_at: to }
    }

    #[test]
    fn without_pauses_the_deadline_is_the_budget_from_receipt() {
        let c = Calendar::england_and_wales();
        let amber: Budget = "1 working day".parse().unwrap();
        let segs = [running(at(23, 10, 0), None)];
        assert_eq!(instant_at(amber, &c, &segs, 1.0), Some(at(24, 10, 0)));
        assert_eq!(instant_at(amber, &c, &segs, 0.0), Some(at(23, 10, 0)));
    }

    #[test]
    fn paused_time_is_never_counted_and_never_lost() {
        let c = Calendar::england_and_wales();
        let amber: Budget = "1 working day".parse().unwrap();
        // Running 10:00-12:00 (2 h used), paused until 15:00, running again.
        let segs = [
            running(at(23, 10, 0), Some(at(23, 12, 0))),
            paused(at(23, 12, 0), Some(at(23, 15, 0))),
            running(at(23, 15, 0), None),
        ];
        assert_eq!(
            instant_at(amber, &c, &segs, 1.0),
            Some(at(24, 13, 0)),
            "2 h before, 2 h after on Monday, 4 h on Tuesday"
        );
        assert_eq!(instant_at(amber, &c, &segs, 0.25), Some(at(23, 12, 0)), "a point reached before the pause");
        assert_eq!(used(amber, &c, &segs, at(23, 16, 0)), TimeDelta::hours(3));
        // While paused there is no deadline, and the used time stands still.
        let now_paused = [running(at(23, 10, 0), Some(at(23, 12, 0))), paused(at(23, 12, 0), None)];
        assert_eq!(instant_at(amber, &c, &now_paused, 1.0), None);
        assert_eq!(instant_at(amber, &c, &now_paused, 0.25), Some(at(23, 12, 0)));
        assert_eq!(used(amber, &c, &now_paused, at(25, 9, 0)), TimeDelta::hours(2));
        // A re-rating to green re-derives from the same history: 24 h of working time.
        let green: Budget = "3 working days".parse().unwrap();
        assert_eq!(instant_at(green, &c, &segs, 1.0), Some(at(26, 13, 0)));
    }

    #[test]
    fn elapsed_budgets_skip_only_paused_time() {
        let c = Calendar::england_and_wales();
        let red: Budget = "4 elapsed hours".parse().unwrap();
        let segs = [
            running(at(28, 22, 0), Some(at(28, 23, 0))),
            paused(at(28, 23, 0), Some(at(29, 1, 0))),
            running(at(29, 1, 0), None),
        ];
        assert_eq!(instant_at(red, &c, &segs, 1.0), Some(at(29, 4, 0)));
        assert_eq!(instant_at(red, &c, &segs, 0.5), Some(at(29, 2, 0)));
    }
}
