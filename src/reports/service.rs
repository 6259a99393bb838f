//! The reports as services: validate the request, read the cohort, compute, and audit the read
//! in the same transaction (a report is management information about children's cases; who ran
//! which one, for which period, is on the record).

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::{
    model::{self, Outcomes, Period, ReportFilter, Timeliness},
    repo,
};
use crate::{
    audit::{self, Actor, AuditAction},
    db::{self, StoreError},
    state::AppState,
    vocabulary::{ContactSource, Ethnicity, Gender},
};

/// Why a report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("invalid parameter")]
    Invalid { pointer: &'static str, detail: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ReportError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

/// A report with what it was computed over.
#[derive(Debug, Clone, PartialEq)]
pub struct Report<T> {
    pub period: Period,
    /// The instant "now" was for ages and deadlines.
    pub as_at: DateTime<Utc>,
    /// The policy the figures were computed under (levels, queues, outcomes, reasons).
    pub policy_version: String,
    pub figures: T,
}

/// Checks the filter against the policy and turns its days into instants.
fn period(state: &AppState, filter: &ReportFilter) -> Result<Period, ReportError> {
    let invalid = |pointer, detail| Err(ReportError::Invalid { pointer, detail });

    if filter.queue.as_ref().is_some_and(|q| !state.policy.queues.contains(q)) {
        return invalid("/queue", "must be one of the policy's queues");
    }
    if filter.urgency.as_ref().is_some_and(|u| !state.policy.levels.contains(u)) {
        return invalid("/urgency", "must be one of the policy's levels");
    }
    match Period::of(&state.policy.clocks.calendar, filter.from, filter.to) {
        Some(p) if p.start < p.end => Ok(p),
        Some(_) => invalid("/to", "must be after from"),
        None => invalid("/to", "must be a date the calendar can place"),
    }
}

/// Reads the cohort and records who asked for which report, in one transaction.
async fn cohort(
    state: &AppState,
    actor: &Actor,
    filter: &ReportFilter,
    name: &'static str,
) -> Result<(Period, DateTime<Utc>, Vec<model::CohortRow>), ReportError> {
    let period = period(state, filter)?;
    let now = state.clock.now();
    let rows = db::in_transaction(&state.db, async |tx| {
        let rows = repo::cohort(tx, period, filter).await?;
        audit::record(tx, now, actor, AuditAction::ReportRead, None, audit_details(name, filter, rows.len())).await?;
        Ok::<_, ReportError>(rows)
    })
    .await?;
    Ok((period, now, rows))
}

fn audit_details(name: &str, filter: &ReportFilter, rows: usize) -> serde_json::Value {
    serde_json::json!({
        "report": name, "from": filter.from, "to": filter.to, "queue": filter.queue, "urgency": filter.urgency,
        "agency_id": filter.agency_id, "agency_kind": filter.agency_kind, "contacts": rows,
    })
}

/// The timeliness report.
pub async fn timeliness(
    state: &AppState,
    actor: &Actor,
    filter: &ReportFilter,
) -> Result<Report<Timeliness>, ReportError> {
    let (period, as_at, rows) = cohort(state, actor, filter, "timeliness").await?;
    let figures = model::timeliness(&rows, &state.policy, as_at);
    Ok(Report { period, as_at, policy_version: state.policy.version.clone(), figures })
}

/// The outcomes report.
pub async fn outcomes(state: &AppState, actor: &Actor, filter: &ReportFilter) -> Result<Report<Outcomes>, ReportError> {
    let (period, as_at, rows) = cohort(state, actor, filter, "outcomes").await?;
    let figures = model::outcomes(&rows, &state.policy);
    Ok(Report { period, as_at, policy_version: state.policy.version.clone(), figures })
}

/// Ofsted's Annex A List 1 columns, in its order.
pub const ANNEX_A_CONTACTS_COLUMNS: [&str; 7] = [
    "Child Unique ID",
    "Gender",
    "Ethnicity",
    "Date of Birth",
    "Age of Child (Years)",
    "Date of Contact",
    "Contact Source",
];

/// One row of Annex A List 1: a child of a contact, as Ofsted's template spells the cells.
pub type AnnexARow = [String; 7];

/// Annex A List 1 (contacts): every child of every contact received in the period, in order of
/// receipt. Dates as `dd/mm/yyyy` on the hub's calendar; age in whole years at the date of
/// contact (blank for an unborn child, whose date of birth is blank too); gender and ethnicity
/// as the template's coded cells, "not stated/recorded" and `NOBT` when the referrer did not
/// say; the contact source is the agency's census code. Audited as a read of case data.
pub async fn annex_a_contacts(
    state: &AppState,
    actor: &Actor,
    filter: &ReportFilter,
) -> Result<Vec<AnnexARow>, ReportError> {
    let period = period(state, filter)?;
    let now = state.clock.now();
    let rows = db::in_transaction(&state.db, async |tx| {
        let rows = repo::annex_a(tx, period, filter).await?;
        audit::record(
            tx,
            now,
            actor,
            AuditAction::ReportRead,
            None,
            audit_details("annex_a_contacts", filter, rows.len()),
        )
        .await?;
        Ok::<_, ReportError>(rows)
    })
    .await?;
    let calendar = &state.policy.clocks.calendar;
    Ok(rows
        .into_iter()
        .map(|r| {
            let child = &r.child.0;
            let text = |key: &str| child.get(key).and_then(serde_json::Value::as_str);
            let gender = match text("gender").and_then(|g| g.parse::<Gender>().ok()) {
                Some(Gender::Male) => "a) Male",
                Some(Gender::Female) => "b) Female",
                Some(Gender::Other) => "d) Neither",
                Some(Gender::Unknown) | None => "c) Not stated/recorded",
            };
            let ethnicity = text("ethnicity").and_then(|e| e.parse::<Ethnicity>().ok()).unwrap_or(Ethnicity::Nobt);
            let contacted = calendar.local_date(r.received_at);
            let born = text("date_of_birth").and_then(|d| d.parse::<NaiveDate>().ok());
            let source = r.contact_source.as_deref().and_then(|s| s.parse::<ContactSource>().ok());
            [
                r.child_id.to_string(),
                gender.to_owned(),
                ethnicity.annex_a(),
                born.map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or_default(),
                born.map(|d| age(d, contacted).to_string()).unwrap_or_default(),
                contacted.format("%d/%m/%Y").to_string(),
                source.unwrap_or(ContactSource::Unknown).annex_a().to_owned(),
            ]
        })
        .collect())
}

/// Whole years from `born` to `on`.
fn age(born: NaiveDate, on: NaiveDate) -> i32 {
    let years = on.year() - born.year();
    if (on.month(), on.day()) < (born.month(), born.day()) { years - 1 } else { years }
}

#[cfg(test)]
mod tests {
    use super::age;
    use chrono::NaiveDate;

    #[test]
    fn age_counts_whole_years_and_a_leap_day_birthday_turns_on_the_first_of_march() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(age(d(2019, 5, 1), d(2026, 4, 30)), 6);
        assert_eq!(age(d(2019, 5, 1), d(2026, 5, 1)), 7);
        assert_eq!(age(d(2020, 2, 29), d(2025, 2, 28)), 4);
        assert_eq!(age(d(2020, 2, 29), d(2025, 3, 1)), 5);
        assert_eq!(age(d(2026, 11, 1), d(2026, 11, 30)), 0);
    }
}
