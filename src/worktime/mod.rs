//! Working time, as pure maths: no I/O, no policy, no clock.
//!
//! - [`calendar`]: the hub's opening hours in its timezone, less weekends, bank holidays (gov.uk's
//!   file, `data/bank-holidays.json`) and local closure days.
//! - [`budget`]: a clock's allowance, elapsed ("4 elapsed hours") or working ("3 working days").
//! - [`deadline`]: the instant at which a fraction of a budget is used, over a clock's running and
//!   paused segments.
//!
//! Everything that reckons time in working hours (clocks, the ladder, reports) comes here, so
//! there is one definition of a working day.

pub mod budget;
pub mod calendar;
pub mod deadline;

pub use budget::Budget;
pub use calendar::Calendar;
