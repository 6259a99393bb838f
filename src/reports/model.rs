//! The reports' figures, computed from one row per contact of the cohort. Pure functions of the
//! rows, the policy and the report's instant, so each figure is tested against values worked out
//! by hand.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::{id::AgencyId, policy::Policy, vocabulary::AgencyKind, worktime::Calendar};

/// One end of a report's period: a local day of the hub (the whole day belongs to the period),
/// or an instant (`from` included, `to` excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Bound {
    Day(NaiveDate),
    Instant(DateTime<Utc>),
}

impl Bound {
    /// `YYYY-MM-DD`, or an RFC 3339 instant.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Some(Self::Day(day));
        }
        DateTime::parse_from_rfc3339(text).ok().map(|t| Self::Instant(t.to_utc()))
    }
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Day(d) => write!(f, "{d}"),
            Self::Instant(t) => write!(f, "{}", t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        }
    }
}

/// Which contacts a report counts: those received from `from` to `to` (local days both
/// included; instants from `from` up to `to`), narrowed by the filters that are set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFilter {
    pub from: Bound,
    pub to: Bound,
    /// The contact's queue and urgency as the hub has them now (after any re-rating or move).
    pub queue: Option<String>,
    pub urgency: Option<String>,
    pub agency_id: Option<AgencyId>,
    pub agency_kind: Option<AgencyKind>,
}

/// A report's period as instants: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Period {
    /// From `from` to `to` on the hub's calendar: a day bound covers its whole local day.
    pub fn of(calendar: &Calendar, from: Bound, to: Bound) -> Option<Self> {
        let midnight = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0).and_then(|t| t.and_local_timezone(calendar.tz).earliest()).map(|t| t.to_utc())
        };
        let start = match from {
            Bound::Day(d) => midnight(d)?,
            Bound::Instant(t) => t,
        };
        let end = match to {
            Bound::Day(d) => midnight(d.succ_opt()?)?,
            Bound::Instant(t) => t,
        };
        Some(Self { start, end })
    }
}

/// One contact of a report's cohort, as the reports read it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CohortRow {
    pub agency_id: AgencyId,
    pub agency_name: String,
    pub agency_kind: String,
    pub received_at: DateTime<Utc>,
    pub status: String,
    /// The hub's rating now, and the classification's at intake.
    pub urgency: Option<String>,
    pub intake_urgency: Option<String>,
    pub queue: Option<String>,
    /// The decision clock's deadline while it runs.
    pub decision_due_at: Option<DateTime<Utc>>,
    pub re_referral: bool,
    /// Set once the decision is final (authorised, or needing no authorisation).
    pub outcome: Option<String>,
    /// The decision, final or awaiting authorisation.
    pub decided_at: Option<DateTime<Utc>>,
    pub late_reason: Option<String>,
    pub authorisation: Option<String>,
    pub feedback_started_at: Option<DateTime<Utc>>,
    pub feedback_stopped_at: Option<DateTime<Utc>>,
    pub feedback_stop_reason: Option<String>,
    pub decision_breached: bool,
    /// A manager's reason for an open contact being late.
    pub recorded_late_reason: Option<String>,
    /// Decisions on this contact a manager sent back.
    pub sent_back: i64,
}

impl CohortRow {
    /// Decided, finally: the referrer may know the outcome.
    fn decided(&self) -> bool {
        matches!(self.status.as_str(), "decided" | "closed")
    }

    fn open(&self) -> bool {
        matches!(self.status.as_str(), "awaiting_screening" | "in_screening")
    }

    /// Decided within the timescale: decided, and the decision needed no late reason (it came
    /// before the decision clock's deadline, paused time excluded, and the clock never breached).
    fn within(&self) -> bool {
        self.decided() && self.late_reason.is_none()
    }

    fn past_deadline(&self, now: DateTime<Utc>) -> bool {
        self.open() && (self.decision_breached || self.decision_due_at.is_some_and(|d| d <= now))
    }
}

/// A share as a percentage to one decimal place; `None` of nothing.
fn percent(part: i64, whole: i64) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)] // counts of contacts are far below 2^52
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// The nearest-rank percentile `p` (0-100) of sorted values.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Counts in one group of a breakdown.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelinessGroup {
    /// The urgency, queue or agency id.
    pub key: String,
    /// The agency's name (agency groups).
    pub name: Option<String>,
    pub received: i64,
    pub decided: i64,
    pub decided_within_timescale: i64,
    pub percent_within_timescale: Option<f64>,
}

