//! `/v1/reports/*` and `/v1/exports/*`: management information for managers and auditors, as
//! JSON or, with `Accept: text/csv`, as CSV (the same figures, one per line).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Query, payload::Json, payload::PlainText};

use super::{ApiTags, problem::ApiError, problem::ReportReadError, security::BearerKey};
use crate::{
    auth::{AgencyKind, Role},
    reports::{
        self, Outcomes, ReportFilter, ReportLine, Timeliness,
        model::{self as m, REPORT_COLUMNS},
        service::{ANNEX_A_CONTACTS_COLUMNS, Report},
    },
    state::AppState,
};

/// The period and filters a report was computed over.
#[derive(Debug, Object)]
pub struct ReportScope {
    /// As asked: local days (both included) or instants (`to` excluded).
    pub from: String,
    pub to: String,
    /// The same period as instants, `[period_start, period_end)`.
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    /// "Now" for ages and deadlines.
    pub as_at: DateTime<Utc>,
    /// The policy the figures were computed under.
    pub policy_version: String,
    #[oai(skip_serializing_if_is_none)]
    pub queue: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub urgency: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub agency_id: Option<uuid::Uuid>,
    #[oai(skip_serializing_if_is_none)]
    pub agency_kind: Option<AgencyKind>,
}

/// Contacts received and decided in one group, and how many were decided within the timescale.
#[derive(Debug, Object)]
pub struct TimelinessGroupResponse {
    /// The urgency, queue or agency id.
    pub key: String,
    /// The agency's name (agency groups).
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    pub received: i64,
    pub decided: i64,
    pub decided_within_timescale: i64,
    /// To one decimal place; absent when nothing was decided.
    #[oai(skip_serializing_if_is_none)]
    pub percent_within_timescale: Option<f64>,
}

/// Working time from receipt to decision, for one urgency.
#[derive(Debug, Object)]
pub struct TimeToDecisionResponse {
    pub urgency: String,
    pub decided: i64,
    #[oai(skip_serializing_if_is_none)]
    pub median_working_minutes: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub p90_working_minutes: Option<i64>,
}

/// Late contacts by reason.
#[derive(Debug, Object)]
pub struct BreachReasonResponse {
    /// One of the policy's late reasons, or `not_recorded`.
    pub late_reason: String,
    /// Decisions recorded late with this reason.
    pub decisions: i64,
    /// Contacts still open past their deadline with this reason recorded (or none).
    pub open: i64,
}

/// Telling the referrer, for one agency.
#[derive(Debug, Object)]
pub struct FeedbackGroupResponse {
    pub agency_id: String,
    pub name: String,
    pub decided: i64,
    pub told: i64,
    pub told_within_one_working_day: i64,
    #[oai(skip_serializing_if_is_none)]
    pub percent_told_within_one_working_day: Option<f64>,
}

/// Manager oversight of decisions.
#[derive(Debug, Object)]
pub struct AuthorisationFiguresResponse {
    pub authorised: i64,
    pub awaiting: i64,
    pub sent_back: i64,
    #[oai(skip_serializing_if_is_none)]
    pub oldest_awaiting_working_minutes: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub median_awaiting_working_minutes: Option<i64>,
}

/// A count under a key.
#[derive(Debug, Object)]
pub struct KeyCountResponse {
    pub key: String,
    pub count: i64,
}

/// The timeliness report (definitions in docs/REPORTS.md).
#[derive(Debug, Object)]
pub struct TimelinessResponse {
    pub scope: ReportScope,
    pub received: i64,
    pub decided: i64,
    pub decided_within_timescale: i64,
    #[oai(skip_serializing_if_is_none)]
    pub percent_within_timescale: Option<f64>,
    pub by_urgency: Vec<TimelinessGroupResponse>,
    pub by_queue: Vec<TimelinessGroupResponse>,
    pub by_agency: Vec<TimelinessGroupResponse>,
    pub time_to_decision: Vec<TimeToDecisionResponse>,
    pub breaches_by_reason: Vec<BreachReasonResponse>,
    pub feedback_by_agency: Vec<FeedbackGroupResponse>,
    pub authorisation: AuthorisationFiguresResponse,
    pub open_past_deadline: i64,
    pub open_past_deadline_by_urgency: Vec<KeyCountResponse>,
}

