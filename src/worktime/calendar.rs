//! Working time: the hub's opening hours in its timezone, less weekends, bank holidays and local
//! closure days.
//!
//! Two operations: [`Calendar::add_working`] (the instant a working-time budget runs out) and
//! [`Calendar::working_between`] (working time between two instants). Instants are UTC; the
//! working day is reckoned in local time, so a clock change (BST/GMT) never moves 09:00 or 17:00.
//! A working day never contains a clock change in the UK (changes happen at 01:00-02:00 local),
//! which is why a day's opening and closing instants can be computed from its local date alone.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

/// gov.uk's bank holiday file, all three divisions, compiled in.
pub const BANK_HOLIDAYS_JSON: &str = include_str!("../../data/bank-holidays.json");

/// A division in gov.uk's file.
#[derive(Debug, Deserialize)]
struct Division {
    events: Vec<Event>,
}

#[derive(Debug, Deserialize)]
struct Event {
    date: NaiveDate,
}

/// The bank holidays of `division` ("england-and-wales", "scotland", "northern-ireland").
pub fn bank_holidays(division: &str) -> Option<BTreeSet<NaiveDate>> {
    let file: std::collections::BTreeMap<String, Division> = serde_json::from_str(BANK_HOLIDAYS_JSON).ok()?;
    file.get(division).map(|d| d.events.iter().map(|e| e.date).collect())
}

/// A working-time calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub tz: Tz,
    pub opens: NaiveTime,
    pub closes: NaiveTime,
    /// Working weekdays, indexed by days from Monday.
    pub working_days: [bool; 7],
    /// Bank holidays and local closure days.
    pub closed_days: BTreeSet<NaiveDate>,
    /// The last date the holiday data covers; working time beyond it is reckoned without
    /// holidays (and a test fails long before that matters).
    pub holidays_until: Option<NaiveDate>,
}

/// How many days ahead the calendar will look for a working day before giving up: a calendar
/// with no working days at all is refused when the policy is checked, so this only bounds a
/// pathological closure list.
const MAX_SCAN_DAYS: u32 = 3660;

impl Calendar {
    /// The default: Monday to Friday, 09:00-17:00 Europe/London, England and Wales bank holidays.
    pub fn england_and_wales() -> Self {
        let holidays = bank_holidays("england-and-wales").unwrap_or_default();
        Self {
            tz: chrono_tz::Europe::London,
            opens: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            closes: NaiveTime::from_hms_opt(17, 0, 0).unwrap_or_default(),
            working_days: [true, true, true, true, true, false, false],
            holidays_until: holidays.last().copied(),
            closed_days: holidays,
        }
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.working_days[date.weekday().num_days_from_monday() as usize] && !self.closed_days.contains(&date)
    }

    /// The length of a working day.
    pub fn day_length(&self) -> TimeDelta {
        self.closes - self.opens
    }