/// Working time from receipt to decision, for one urgency.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeToDecision {
    pub urgency: String,
    pub decided: i64,
    pub median_working_minutes: Option<i64>,
    pub p90_working_minutes: Option<i64>,
}

/// Late contacts by the reason given.
#[derive(Debug, Clone, PartialEq)]
pub struct BreachReason {
    /// A late reason of the policy, or `not_recorded` (open contacts with none yet).
    pub late_reason: String,
    /// Decisions recorded late with this reason (final or awaiting authorisation).
    pub decisions: i64,
    /// Contacts still open past their deadline with this reason recorded by a manager.
    pub open: i64,
}

/// Telling the referrer, per agency.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackGroup {
    pub agency_id: String,
    pub name: String,
    pub decided: i64,
    pub told: i64,
    pub told_within_one_working_day: i64,
    pub percent_told_within_one_working_day: Option<f64>,
}

/// Manager oversight of decisions.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorisationFigures {
    pub authorised: i64,
    pub awaiting: i64,
    /// Decisions sent back (a contact can have several).
    pub sent_back: i64,
    pub oldest_awaiting_working_minutes: Option<i64>,
    pub median_awaiting_working_minutes: Option<i64>,
}

/// A count under a key.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyCount {
    pub key: String,
    pub count: i64,
}

/// The timeliness report.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeliness {
    pub received: i64,
    pub decided: i64,
    pub decided_within_timescale: i64,
    pub percent_within_timescale: Option<f64>,
    pub by_urgency: Vec<TimelinessGroup>,
    pub by_queue: Vec<TimelinessGroup>,
    pub by_agency: Vec<TimelinessGroup>,
    pub time_to_decision: Vec<TimeToDecision>,
    pub breaches_by_reason: Vec<BreachReason>,
    pub feedback_by_agency: Vec<FeedbackGroup>,
    pub authorisation: AuthorisationFigures,
    pub open_past_deadline: i64,
    pub open_past_deadline_by_urgency: Vec<KeyCount>,
}

fn group<'r>(key: String, name: Option<String>, rows: impl Iterator<Item = &'r CohortRow>) -> TimelinessGroup {
    let (mut received, mut decided, mut within) = (0, 0, 0);
    for r in rows {
        received += 1;
        decided += i64::from(r.decided());
        within += i64::from(r.within());
    }
    TimelinessGroup {
        key,
        name,
        received,
        decided,
        decided_within_timescale: within,
        percent_within_timescale: percent(within, decided),
    }
}

/// Agencies of the cohort, by name then id: (id, name, kind).
fn agencies(rows: &[CohortRow]) -> Vec<(AgencyId, String, String)> {
    let mut seen: BTreeMap<(String, AgencyId), String> = BTreeMap::new();
    for r in rows {
        seen.entry((r.agency_name.clone(), r.agency_id)).or_insert_with(|| r.agency_kind.clone());
    }
    seen.into_iter().map(|((name, id), kind)| (id, name, kind)).collect()
}

/// Urgencies, most urgent first.
fn urgencies(policy: &Policy) -> impl Iterator<Item = &String> {
    policy.levels.iter().rev()
}

/// Late contacts by reason: decisions by the reason they gave, open contacts past their
/// deadline by the reason a manager recorded (or `not_recorded`).
fn breaches_by_reason(rows: &[CohortRow], policy: &Policy, now: DateTime<Utc>) -> Vec<BreachReason> {
    let mut reasons: Vec<BreachReason> = policy
        .late_reasons
        .iter()
        .chain(std::iter::once(&"not_recorded".to_owned()))
        .map(|r| BreachReason { late_reason: r.clone(), decisions: 0, open: 0 })
        .collect();
    for r in rows {
        if let (Some(_), Some(reason)) = (r.decided_at, &r.late_reason) {
            if let Some(b) = reasons.iter_mut().find(|b| b.late_reason == *reason) {
                b.decisions += 1;
            }
        } else if r.past_deadline(now) {
            let reason = r.recorded_late_reason.as_deref().unwrap_or("not_recorded");
            if let Some(b) = reasons.iter_mut().find(|b| b.late_reason == reason) {
                b.open += 1;
            }
        }
    }
    reasons
}