/// An outcome's count in a group.
#[derive(Debug, Object)]
pub struct OutcomeCountResponse {
    pub outcome: String,
    pub count: i64,
    #[oai(skip_serializing_if_is_none)]
    pub percent_of_decided: Option<f64>,
}

/// Outcomes of one agency or agency kind.
#[derive(Debug, Object)]
pub struct OutcomeGroupResponse {
    /// The agency id, or the agency kind.
    pub key: String,
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub kind: Option<String>,
    pub received: i64,
    pub decided: i64,
    pub referrals: i64,
    #[oai(skip_serializing_if_is_none)]
    pub percent_referrals: Option<f64>,
    pub outcomes: Vec<OutcomeCountResponse>,
}

/// Re-referrals.
#[derive(Debug, Object)]
pub struct ReReferralsResponse {
    pub received: i64,
    pub re_referrals: i64,
    #[oai(skip_serializing_if_is_none)]
    pub percent_of_received: Option<f64>,
    pub referrals: i64,
    pub referrals_that_are_re_referrals: i64,
    #[oai(skip_serializing_if_is_none)]
    pub percent_of_referrals: Option<f64>,
}

/// The outcomes report (definitions in docs/REPORTS.md).
#[derive(Debug, Object)]
pub struct OutcomesResponse {
    pub scope: ReportScope,
    pub received: i64,
    pub decided: i64,
    pub by_agency: Vec<OutcomeGroupResponse>,
    pub by_agency_kind: Vec<OutcomeGroupResponse>,
    pub re_referrals: ReReferralsResponse,
    pub rag_at_intake: Vec<KeyCountResponse>,
    pub rag_current: Vec<KeyCountResponse>,
    pub rerated_up: i64,
    pub rerated_down: i64,
}

#[derive(ApiResponse)]
pub enum TimelinessResponses {
    /// The report as JSON.
    #[oai(status = 200)]
    Json(Json<Box<TimelinessResponse>>),
    /// With `Accept: text/csv`: the same figures, one per line (`section,key,name,measure,value`).
    #[oai(status = 200, content_type = "text/csv")]
    Csv(PlainText<String>),
}

#[derive(ApiResponse)]
pub enum OutcomesResponses {
    /// The report as JSON.
    #[oai(status = 200)]
    Json(Json<Box<OutcomesResponse>>),
    /// With `Accept: text/csv`: the same figures, one per line (`section,key,name,measure,value`).
    #[oai(status = 200, content_type = "text/csv")]
    Csv(PlainText<String>),
}

