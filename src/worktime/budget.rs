//! Clock budgets: how much time a clock has, counted either round the clock ("elapsed") or in the
//! hub's working time. Written in the policy as e.g. "4 elapsed hours" or "3 working days".

use std::{fmt, str::FromStr};

use chrono::{DateTime, TimeDelta, Utc};

use super::calendar::Calendar;

/// A clock's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Round the clock: nights, weekends and holidays count.
    Elapsed(TimeDelta),
    /// Working time only; a working day is the calendar's opening hours (8 by default).
    Working { minutes: i64, days: i64 },
}

impl Budget {
    /// The budget as a duration of (elapsed or working) time, given the calendar's day length.
    pub fn length(self, calendar: &Calendar) -> TimeDelta {
        match self {
            Self::Elapsed(d) => d,
            Self::Working { minutes, days } => {
                TimeDelta::minutes(minutes) + calendar.day_length() * i32::try_from(days).unwrap_or(i32::MAX)
            }
        }
    }

    /// Whether this budget counts working time only.
    pub fn is_working(self) -> bool {
        matches!(self, Self::Working { .. })
    }

    /// The instant `fraction` of this budget after `start` (with no pauses).
    pub fn point(self, calendar: &Calendar, start: DateTime<Utc>, fraction: f64) -> DateTime<Utc> {
        let part = scale(self.length(calendar), fraction);
        match self {
            Self::Elapsed(_) => start + part,
            Self::Working { .. } => calendar.add_working(start, part),
        }
    }
}

/// `d * fraction`, to the second.
pub fn scale(d: TimeDelta, fraction: f64) -> TimeDelta {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        reason = "budgets are hours to weeks; seconds are exact in f64"
    )]
    TimeDelta::seconds((d.num_seconds() as f64 * fraction).round() as i64)
}

impl FromStr for Budget {
    type Err = String;

    /// "<n> elapsed|working minute(s)|hour(s)|day(s)", e.g. "4 elapsed hours", "1 working day".
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let [n, kind, unit] = words.as_slice() else {
            return Err("must look like \"4 elapsed hours\" or \"3 working days\"".into());
        };
        let n: i64 = n.parse().ok().filter(|n| *n > 0).ok_or("must start with a whole number above 0")?;
        let unit = unit.trim_end_matches('s');
        match (*kind, unit) {
            ("elapsed", "minute") => Ok(Self::Elapsed(TimeDelta::minutes(n))),
            ("elapsed", "hour") => Ok(Self::Elapsed(TimeDelta::hours(n))),
            ("elapsed", "day") => Ok(Self::Elapsed(TimeDelta::days(n))),
            ("working", "minute") => Ok(Self::Working { minutes: n, days: 0 }),
            ("working", "hour") => Ok(Self::Working { minutes: n * 60, days: 0 }),
            ("working", "day") => Ok(Self::Working { minutes: 0, days: n }),
            _ => Err("must be \"<n> elapsed|working minutes|hours|days\"".into()),
        }
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Elapsed(d) if d.num_minutes() % 60 == 0 => write!(f, "{} elapsed hours", d.num_hours()),
            Self::Elapsed(d) => write!(f, "{} elapsed minutes", d.num_minutes()),
            Self::Working { minutes: 0, days } => write!(f, "{days} working days"),
            Self::Working { minutes, .. } => write!(f, "{minutes} working minutes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse_and_measure() {
        let c = Calendar::england_and_wales();
        assert_eq!("4 elapsed hours".parse::<Budget>().unwrap().length(&c), TimeDelta::hours(4));
        assert_eq!("1 working day".parse::<Budget>().unwrap().length(&c), TimeDelta::hours(8));
        assert_eq!("3 working days".parse::<Budget>().unwrap().length(&c), TimeDelta::hours(24));
        assert_eq!("90 working minutes".parse::<Budget>().unwrap().length(&c), TimeDelta::minutes(90));
        for bad in ["", "4 hours", "0 working days", "four working days", "2 working weeks", "1 elapsed day extra"] {
            assert!(bad.parse::<Budget>().is_err(), "{bad}");
        }
    }

    #[test]
    fn points_along_a_budget() {
        use chrono::TimeZone;
        let c = Calendar::england_and_wales();
        let monday_10 = chrono_tz::Europe::London.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap().with_timezone(&Utc);
        let amber: Budget = "1 working day".parse().unwrap();
        assert_eq!(amber.point(&c, monday_10, 0.5), monday_10 + TimeDelta::hours(4));
        assert_eq!(amber.point(&c, monday_10, 0.75), monday_10 + TimeDelta::hours(6));
        let monday_15 = monday_10 + TimeDelta::hours(5);
        let tuesday_11 =
            chrono_tz::Europe::London.with_ymd_and_hms(2026, 11, 24, 11, 0, 0).unwrap().with_timezone(&Utc);
        assert_eq!(amber.point(&c, monday_15, 0.5), tuesday_11, "2 h on Monday, 2 h on Tuesday");
        let red: Budget = "4 elapsed hours".parse().unwrap();
        assert_eq!(red.point(&c, monday_10, 0.75), monday_10 + TimeDelta::hours(3));
    }
}