/// Per agency: decided contacts whose referrer was told (the feedback clock stopped because
/// they were informed), and within one working day of the clock's start (the final decision).
fn feedback_by_agency(
    rows: &[CohortRow],
    agencies: &[(AgencyId, String, String)],
    calendar: &Calendar,
) -> Vec<FeedbackGroup> {
    let working_day = calendar.closes - calendar.opens;
    agencies
        .iter()
        .map(|(id, name, _)| {
            let (mut decided, mut told, mut within) = (0, 0, 0);
            for r in rows.iter().filter(|r| r.agency_id == *id && r.decided()) {
                decided += 1;
                let informed = r.feedback_stop_reason.as_deref().is_some_and(|s| s.starts_with("referrer_informed"));
                if let (true, Some(start), Some(stop)) = (informed, r.feedback_started_at, r.feedback_stopped_at) {
                    told += 1;
                    within += i64::from(calendar.working_between(start, stop) <= working_day);
                }
            }
            FeedbackGroup {
                agency_id: id.to_string(),
                name: name.clone(),
                decided,
                told,
                told_within_one_working_day: within,
                percent_told_within_one_working_day: percent(within, decided),
            }
        })
        .collect()
}

/// The timeliness report over `rows` at `now`.
pub fn timeliness(rows: &[CohortRow], policy: &Policy, now: DateTime<Utc>) -> Timeliness {
    let calendar = &policy.clocks.calendar;
    let all = group(String::new(), None, rows.iter());
    let by_urgency = urgencies(policy)
        .map(|u| group(u.clone(), None, rows.iter().filter(|r| r.urgency.as_ref() == Some(u))))
        .collect();
    let by_queue = policy
        .queues
        .iter()
        .map(|q| group(q.clone(), None, rows.iter().filter(|r| r.queue.as_ref() == Some(q))))
        .collect();
    let agencies = agencies(rows);
    let by_agency = agencies
        .iter()
        .map(|(id, name, _)| group(id.to_string(), Some(name.clone()), rows.iter().filter(|r| r.agency_id == *id)))
        .collect();
    let time_to_decision = urgencies(policy)
        .map(|u| {
            let mut taken: Vec<i64> = rows
                .iter()
                .filter(|r| r.decided() && r.urgency.as_ref() == Some(u))
                .filter_map(|r| r.decided_at.map(|d| calendar.working_between(r.received_at, d).num_minutes()))
                .collect();
            taken.sort_unstable();
            TimeToDecision {
                urgency: u.clone(),
                decided: i64::try_from(taken.len()).unwrap_or(i64::MAX),
                median_working_minutes: percentile(&taken, 50),
                p90_working_minutes: percentile(&taken, 90),
            }
        })
        .collect();
    let breaches_by_reason = breaches_by_reason(rows, policy, now);
    let feedback_by_agency = feedback_by_agency(rows, &agencies, calendar);
    let mut awaiting: Vec<i64> = rows
        .iter()
        .filter(|r| r.status == "awaiting_authorisation")
        .filter_map(|r| r.decided_at.map(|d| calendar.working_between(d, now).num_minutes()))
        .collect();
    awaiting.sort_unstable();
    let authorisation = AuthorisationFigures {
        authorised: rows
            .iter()
            .filter(|r| r.authorisation.as_deref() == Some("authorised"))
            .count()
            .try_into()
            .unwrap_or(i64::MAX),
        awaiting: awaiting.len().try_into().unwrap_or(i64::MAX),
        sent_back: rows.iter().map(|r| r.sent_back).sum(),
        oldest_awaiting_working_minutes: awaiting.last().copied(),
        median_awaiting_working_minutes: percentile(&awaiting, 50),
    };
    let past: Vec<&CohortRow> = rows.iter().filter(|r| r.past_deadline(now)).collect();
    let open_past_deadline_by_urgency = urgencies(policy)
        .map(|u| KeyCount {
            key: u.clone(),
            count: past.iter().filter(|r| r.urgency.as_ref() == Some(u)).count().try_into().unwrap_or(i64::MAX),
        })
        .collect();
    Timeliness {
        received: all.received,
        decided: all.decided,
        decided_within_timescale: all.decided_within_timescale,
        percent_within_timescale: all.percent_within_timescale,
        by_urgency,
        by_queue,
        by_agency,
        time_to_decision,
        breaches_by_reason,
        feedback_by_agency,
        authorisation,
        open_past_deadline: past.len().try_into().unwrap_or(i64::MAX),
        open_past_deadline_by_urgency,
    }
}

