//! Service-level clocks: working-time calendars, budgets, deadlines and the escalation ladder.
//!
//! - [`calendar`]: working time in the hub's timezone, less weekends, bank holidays (gov.uk's file,
//!   `data/bank-holidays.json`) and local closure days.
//! - [`budget`]: a clock's allowance, elapsed or working.

pub mod budget;
pub mod calendar;
pub mod deadline;

pub use budget::Budget;
pub use calendar::Calendar;
pub mod authority;
pub mod repo;
pub mod service;
pub mod timer;
pub mod worker;