#[derive(ApiResponse)]
pub enum AnnexAResponses {
    /// Annex A List 1 as CSV, with Ofsted's column headings.
    #[oai(status = 200, content_type = "text/csv")]
    Csv(PlainText<String>, #[oai(header = "Content-Disposition")] String),
}

fn scope<T>(r: &Report<T>, f: &ReportFilter) -> ReportScope {
    ReportScope {
        from: f.from.to_string(),
        to: f.to.to_string(),
        period_start: r.period.start,
        period_end: r.period.end,
        as_at: r.as_at,
        policy_version: r.policy_version.clone(),
        queue: f.queue.clone(),
        urgency: f.urgency.clone(),
        agency_id: f.agency_id.map(|a| a.0),
        agency_kind: f.agency_kind,
    }
}

fn timeliness_group(g: m::TimelinessGroup) -> TimelinessGroupResponse {
    TimelinessGroupResponse {
        key: g.key,
        name: g.name,
        received: g.received,
        decided: g.decided,
        decided_within_timescale: g.decided_within_timescale,
        percent_within_timescale: g.percent_within_timescale,
    }
}

fn key_count(k: m::KeyCount) -> KeyCountResponse {
    KeyCountResponse { key: k.key, count: k.count }
}

fn timeliness_response(scope: ReportScope, t: Timeliness) -> TimelinessResponse {
    let a = t.authorisation;
    TimelinessResponse {
        scope,
        received: t.received,
        decided: t.decided,
        decided_within_timescale: t.decided_within_timescale,
        percent_within_timescale: t.percent_within_timescale,
        by_urgency: t.by_urgency.into_iter().map(timeliness_group).collect(),
        by_queue: t.by_queue.into_iter().map(timeliness_group).collect(),
        by_agency: t.by_agency.into_iter().map(timeliness_group).collect(),
        time_to_decision: t
            .time_to_decision
            .into_iter()
            .map(|d| TimeToDecisionResponse {
                urgency: d.urgency,
                decided: d.decided,
                median_working_minutes: d.median_working_minutes,
                p90_working_minutes: d.p90_working_minutes,
            })
            .collect(),
        breaches_by_reason: t
            .breaches_by_reason
            .into_iter()
            .map(|b| BreachReasonResponse { late_reason: b.late_reason, decisions: b.decisions, open: b.open })
            .collect(),
        feedback_by_agency: t
            .feedback_by_agency
            .into_iter()
            .map(|f| FeedbackGroupResponse {
                agency_id: f.agency_id,
                name: f.name,
                decided: f.decided,
                told: f.told,
                told_within_one_working_day: f.told_within_one_working_day,
                percent_told_within_one_working_day: f.percent_told_within_one_working_day,
            })
            .collect(),
        authorisation: AuthorisationFiguresResponse {
            authorised: a.authorised,
            awaiting: a.awaiting,
            sent_back: a.sent_back,
            oldest_awaiting_working_minutes: a.oldest_awaiting_working_minutes,
            median_awaiting_working_minutes: a.median_awaiting_working_minutes,
        },
        open_past_deadline: t.open_past_deadline,
        open_past_deadline_by_urgency: t.open_past_deadline_by_urgency.into_iter().map(key_count).collect(),
    }
}

fn outcome_group(g: m::OutcomeGroup) -> OutcomeGroupResponse {
    OutcomeGroupResponse {
        key: g.key,
        name: g.name,
        kind: g.kind,
        received: g.received,
        decided: g.decided,
        referrals: g.referrals,
        percent_referrals: g.percent_referrals,
        outcomes: g
            .outcomes
            .into_iter()
            .map(|o| OutcomeCountResponse {
                outcome: o.outcome,
                count: o.count,
                percent_of_decided: o.percent_of_decided,
            })
            .collect(),
    }
}

fn outcomes_response(scope: ReportScope, o: Outcomes) -> OutcomesResponse {
    let r = o.re_referrals;
    OutcomesResponse {
        scope,
        received: o.received,
        decided: o.decided,
        by_agency: o.by_agency.into_iter().map(outcome_group).collect(),
        by_agency_kind: o.by_agency_kind.into_iter().map(outcome_group).collect(),
        re_referrals: ReReferralsResponse {
            received: r.received,
            re_referrals: r.re_referrals,
            percent_of_received: r.percent_of_received,
            referrals: r.referrals,
            referrals_that_are_re_referrals: r.referrals_that_are_re_referrals,
            percent_of_referrals: r.percent_of_referrals,
        },
        rag_at_intake: o.rag_at_intake.into_iter().map(key_count).collect(),
        rag_current: o.rag_current.into_iter().map(key_count).collect(),
        rerated_up: o.rerated_up,
        rerated_down: o.rerated_down,
    }
}

/// CSV text of a header and rows (RFC 4180 quoting, CRLF line ends as the RFC has them).
fn csv_text<'a, R, I>(header: &[&str], rows: I) -> Result<String, ApiError>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = &'a str>,
{
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let fail = |_| ApiError::internal();
    w.write_record(header).map_err(fail)?;
    for row in rows {
        w.write_record(row).map_err(fail)?;
    }
    String::from_utf8(w.into_inner().map_err(|_| ApiError::internal())?).map_err(|_| ApiError::internal())
}

fn lines_csv(lines: &[ReportLine]) -> Result<String, ApiError> {
    csv_text(
        &REPORT_COLUMNS,
        lines.iter().map(|l| [l.section, l.key.as_str(), l.name.as_str(), l.measure.as_str(), l.value.as_str()]),
    )
}

/// Whether the caller asked for CSV (`Accept: text/csv`, before any JSON it also accepts).
fn wants_csv(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    let position = |mime: &str| {
        accept.split(',').position(|part| part.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case(mime)))
    };
    match (position("text/csv"), position("application/json")) {
        (Some(csv), Some(json)) => csv < json,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Management information.
pub struct ReportsApi {
    pub state: Arc<AppState>,
}

/// The roles that read reports.
const READERS: &[Role] = &[Role::Manager, Role::Auditor];

#[allow(clippy::needless_pass_by_value)] // poem-openapi hands the parameters over by value
fn filter(
    from: Query<String>,
    to: Query<String>,
    queue: Query<Option<String>>,
    urgency: Query<Option<String>>,
    agency_id: Query<Option<uuid::Uuid>>,
    agency_kind: Query<Option<AgencyKind>>,
) -> Result<ReportFilter, ApiError> {
    let bound = |text: &str, name: &str| {
        reports::Bound::parse(text)
            .ok_or_else(|| ApiError::invalid_parameter(name, "must be a local day (YYYY-MM-DD) or an RFC 3339 instant"))
    };
    Ok(ReportFilter {
        from: bound(&from.0, "from")?,
        to: bound(&to.0, "to")?,
        queue: queue.0,
        urgency: urgency.0,
        agency_id: agency_id.0.map(Into::into),
        agency_kind: agency_kind.0,
    })
}

#[OpenApi(tag = "ApiTags::Reports")]
impl ReportsApi {
    /// Timeliness (managers, auditors).
    ///
    /// For the contacts received from `from` to `to` (the hub's local days, both included),
    /// optionally only one queue, urgency, agency or agency kind: how many were received and
    /// decided, the share decided within the timescale (overall, by urgency, queue and agency),
    /// working time to decision (median and 90th percentile, by urgency), late contacts by
    /// reason, the share of referrers told the outcome within one working day (by agency),
    /// decisions awaiting authorisation and their age, and contacts still open past their
    /// deadline. JSON, or CSV with `Accept: text/csv`. Each figure's definition, and how to
    /// reproduce it from the audit trail, is in docs/REPORTS.md. Audited.
    #[oai(path = "/v1/reports/timeliness", method = "get", operation_id = "report.timeliness")]
    #[allow(clippy::too_many_arguments)] // a report's filters are its query parameters
    async fn timeliness(
        &self,
        auth: BearerKey,
        /// The start of the period: a local day of the hub (`YYYY-MM-DD`, from its midnight) or an
        /// RFC 3339 instant.
        from: Query<String>,
        /// The end: a local day (`YYYY-MM-DD`, included to its end) or an RFC 3339 instant
        /// (excluded).
        to: Query<String>,
        /// Only contacts now in this queue.
        queue: Query<Option<String>>,
        /// Only contacts now at this urgency.
        urgency: Query<Option<String>>,
        /// Only this agency's contacts.
        agency_id: Query<Option<uuid::Uuid>>,
        /// Only contacts from agencies of this kind.
        agency_kind: Query<Option<AgencyKind>>,
        #[oai(name = "Accept")] accept: poem_openapi::param::Header<Option<String>>,
    ) -> Result<TimelinessResponses, ReportReadError> {
        auth.0.require_staff(READERS)?;
        let f = filter(from, to, queue, urgency, agency_id, agency_kind)?;
        let report = reports::service::timeliness(&self.state, &auth.0.actor(), &f).await?;
        if wants_csv(accept.0.as_deref()) {
            return Ok(TimelinessResponses::Csv(PlainText(lines_csv(&report.figures.lines())?)));
        }
        let scope = scope(&report, &f);
        Ok(TimelinessResponses::Json(Json(Box::new(timeliness_response(scope, report.figures)))))
    }

    /// Outcomes (managers, auditors).
    ///
    /// For the contacts received in the period (and filters, as for timeliness): outcomes by
    /// agency and by agency kind, with the conversion of contacts to referrals and the rate of
    /// every outcome (no further action and advice among them: the threshold feedback a hub
    /// gives its partners); the re-referral rate; and the urgency at intake and now (after
    /// re-rating). JSON, or CSV with `Accept: text/csv`. Definitions in docs/REPORTS.md. Audited.
    #[oai(path = "/v1/reports/outcomes", method = "get", operation_id = "report.outcomes")]
    #[allow(clippy::too_many_arguments)] // a report's filters are its query parameters
    async fn outcomes(
        &self,
        auth: BearerKey,
        /// The start of the period: a local day of the hub (`YYYY-MM-DD`, from its midnight) or an
        /// RFC 3339 instant.
        from: Query<String>,
        /// The end: a local day (`YYYY-MM-DD`, included to its end) or an RFC 3339 instant
        /// (excluded).
        to: Query<String>,
        /// Only contacts now in this queue.
        queue: Query<Option<String>>,
        /// Only contacts now at this urgency.
        urgency: Query<Option<String>>,
        /// Only this agency's contacts.
        agency_id: Query<Option<uuid::Uuid>>,
        /// Only contacts from agencies of this kind.
        agency_kind: Query<Option<AgencyKind>>,
        #[oai(name = "Accept")] accept: poem_openapi::param::Header<Option<String>>,
    ) -> Result<OutcomesResponses, ReportReadError> {
        auth.0.require_staff(READERS)?;
        let f = filter(from, to, queue, urgency, agency_id, agency_kind)?;
        let report = reports::service::outcomes(&self.state, &auth.0.actor(), &f).await?;
        if wants_csv(accept.0.as_deref()) {
            return Ok(OutcomesResponses::Csv(PlainText(lines_csv(&report.figures.lines())?)));
        }
        let scope = scope(&report, &f);
        Ok(OutcomesResponses::Json(Json(Box::new(outcomes_response(scope, report.figures)))))
    }

    /// Ofsted Annex A List 1: contacts (managers, auditors).
    ///
    /// CSV in Ofsted's column order and headings (Child Unique ID, Gender, Ethnicity, Date of
    /// Birth, Age of Child (Years), Date of Contact, Contact Source): one row per child of each
    /// contact received in the period (filters as for the reports), oldest first. Dates are
    /// `dd/mm/yyyy`; gender, ethnicity and contact source are the template's coded cells (a
    /// child whose ethnicity the referrer did not give is `NOBT`; the contact source is the
    /// agency's census code). It holds children's details: audited like a read of case data.
    #[oai(path = "/v1/exports/annex-a/contacts", method = "get", operation_id = "report.annex_a.contacts")]
    #[allow(clippy::too_many_arguments)] // a report's filters are its query parameters
    async fn annex_a_contacts(
        &self,
        auth: BearerKey,
        /// The start of the period: a local day of the hub (`YYYY-MM-DD`, from its midnight) or an
        /// RFC 3339 instant.
        from: Query<String>,
        /// The end: a local day (`YYYY-MM-DD`, included to its end) or an RFC 3339 instant
        /// (excluded).
        to: Query<String>,
        /// Only contacts now in this queue.
        queue: Query<Option<String>>,
        /// Only contacts now at this urgency.
        urgency: Query<Option<String>>,
        /// Only this agency's contacts.
        agency_id: Query<Option<uuid::Uuid>>,
        /// Only contacts from agencies of this kind.
        agency_kind: Query<Option<AgencyKind>>,
    ) -> Result<AnnexAResponses, ReportReadError> {
        auth.0.require_staff(READERS)?;
        let f = filter(from, to, queue, urgency, agency_id, agency_kind)?;
        let rows = reports::service::annex_a_contacts(&self.state, &auth.0.actor(), &f).await?;
        let text = csv_text(&ANNEX_A_CONTACTS_COLUMNS, rows.iter().map(|r| r.iter().map(String::as_str)))?;
        let name = format!("attachment; filename=\"annex-a-list-1-contacts-{}-to-{}.csv\"", f.from, f.to);
        Ok(AnnexAResponses::Csv(PlainText(text), name))
    }
}

#[cfg(test)]
mod tests {
    use super::wants_csv;

    #[test]
    fn csv_only_when_asked_for_before_json() {
        assert!(wants_csv(Some("text/csv")));
        assert!(wants_csv(Some("text/csv; charset=utf-8, application/json;q=0.5")));
        assert!(!wants_csv(Some("application/json, text/csv")));
        assert!(!wants_csv(Some("*/*")));
        assert!(!wants_csv(None));
    }
}