/// An outcome's count and its share of the group's decided contacts.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeCount {
    pub outcome: String,
    pub count: i64,
    pub percent_of_decided: Option<f64>,
}

/// Outcomes of one agency or agency kind.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeGroup {
    /// The agency id, or the agency kind.
    pub key: String,
    /// The agency's name (agency groups).
    pub name: Option<String>,
    /// The agency's kind (agency groups).
    pub kind: Option<String>,
    pub received: i64,
    pub decided: i64,
    /// Decided as one of the policy's referral outcomes: the conversion of contacts to referrals.
    pub referrals: i64,
    pub percent_referrals: Option<f64>,
    /// Every outcome of the policy, in its order (no further action and advice among them).
    pub outcomes: Vec<OutcomeCount>,
}

/// Re-referrals (the `DfE`'s: a child referred within 12 months of an earlier referral).
#[derive(Debug, Clone, PartialEq)]
pub struct ReReferrals {
    pub received: i64,
    /// Contacts flagged at intake as re-referrals.
    pub re_referrals: i64,
    pub percent_of_received: Option<f64>,
    pub referrals: i64,
    /// Of the contacts decided as referrals, those flagged: the `DfE`'s re-referral rate.
    pub referrals_that_are_re_referrals: i64,
    pub percent_of_referrals: Option<f64>,
}

/// The outcomes report.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcomes {
    pub received: i64,
    pub decided: i64,
    pub by_agency: Vec<OutcomeGroup>,
    pub by_agency_kind: Vec<OutcomeGroup>,
    pub re_referrals: ReReferrals,
    /// Urgency at intake (the classification), most urgent first.
    pub rag_at_intake: Vec<KeyCount>,
    /// Urgency now (after any re-rating).
    pub rag_current: Vec<KeyCount>,
    /// Contacts now rated above, or below, their intake urgency.
    pub rerated_up: i64,
    pub rerated_down: i64,
}

fn outcome_group<'r>(
    policy: &Policy,
    key: String,
    (name, kind): (Option<String>, Option<String>),
    rows: impl Iterator<Item = &'r CohortRow>,
) -> OutcomeGroup {
    let (mut received, mut decided) = (0, 0);
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for r in rows {
        received += 1;
        if let (true, Some(o)) = (r.decided(), &r.outcome) {
            decided += 1;
            *counts.entry(o.as_str()).or_default() += 1;
        }
    }
    let referrals = policy.referral_outcomes.iter().map(|o| counts.get(o.as_str()).copied().unwrap_or(0)).sum();
    OutcomeGroup {
        key,
        name,
        kind,
        received,
        decided,
        referrals,
        percent_referrals: percent(referrals, decided),
        outcomes: policy
            .outcomes
            .iter()
            .map(|o| {
                let count = counts.get(o.as_str()).copied().unwrap_or(0);
                OutcomeCount { outcome: o.clone(), count, percent_of_decided: percent(count, decided) }
            })
            .collect(),
    }
}