    fn local(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let naive = NaiveDateTime::new(date, time);
        // Opening hours never fall in a clock-change gap or overlap in the UK; `earliest` keeps
        // this total for any timezone a hub might configure.
        self.tz
            .from_local_datetime(&naive)
            .earliest()
            .map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.with_timezone(&Utc))
    }

    /// The working interval of `date`, if it is a working day.
    fn day(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.is_working_day(date).then(|| (self.local(date, self.opens), self.local(date, self.closes)))
    }

    /// The hub's local date of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    /// The instant at which `budget` of working time, counted from `start`, is used up. Time
    /// outside working hours does not count: a start outside them begins at the next opening.
    pub fn add_working(&self, start: DateTime<Utc>, budget: TimeDelta) -> DateTime<Utc> {
        let mut remaining = budget.max(TimeDelta::zero());
        let mut date = self.local_date(start);
        for _ in 0..MAX_SCAN_DAYS {
            if let Some((open, close)) = self.day(date) {
                let from = start.max(open);
                if from < close {
                    let available = close - from;
                    if remaining <= available {
                        return from + remaining;
                    }
                    remaining -= available;
                }
            }
            date = date.succ_opt().unwrap_or(date);
        }
        start + remaining
    }

    /// The close of the working day in progress at `at` (of the next working day when `at` is
    /// outside working hours), and the close of the working day after that: the horizons of
    /// "by the end of the working day" and "by the end of the next working day".
    pub fn next_closes(&self, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let mut closes = Vec::with_capacity(2);
        let mut date = self.local_date(at);
        for _ in 0..MAX_SCAN_DAYS {
            if let Some((_, close)) = self.day(date)
                && close > at
            {
                closes.push(close);
                if closes.len() == 2 {
                    break;
                }
            }
            date = date.succ_opt().unwrap_or(date);
        }
        match closes[..] {
            [first, second] => (first, second),
            // Only a calendar without working days (refused by the policy check) gets here.
            _ => (at, at),
        }
    }

    /// Working time in `[from, to)`; zero when `to <= from`.
    pub fn working_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
        if to <= from {
            return TimeDelta::zero();
        }
        let mut total = TimeDelta::zero();
        let mut date = self.local_date(from);
        let last = self.local_date(to);
        while date <= last {
            if let Some((open, close)) = self.day(date) {
                let a = from.max(open);
                let b = to.min(close);
                if b > a {
                    total += b - a;
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cal() -> Calendar {
        Calendar::england_and_wales()
    }

    #[test]
    fn next_closes_are_the_working_day_in_progress_or_next_and_the_one_after() {
        // Thursday 3 December 2026, mid-morning: today's close, then Friday's.
        assert_eq!(cal().next_closes(at(2026, 12, 3, 10, 0)), (at(2026, 12, 3, 17, 0), at(2026, 12, 4, 17, 0)));
        // Friday evening: the weekend does not count; Monday's close, then Tuesday's.
        assert_eq!(cal().next_closes(at(2026, 12, 4, 18, 0)), (at(2026, 12, 7, 17, 0), at(2026, 12, 8, 17, 0)));
        // Christmas Eve afternoon: Christmas Day and Boxing Day (observed 28th) are bank holidays.
        assert_eq!(cal().next_closes(at(2026, 12, 24, 16, 0)), (at(2026, 12, 24, 17, 0), at(2026, 12, 29, 17, 0)));
        // At the close exactly, the day is over.
        assert_eq!(cal().next_closes(at(2026, 12, 3, 17, 0)).0, at(2026, 12, 4, 17, 0));
    }

    /// A London local time as UTC.
    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Europe::London.with_ymd_and_hms(y, m, d, h, min, 0).earliest().unwrap().with_timezone(&Utc)
    }

    const DAY: TimeDelta = TimeDelta::hours(8);

    #[test]
    fn the_domain_examples_for_amber() {
        // 2026-11-23 is a Monday.
        assert_eq!(
            cal().add_working(at(2026, 11, 23, 10, 0), DAY),
            at(2026, 11, 24, 10, 0),
            "Monday 10:00 -> Tuesday 10:00"
        );
        assert_eq!(
            cal().add_working(at(2026, 11, 27, 16, 0), DAY),
            at(2026, 11, 30, 16, 0),
            "Friday 16:00 -> Monday 16:00"
        );
        assert_eq!(
            cal().add_working(at(2026, 11, 28, 3, 0), DAY),
            at(2026, 11, 30, 17, 0),
            "Saturday 03:00 -> Monday 17:00"
        );
    }

    #[test]
    fn the_domain_example_for_green_across_easter() {
        // Good Friday 2026-04-03 and Easter Monday 2026-04-06 do not count.
        assert_eq!(cal().add_working(at(2026, 4, 2, 12, 0), DAY * 3), at(2026, 4, 9, 12, 0));
    }

    #[test]
    fn both_clock_changes_keep_local_opening_hours() {
        // Clocks go forward on Sunday 2026-03-29 and back on Sunday 2026-10-25.
        let friday_spring = at(2026, 3, 27, 16, 0);
        assert_eq!(cal().add_working(friday_spring, DAY), at(2026, 3, 30, 16, 0));
        assert_eq!(at(2026, 3, 30, 16, 0).to_rfc3339(), "2026-03-30T15:00:00+00:00", "BST");
        let friday_autumn = at(2026, 10, 23, 16, 0);
        assert_eq!(cal().add_working(friday_autumn, DAY), at(2026, 10, 26, 16, 0));
        assert_eq!(at(2026, 10, 26, 16, 0).to_rfc3339(), "2026-10-26T16:00:00+00:00", "GMT");
        assert_eq!(cal().working_between(friday_spring, at(2026, 3, 30, 16, 0)), DAY);
        assert_eq!(cal().working_between(friday_autumn, at(2026, 10, 26, 16, 0)), DAY);
    }

    #[test]
    fn receipt_at_every_edge_of_the_working_day() {
        let c = cal();
        let monday = |h, m| at(2026, 11, 23, h, m);
        assert_eq!(c.add_working(monday(8, 59), DAY), at(2026, 11, 23, 17, 0), "just before opening");
        assert_eq!(c.add_working(monday(9, 0), DAY), at(2026, 11, 23, 17, 0), "at opening");
        assert_eq!(c.add_working(monday(9, 1), DAY), at(2026, 11, 24, 9, 1), "just after opening");
        assert_eq!(c.add_working(monday(16, 59), DAY), at(2026, 11, 24, 16, 59), "just before closing");
        assert_eq!(c.add_working(monday(17, 0), DAY), at(2026, 11, 24, 17, 0), "at closing");
        assert_eq!(c.add_working(monday(0, 0), DAY), at(2026, 11, 23, 17, 0), "at midnight");
        assert_eq!(
            c.add_working(at(2026, 12, 25, 10, 0), DAY),
            at(2026, 12, 29, 17, 0),
            "on Christmas Day (and Boxing Day substitute)"
        );
    }

    #[test]
    fn working_time_between_instants() {
        let c = cal();
        assert_eq!(c.working_between(at(2026, 11, 23, 10, 0), at(2026, 11, 23, 12, 30)), TimeDelta::minutes(150));
        assert_eq!(
            c.working_between(at(2026, 11, 27, 16, 0), at(2026, 11, 30, 10, 0)),
            TimeDelta::hours(2),
            "over a weekend"
        );
        assert_eq!(c.working_between(at(2026, 11, 28, 0, 0), at(2026, 11, 29, 23, 0)), TimeDelta::zero(), "a weekend");
        assert_eq!(c.working_between(at(2026, 11, 24, 0, 0), at(2026, 11, 23, 0, 0)), TimeDelta::zero(), "backwards");
    }

    #[test]
    fn local_closure_days_do_not_count() {
        let mut c = cal();
        c.closed_days.insert(NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
        assert_eq!(c.add_working(at(2026, 11, 23, 10, 0), DAY), at(2026, 11, 25, 10, 0));
    }

    #[test]
    fn the_bank_holiday_file_reaches_at_least_18_months_ahead() {
        // When this fails, add the next years to data/bank-holidays.json from
        // https://www.gov.uk/bank-holidays.json (all three divisions).
        let today = Utc::now().date_naive();
        for division in ["england-and-wales", "scotland", "northern-ireland"] {
            let last = *bank_holidays(division).unwrap().last().unwrap();
            assert!(last >= today.checked_add_months(chrono::Months::new(18)).unwrap(), "{division} ends {last}");
        }
    }

    fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
        // 2025-01-01 to 2029-12-31, to the minute.
        (1_735_689_600i64..1_893_455_940).prop_map(|s| DateTime::from_timestamp(s / 60 * 60, 0).unwrap())
    }

    proptest! {
        #[test]
        fn a_deadline_is_never_before_receipt_nor_outside_working_time(start in any_instant(), minutes in 1i64..(10 * 480)) {
            let c = cal();
            let due = c.add_working(start, TimeDelta::minutes(minutes));
            prop_assert!(due > start);
            let local = due.with_timezone(&c.tz);
            prop_assert!(c.is_working_day(local.date_naive()), "due on a closed day: {local}");
            prop_assert!(local.time() > c.opens && local.time() <= c.closes, "due outside hours: {local}");
            prop_assert_eq!(c.working_between(start, due), TimeDelta::minutes(minutes));
        }

        #[test]
        fn adding_a_then_b_equals_adding_a_plus_b(start in any_instant(), a in 0i64..2000, b in 1i64..2000) {
            let c = cal();
            let a = TimeDelta::minutes(a);
            let b = TimeDelta::minutes(b);
            prop_assert_eq!(c.add_working(c.add_working(start, a), b), c.add_working(start, a + b));
        }
    }
}