/// The outcomes report over `rows`.
pub fn outcomes(rows: &[CohortRow], policy: &Policy) -> Outcomes {
    let by_agency = agencies(rows)
        .into_iter()
        .map(|(id, name, kind)| {
            outcome_group(policy, id.to_string(), (Some(name), Some(kind)), rows.iter().filter(|r| r.agency_id == id))
        })
        .collect();
    let by_agency_kind = <AgencyKind as strum::VariantNames>::VARIANTS
        .iter()
        .map(|k| outcome_group(policy, (*k).to_owned(), (None, None), rows.iter().filter(|r| r.agency_kind == *k)))
        .collect();
    let all = outcome_group(policy, String::new(), (None, None), rows.iter());
    let is_referral =
        |r: &&CohortRow| r.decided() && r.outcome.as_ref().is_some_and(|o| policy.referral_outcomes.contains(o));
    let flagged = rows.iter().filter(|r| r.re_referral).count().try_into().unwrap_or(i64::MAX);
    let referrals_flagged =
        rows.iter().filter(is_referral).filter(|r| r.re_referral).count().try_into().unwrap_or(i64::MAX);
    let level = |u: &Option<String>| u.as_ref().and_then(|u| policy.levels.iter().position(|l| l == u));
    let count_by = |f: &dyn Fn(&CohortRow) -> &Option<String>| {
        urgencies(policy)
            .map(|u| KeyCount {
                key: u.clone(),
                count: rows.iter().filter(|r| f(r).as_ref() == Some(u)).count().try_into().unwrap_or(i64::MAX),
            })
            .collect()
    };
    let (mut up, mut down) = (0, 0);
    for r in rows {
        match (level(&r.intake_urgency), level(&r.urgency)) {
            (Some(a), Some(b)) if b > a => up += 1,
            (Some(a), Some(b)) if b < a => down += 1,
            _ => {}
        }
    }
    Outcomes {
        received: all.received,
        decided: all.decided,
        by_agency,
        by_agency_kind,
        re_referrals: ReReferrals {
            received: all.received,
            re_referrals: flagged,
            percent_of_received: percent(flagged, all.received),
            referrals: all.referrals,
            referrals_that_are_re_referrals: referrals_flagged,
            percent_of_referrals: percent(referrals_flagged, all.referrals),
        },
        rag_at_intake: count_by(&|r| &r.intake_urgency),
        rag_current: count_by(&|r| &r.urgency),
        rerated_up: up,
        rerated_down: down,
    }
}

/// One line of a report as a table: what the CSV spelling of a report holds, in the JSON's
/// order, so the two can be checked against each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLine {
    /// The JSON field the figure is in (`summary` for the top-level figures).
    pub section: &'static str,
    /// The group's key within the section (an urgency, queue, agency id, reason...), or empty.
    pub key: String,
    /// The agency's name, for agency groups.
    pub name: String,
    /// The figure's field name (`<outcome>` and `percent_<outcome>` for the outcomes of a group).
    pub measure: String,
    /// The figure; empty when it has no value (a percentage of nothing).
    pub value: String,
}

/// The CSV header of [`ReportLine`]s.
pub const REPORT_COLUMNS: [&str; 5] = ["section", "key", "name", "measure", "value"];

struct Lines(Vec<ReportLine>);

impl Lines {
    fn push(&mut self, section: &'static str, key: &str, name: Option<&str>, measure: &str, value: Value) {
        self.0.push(ReportLine {
            section,
            key: key.to_owned(),
            name: name.unwrap_or_default().to_owned(),
            measure: measure.to_owned(),
            value: value.to_string(),
        });
    }
}

/// A figure's value in a line.
#[derive(Clone, Copy)]
enum Value {
    Count(i64),
    Maybe(Option<i64>),
    Percent(Option<f64>),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Count(n) | Self::Maybe(Some(n)) => write!(f, "{n}"),
            Self::Percent(Some(p)) => write!(f, "{p:.1}"),
            Self::Maybe(None) | Self::Percent(None) => Ok(()),
        }
    }
}

impl Timeliness {
    /// The report as lines (the CSV spelling).
    pub fn lines(&self) -> Vec<ReportLine> {
        use Value::{Count, Maybe, Percent};
        let mut l = Lines(Vec::new());
        l.push("summary", "", None, "received", Count(self.received));
        l.push("summary", "", None, "decided", Count(self.decided));
        l.push("summary", "", None, "decided_within_timescale", Count(self.decided_within_timescale));
        l.push("summary", "", None, "percent_within_timescale", Percent(self.percent_within_timescale));
        l.push("summary", "", None, "open_past_deadline", Count(self.open_past_deadline));
        for (section, groups) in
            [("by_urgency", &self.by_urgency), ("by_queue", &self.by_queue), ("by_agency", &self.by_agency)]
        {
            for g in groups {
                let name = g.name.as_deref();
                l.push(section, &g.key, name, "received", Count(g.received));
                l.push(section, &g.key, name, "decided", Count(g.decided));
                l.push(section, &g.key, name, "decided_within_timescale", Count(g.decided_within_timescale));
                l.push(section, &g.key, name, "percent_within_timescale", Percent(g.percent_within_timescale));
            }
        }
        for t in &self.time_to_decision {
            l.push("time_to_decision", &t.urgency, None, "decided", Count(t.decided));
            l.push("time_to_decision", &t.urgency, None, "median_working_minutes", Maybe(t.median_working_minutes));
            l.push("time_to_decision", &t.urgency, None, "p90_working_minutes", Maybe(t.p90_working_minutes));
        }
        for b in &self.breaches_by_reason {
            l.push("breaches_by_reason", &b.late_reason, None, "decisions", Count(b.decisions));
            l.push("breaches_by_reason", &b.late_reason, None, "open", Count(b.open));
        }
        for f in &self.feedback_by_agency {
            let name = Some(f.name.as_str());
            l.push("feedback_by_agency", &f.agency_id, name, "decided", Count(f.decided));
            l.push("feedback_by_agency", &f.agency_id, name, "told", Count(f.told));
            l.push(
                "feedback_by_agency",
                &f.agency_id,
                name,
                "told_within_one_working_day",
                Count(f.told_within_one_working_day),
            );
            l.push(
                "feedback_by_agency",
                &f.agency_id,
                name,
                "percent_told_within_one_working_day",
                Percent(f.percent_told_within_one_working_day),
            );
        }
        let a = &self.authorisation;
        l.push("authorisation", "", None, "authorised", Count(a.authorised));
        l.push("authorisation", "", None, "awaiting", Count(a.awaiting));
        l.push("authorisation", "", None, "sent_back", Count(a.sent_back));
        l.push("authorisation", "", None, "oldest_awaiting_working_minutes", Maybe(a.oldest_awaiting_working_minutes));
        l.push("authorisation", "", None, "median_awaiting_working_minutes", Maybe(a.median_awaiting_working_minutes));
        for k in &self.open_past_deadline_by_urgency {
            l.push("open_past_deadline_by_urgency", &k.key, None, "count", Count(k.count));
        }
        l.0
    }
}

impl Outcomes {
    /// The report as lines (the CSV spelling).
    pub fn lines(&self) -> Vec<ReportLine> {
        use Value::{Count, Percent};
        let mut l = Lines(Vec::new());
        l.push("summary", "", None, "received", Count(self.received));
        l.push("summary", "", None, "decided", Count(self.decided));
        for (section, groups) in [("by_agency", &self.by_agency), ("by_agency_kind", &self.by_agency_kind)] {
            for g in groups {
                let name = g.name.as_deref();
                l.push(section, &g.key, name, "received", Count(g.received));
                l.push(section, &g.key, name, "decided", Count(g.decided));
                l.push(section, &g.key, name, "referrals", Count(g.referrals));
                l.push(section, &g.key, name, "percent_referrals", Percent(g.percent_referrals));
                for o in &g.outcomes {
                    // The outcomes are the policy's names: the measure is the outcome.
                    l.push(section, &g.key, name, &o.outcome, Count(o.count));
                    l.push(section, &g.key, name, &format!("percent_{}", o.outcome), Percent(o.percent_of_decided));
                }
            }
        }
        let r = &self.re_referrals;
        l.push("re_referrals", "", None, "received", Count(r.received));
        l.push("re_referrals", "", None, "re_referrals", Count(r.re_referrals));
        l.push("re_referrals", "", None, "percent_of_received", Percent(r.percent_of_received));
        l.push("re_referrals", "", None, "referrals", Count(r.referrals));
        l.push("re_referrals", "", None, "referrals_that_are_re_referrals", Count(r.referrals_that_are_re_referrals));
        l.push("re_referrals", "", None, "percent_of_referrals", Percent(r.percent_of_referrals));
        for k in &self.rag_at_intake {
            l.push("rag_at_intake", &k.key, None, "count", Count(k.count));
        }
        for k in &self.rag_current {
            l.push("rag_current", &k.key, None, "count", Count(k.count));
        }
        l.push("summary", "", None, "rerated_up", Count(self.rerated_up));
        l.push("summary", "", None, "rerated_down", Count(self.rerated_down));
        l.0
    }
}
