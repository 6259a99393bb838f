//! The hub's policy file: levels, rules, modifiers, routes and narrative signals, loaded from
//! TOML and checked before use.
//!
//! [`Policy::parse`] returns a policy only when the whole file is valid; otherwise every
//! semantic problem it finds (unknown level, concern or agency kind, duplicate id, bad duration,
//! rules out of order), each with its line and column. A syntax or shape error stops the parse
//! at the first one, as any TOML parser must.

use std::{collections::BTreeSet, fmt, ops::Range, str::FromStr};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use strum::VariantNames;
use toml::Spanned;

use crate::{
    auth::AgencyKind,
    contact::model::{Concern, DashRisk},
};

/// The policy shipped with the product (DOMAIN.md's default), compiled in.
pub const DEFAULT_POLICY: &str = include_str!("../../config/policy/default.toml");
/// Where the default policy lives, for messages.
pub const DEFAULT_POLICY_PATH: &str = "config/policy/default.toml";

/// A problem in a policy file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Where in the document, e.g. `rules[3].when.concerns_any[1]`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{l}:{c}: {}: {}", self.path, self.message),
            _ => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// All the problems of a policy file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the policy file has {} error(s):\n{}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct PolicyErrors(pub Vec<PolicyError>);

/// An age threshold: a number of days, months or years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeSpan {
    Days(u32),
    Months(u32),
    Years(u32),
}

impl FromStr for AgeSpan {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let split = s.char_indices().last().map(|(i, _)| i).ok_or(())?;
        let (number, unit) = s.split_at(split);
        let n: u32 = number.parse().map_err(|_| ())?;
        match unit {
            "d" => Ok(Self::Days(n)),
            "m" => Ok(Self::Months(n)),
            "y" => Ok(Self::Years(n)),
            _ => Err(()),
        }
    }
}

impl fmt::Display for AgeSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Days(n) => write!(f, "{n} days"),
            Self::Months(n) => write!(f, "{n} months"),
            Self::Years(n) => write!(f, "{n} years"),
        }
    }
}

/// A level's position: 0 is the lowest.
pub type LevelIndex = usize;

/// A checked condition. All present parts must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Condition {
    pub concerns_any: Option<BTreeSet<Concern>>,
    pub immediate_risk: Option<bool>,
    pub disclosure_made: Option<bool>,
    pub injury: Option<bool>,
    pub non_mobile: Option<bool>,
    pub unborn: Option<bool>,
    pub age_under: Option<AgeSpan>,
    pub age_at_least: Option<AgeSpan>,
    pub dash_risk: Option<BTreeSet<DashRisk>>,
    pub child_present: Option<bool>,
    pub agency_kind: Option<BTreeSet<AgencyKindKey>>,
    pub prior_contacts: Option<PriorContacts>,
    pub level: Option<BTreeSet<LevelIndex>>,
    pub any: Vec<Condition>,
    pub not: Option<Box<Condition>>,
}

impl Condition {
    /// Whether this condition (or any part of it) looks at other contacts about the child.
    pub fn uses_prior_contacts(&self) -> bool {
        self.prior_contacts.is_some()
            || self.any.iter().any(Condition::uses_prior_contacts)
            || self.not.as_ref().is_some_and(|n| n.uses_prior_contacts())
    }
}

/// An agency kind usable in a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AgencyKindKey(pub usize);

impl AgencyKindKey {
    pub fn of(kind: AgencyKind) -> Self {
        Self(<AgencyKind as strum::VariantArray>::VARIANTS.iter().position(|k| *k == kind).unwrap_or(usize::MAX))
    }
}

/// "At least N earlier contacts about the same child within D days."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorContacts {
    pub at_least: u32,
    pub within_days: u32,
}

/// A rule: the first that holds sets a child's base level.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    pub level: LevelIndex,
    pub explanation: String,
    pub flags: Vec<String>,
    pub when: Condition,
}

/// A modifier: every one that holds raises the level.
#[derive(Debug, Clone, PartialEq)]
pub struct Modifier {
    pub id: String,
    pub raise: usize,
    pub explanation: String,
    pub flags: Vec<String>,
    pub when: Condition,
}

/// A route: the first that holds names the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub queue: String,
    pub explanation: String,
    pub when: Condition,
}

/// Narrative signals.
#[derive(Debug, Clone, PartialEq)]
pub struct NarrativeSignals {
    /// Each term as lower-case words.
    pub injury_terms: Vec<Vec<String>>,
    pub negation_cues: BTreeSet<String>,
    /// Words that may stand between a cue and the term it negates.
    pub negation_fillers: BTreeSet<String>,
    pub negation_window: usize,
    pub clause_breaks: BTreeSet<String>,
    /// Phrases (as words) that are never injury terms.
    pub ignore_phrases: Vec<Vec<String>>,
}

/// A checked, ready-to-use policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub name: String,
    /// `name` plus the SHA-256 of the file's bytes.
    pub version: String,
    pub levels: Vec<String>,
    pub default_level: LevelIndex,
    pub default_explanation: String,
    pub rules: Vec<Rule>,
    pub modifiers: Vec<Modifier>,
    pub routes: Vec<Route>,
    pub narrative: NarrativeSignals,
    /// Every queue a route can name.
    pub queues: Vec<String>,
    /// Calendar, timescales and the escalation ladder.
    pub clocks: ClockPolicy,
    /// How long a claim lasts unless renewed.
    pub claim_lease: chrono::TimeDelta,
    /// The screening outcomes a decision may record.
    pub outcomes: Vec<String>,
}

/// What a ladder step does besides notifying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepEffect {
    /// A notification only.
    Notify,
    /// The contact is marked escalated and rises in its queue.
    Escalate,
    /// A breach is recorded (never removed).
    Breach,
}

/// One step of the escalation ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct LadderStep {
    pub step: String,
    /// Fraction of the clock's budget (0.0 = at the start).
    pub at: f64,
    /// Only for contacts of these levels; all when `None`.
    pub levels: Option<BTreeSet<LevelIndex>>,
    /// Who is notified (a routing key for the notification gateway).
    pub notify: String,
    pub effect: StepEffect,
}

/// The clocks section of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockPolicy {
    pub calendar: crate::worktime::Calendar,
    /// The decision budget per level (indexed like `levels`).
    pub decision: Vec<crate::worktime::Budget>,
    pub feedback: crate::worktime::Budget,
    pub pause_reasons: Vec<String>,
    /// Ordered by `at`.
    pub ladder: Vec<LadderStep>,
}

// ---- The file as written ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: Spanned<String>,
    levels: Spanned<Vec<Spanned<String>>>,
    default_level: Spanned<String>,
    default_explanation: String,
    #[serde(default)]
    rules: Vec<RawRule>,
    #[serde(default)]
    modifiers: Vec<RawModifier>,
    routes: Spanned<Vec<RawRoute>>,
    narrative: RawNarrative,
    calendar: RawCalendar,
    timescales: RawTimescales,
    ladder: Spanned<Vec<RawStep>>,
    worklist: RawWorklist,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorklist {
    claim_lease_minutes: Spanned<i64>,
    outcomes: Spanned<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    timezone: Spanned<String>,
    bank_holidays: Spanned<String>,
    opens: Spanned<String>,
    closes: Spanned<String>,
    working_days: Spanned<Vec<String>>,
    #[serde(default)]
    closures: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimescales {
    decision: Spanned<std::collections::BTreeMap<String, Spanned<String>>>,
    feedback: Spanned<String>,
    #[serde(default)]
    pause_reasons: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    step: Spanned<String>,
    at: Spanned<f64>,
    #[serde(default)]
    levels: Option<Vec<Spanned<String>>>,
    notify: String,
    #[serde(default)]
    effect: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    level: Spanned<String>,
    explanation: String,
    #[serde(default)]
    flags: Vec<String>,
    when: Spanned<RawCondition>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModifier {
    id: Spanned<String>,
    raise: Spanned<i64>,
    explanation: String,
    #[serde(default)]
    flags: Vec<String>,
    when: Spanned<RawCondition>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    queue: Spanned<String>,
    explanation: String,
    #[serde(default)]
    when: Option<Spanned<RawCondition>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    concerns_any: Option<Vec<Spanned<String>>>,
    immediate_risk: Option<bool>,
    disclosure_made: Option<bool>,
    injury: Option<bool>,
    non_mobile: Option<bool>,
    unborn: Option<bool>,
    age_under: Option<Spanned<String>>,
    age_at_least: Option<Spanned<String>>,
    dash_risk: Option<Vec<Spanned<String>>>,
    child_present: Option<bool>,
    agency_kind: Option<Vec<Spanned<String>>>,
    prior_contacts: Option<Spanned<RawPrior>>,
    level: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    any: Vec<Spanned<RawCondition>>,
    not: Option<Box<Spanned<RawCondition>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrior {
    at_least: i64,
    within_days: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNarrative {
    injury_terms: Spanned<Vec<String>>,
    negation_cues: Vec<String>,
    #[serde(default)]
    negation_fillers: Vec<String>,
    negation_window: Spanned<i64>,
    #[serde(default)]
    clause_breaks: Vec<String>,
    #[serde(default)]
    ignore_phrases: Vec<String>,
}

/// Collects problems with positions in `text`.
struct Checker<'t> {
    text: &'t str,
    errors: Vec<PolicyError>,
}

impl Checker<'_> {
    fn position(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    fn err(&mut self, span: Range<usize>, path: &str, message: impl Into<String>) {
        let (line, column) = self.position(span.start);
        self.errors.push(PolicyError {
            line: Some(line),
            column: Some(column),
            path: path.to_owned(),
            message: message.into(),
        });
    }

    fn level(&mut self, levels: &[String], name: &Spanned<String>, path: &str) -> Option<LevelIndex> {
        let found = levels.iter().position(|l| l == name.get_ref());
        if found.is_none() {
            self.err(name.span(), path, format!("is not one of the levels: {}", levels.join(", ")));
        }
        found
    }

    fn enum_set<E: FromStr + VariantNames + Ord>(&mut self, items: &[Spanned<String>], path: &str) -> BTreeSet<E> {
        let mut set = BTreeSet::new();
        for (i, item) in items.iter().enumerate() {
            match item.get_ref().parse::<E>() {
                Ok(v) => {
                    set.insert(v);
                }
                Err(_) => self.err(
                    item.span(),
                    &format!("{path}[{i}]"),
                    format!("must be one of: {}", E::VARIANTS.join(", ")),
                ),
            }
        }
        if items.is_empty() {
            self.errors.push(PolicyError {
                line: None,
                column: None,
                path: path.to_owned(),
                message: "must not be empty".into(),
            });
        }
        set
    }

    fn age(&mut self, value: &Spanned<String>, path: &str) -> Option<AgeSpan> {
        let parsed = value.get_ref().parse::<AgeSpan>().ok();
        if parsed.is_none() {
            self.err(value.span(), path, "must be a whole number followed by d, m or y, e.g. \"6m\"");
        }
        parsed
    }

    fn condition(
        &mut self,
        raw: &Spanned<RawCondition>,
        path: &str,
        levels: &[String],
        allow_level: bool,
    ) -> Condition {
        let c = raw.get_ref();
        let mut out = Condition {
            immediate_risk: c.immediate_risk,
            disclosure_made: c.disclosure_made,
            injury: c.injury,
            non_mobile: c.non_mobile,
            unborn: c.unborn,
            child_present: c.child_present,
            ..Condition::default()
        };
        if let Some(items) = &c.concerns_any {
            out.concerns_any = Some(self.enum_set::<Concern>(items, &format!("{path}.concerns_any")));
        }
        if let Some(items) = &c.dash_risk {
            out.dash_risk = Some(self.enum_set::<DashRisk>(items, &format!("{path}.dash_risk")));
        }
        if let Some(items) = &c.agency_kind {
            let kinds = self.enum_set::<AgencyKindOrd>(items, &format!("{path}.agency_kind"));
            out.agency_kind = Some(kinds.into_iter().map(|k| AgencyKindKey::of(k.0)).collect());
        }
        if let Some(age) = &c.age_under {
            out.age_under = self.age(age, &format!("{path}.age_under"));
        }
        if let Some(age) = &c.age_at_least {
            out.age_at_least = self.age(age, &format!("{path}.age_at_least"));
        }
        if let Some(prior) = &c.prior_contacts {
            let p = prior.get_ref();
            match (u32::try_from(p.at_least), u32::try_from(p.within_days)) {
                (Ok(at_least), Ok(within_days))
                    if at_least > 0 && i64::from(at_least) <= super::repo::PRIOR_LIMIT && within_days > 0 =>
                {
                    out.prior_contacts = Some(PriorContacts { at_least, within_days });
                }
                _ => self.err(
                    prior.span(),
                    &format!("{path}.prior_contacts"),
                    "at_least (1-25) and within_days (1 or more) must be whole numbers",
                ),
            }
        }
        if let Some(items) = &c.level {
            let p = format!("{path}.level");
            if allow_level {
                out.level = Some(
                    items.iter().enumerate().filter_map(|(i, l)| self.level(levels, l, &format!("{p}[{i}]"))).collect(),
                );
            } else if let Some(first) = items.first() {
                self.err(first.span(), &p, "is only allowed in routes (rules decide the level)");
            }
        }
        out.any = c
            .any
            .iter()
            .enumerate()
            .map(|(i, a)| self.condition(a, &format!("{path}.any[{i}]"), levels, allow_level))
            .collect();
        if c.any.len() == 1 {
            self.err(raw.span(), &format!("{path}.any"), "needs at least two alternatives");
        }
        out.not = c.not.as_ref().map(|n| Box::new(self.condition(n, &format!("{path}.not"), levels, allow_level)));
        out
    }
}

impl Checker<'_> {
    fn clocks(&mut self, raw: &RawPolicy, levels: &[String]) -> ClockPolicy {
        use crate::worktime::Budget;
        let calendar = self.calendar(&raw.calendar);
        let t = &raw.timescales;
        let feedback = self.budget(&t.feedback, "timescales.feedback");
        let mut decision = Vec::new();
        for level in levels {
            if let Some(v) = t.decision.get_ref().get(level) {
                decision.push(self.budget(v, &format!("timescales.decision.{level}")));
            } else {
                self.err(t.decision.span(), "timescales.decision", format!("needs a budget for level {level}"));
                decision.push(None);
            }
        }
        for (name, v) in t.decision.get_ref() {
            if !levels.contains(name) {
                self.err(v.span(), &format!("timescales.decision.{name}"), "is not one of the levels");
            }
        }

        let ladder = self.ladder(&raw.ladder, levels);
        ClockPolicy {
            calendar,
            decision: decision.into_iter().map(|b| b.unwrap_or(Budget::Elapsed(chrono::TimeDelta::hours(1)))).collect(),
            feedback: feedback.unwrap_or(Budget::Elapsed(chrono::TimeDelta::hours(1))),
            pause_reasons: t.pause_reasons.clone(),
            ladder,
        }
    }

    fn calendar(&mut self, cal: &RawCalendar) -> crate::worktime::Calendar {
        use crate::worktime::{Calendar, calendar::bank_holidays};
        let tz = cal.timezone.get_ref().parse::<chrono_tz::Tz>().ok();
        if tz.is_none() {
            self.err(cal.timezone.span(), "calendar.timezone", "is not an IANA timezone name, e.g. \"Europe/London\"");
        }
        let holidays = bank_holidays(cal.bank_holidays.get_ref());
        if holidays.is_none() {
            self.err(
                cal.bank_holidays.span(),
                "calendar.bank_holidays",
                "must be england-and-wales, scotland or northern-ireland",
            );
        }
        let mut time = |v: &Spanned<String>, path: &str| {
            let t = chrono::NaiveTime::parse_from_str(v.get_ref(), "%H:%M").ok();
            if t.is_none() {
                self.err(v.span(), path, "must be a time of day as HH:MM");
            }
            t
        };
        let (opens, closes) = (time(&cal.opens, "calendar.opens"), time(&cal.closes, "calendar.closes"));
        if let (Some(o), Some(c)) = (opens, closes)
            && o >= c
        {
            self.err(cal.closes.span(), "calendar.closes", "must be after opens");
        }
        let mut working_days = [false; 7];
        for day in cal.working_days.get_ref() {
            match ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].iter().position(|d| *d == day.as_str()) {
                Some(i) => working_days[i] = true,
                None => self.err(
                    cal.working_days.span(),
                    "calendar.working_days",
                    "days are mon, tue, wed, thu, fri, sat, sun",
                ),
            }
        }
        if !working_days.contains(&true) {
            self.err(cal.working_days.span(), "calendar.working_days", "must name at least one day");
        }
        let mut closed_days = holidays.clone().unwrap_or_default();
        for (i, d) in cal.closures.iter().enumerate() {
            match chrono::NaiveDate::parse_from_str(d.get_ref(), "%Y-%m-%d") {
                Ok(date) => {
                    closed_days.insert(date);
                }
                Err(_) => self.err(d.span(), &format!("calendar.closures[{i}]"), "must be a date as YYYY-MM-DD"),
            }
        }
        Calendar {
            tz: tz.unwrap_or(chrono_tz::Europe::London),
            opens: opens.unwrap_or_default(),
            closes: closes.unwrap_or_default(),
            working_days,
            holidays_until: holidays.as_ref().and_then(|h| h.last().copied()),
            closed_days,
        }
    }

    fn ladder(&mut self, raw: &Spanned<Vec<RawStep>>, levels: &[String]) -> Vec<LadderStep> {
        let mut ladder = Vec::new();
        let mut names = BTreeSet::new();
        for (i, s) in raw.get_ref().iter().enumerate() {
            let path = format!("ladder[{i}]");
            let name = s.step.get_ref();
            if !names.insert(name.clone())
                || name.is_empty()
                || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            {
                self.err(s.step.span(), &format!("{path}.step"), "must be a unique lower_snake_case name");
            }
            let at = *s.at.get_ref();
            if !(0.0..=1.0).contains(&at) {
                self.err(s.at.span(), &format!("{path}.at"), "must be a fraction from 0.0 to 1.0");
            }
            let levels_set = s.levels.as_ref().map(|ls| {
                ls.iter()
                    .enumerate()
                    .filter_map(|(j, l)| self.level(levels, l, &format!("{path}.levels[{j}]")))
                    .collect()
            });
            let effect = match s.effect.as_ref().map(|e| e.get_ref().as_str()) {
                None => StepEffect::Notify,
                Some("escalate") => StepEffect::Escalate,
                Some("breach") => StepEffect::Breach,
                Some(_) => {
                    if let Some(e) = &s.effect {
                        self.err(e.span(), &format!("{path}.effect"), "must be escalate or breach");
                    }
                    StepEffect::Notify
                }
            };
            ladder.push(LadderStep { step: name.clone(), at, levels: levels_set, notify: s.notify.clone(), effect });
        }
        // No contact may breach its timescale unnoticed: every clock needs a breach step at 100%.
        if !ladder
            .iter()
            .any(|s| s.effect == StepEffect::Breach && (s.at - 1.0).abs() < f64::EPSILON && s.levels.is_none())
        {
            self.err(raw.span(), "ladder", "needs a step with effect = \"breach\" at 1.0 for every level");
        }
        ladder.sort_by(|a, b| a.at.total_cmp(&b.at));
        ladder
    }

    fn budget(&mut self, v: &Spanned<String>, path: &str) -> Option<crate::worktime::Budget> {
        match v.get_ref().parse::<crate::worktime::Budget>() {
            Ok(b) => Some(b),
            Err(message) => {
                self.err(v.span(), path, message);
                None
            }
        }
    }

    fn levels(&mut self, raw: &RawPolicy) -> Vec<String> {
        let levels: Vec<String> = raw.levels.get_ref().iter().map(|l| l.get_ref().clone()).collect();
        if !(3..=4).contains(&levels.len()) {
            self.err(raw.levels.span(), "levels", "must name 3 or 4 levels, lowest first");
        }
        let distinct: BTreeSet<&String> = levels.iter().collect();
        if distinct.len() != levels.len() {
            self.err(raw.levels.span(), "levels", "must not repeat a level");
        }
        if raw.name.get_ref().trim().is_empty() || raw.name.get_ref().contains('+') {
            self.err(raw.name.span(), "name", "must be non-empty and contain no '+'");
        }
        levels
    }

    fn rules(&mut self, raw: &[RawRule], levels: &[String], ids: &mut BTreeSet<String>) -> Vec<Rule> {
        let mut rules = Vec::new();
        let mut previous_level = usize::MAX;
        for (i, r) in raw.iter().enumerate() {
            let path = format!("rules[{i}]");
            if !ids.insert(r.id.get_ref().clone()) {
                self.err(r.id.span(), &format!("{path}.id"), "repeats another rule's or modifier's id");
            }
            let level = self.level(levels, &r.level, &format!("{path}.level"));
            if let Some(level) = level {
                // First match wins, so rules must run from the highest level down: otherwise a
                // lower rule could shadow a higher one that also holds.
                if level > previous_level {
                    self.err(
                        r.level.span(),
                        &format!("{path}.level"),
                        "rules must be ordered from the highest level down",
                    );
                }
                previous_level = level;
            }
            let when = self.condition(&r.when, &format!("{path}.when"), levels, false);
            rules.push(Rule {
                id: r.id.get_ref().clone(),
                level: level.unwrap_or(0),
                explanation: r.explanation.clone(),
                flags: r.flags.clone(),
                when,
            });
        }
        rules
    }

    fn modifiers(&mut self, raw: &[RawModifier], levels: &[String], ids: &mut BTreeSet<String>) -> Vec<Modifier> {
        let mut modifiers = Vec::new();
        for (i, m) in raw.iter().enumerate() {
            let path = format!("modifiers[{i}]");
            if !ids.insert(m.id.get_ref().clone()) {
                self.err(m.id.span(), &format!("{path}.id"), "repeats another rule's or modifier's id");
            }
            let raise = usize::try_from(*m.raise.get_ref()).ok().filter(|r| (1..levels.len().max(2)).contains(r));
            if raise.is_none() {
                self.err(m.raise.span(), &format!("{path}.raise"), "must be at least 1 and below the number of levels");
            }
            let when = self.condition(&m.when, &format!("{path}.when"), levels, false);
            modifiers.push(Modifier {
                id: m.id.get_ref().clone(),
                raise: raise.unwrap_or(1),
                explanation: m.explanation.clone(),
                flags: m.flags.clone(),
                when,
            });
        }
        modifiers
    }

    fn routes(&mut self, raw: &Spanned<Vec<RawRoute>>, levels: &[String]) -> (Vec<Route>, Vec<String>) {
        let mut routes = Vec::new();
        let mut queues = Vec::new();
        for (i, r) in raw.get_ref().iter().enumerate() {
            let path = format!("routes[{i}]");
            let queue = r.queue.get_ref();
            if queue.is_empty() || !queue.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
                self.err(r.queue.span(), &format!("{path}.queue"), "must be lower-case letters, digits and hyphens");
            }
            if !queues.contains(queue) {
                queues.push(queue.clone());
            }
            let when =
                r.when.as_ref().map(|w| self.condition(w, &format!("{path}.when"), levels, true)).unwrap_or_default();
            routes.push(Route { queue: queue.clone(), explanation: r.explanation.clone(), when });
        }
        if raw.get_ref().last().is_none_or(|r| r.when.is_some()) {
            self.err(raw.span(), "routes", "the last route must have no `when`, so every contact has a queue");
        }
        (routes, queues)
    }

    fn narrative(&mut self, n: &RawNarrative) -> NarrativeSignals {
        let negation_window = usize::try_from(*n.negation_window.get_ref()).ok().filter(|w| (1..=20).contains(w));
        if negation_window.is_none() {
            self.err(n.negation_window.span(), "narrative.negation_window", "must be between 1 and 20");
        }
        let injury_terms: Vec<Vec<String>> =
            n.injury_terms.get_ref().iter().map(|t| words(t)).filter(|w| !w.is_empty()).collect();
        if injury_terms.is_empty() {
            self.err(n.injury_terms.span(), "narrative.injury_terms", "must list at least one term");
        }
        let single = |list: &[String]| list.iter().flat_map(|w| words(w)).collect::<BTreeSet<String>>();
        NarrativeSignals {
            injury_terms,
            negation_cues: single(&n.negation_cues),
            negation_fillers: single(&n.negation_fillers),
            negation_window: negation_window.unwrap_or(6),
            clause_breaks: single(&n.clause_breaks),
            ignore_phrases: n.ignore_phrases.iter().map(|p| words(p)).filter(|w| !w.is_empty()).collect(),
        }
    }
}

/// `AgencyKind` ordered for sets (by declaration order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AgencyKindOrd(AgencyKind);

impl FromStr for AgencyKindOrd {
    type Err = strum::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Self)
    }
}

impl VariantNames for AgencyKindOrd {
    const VARIANTS: &'static [&'static str] = <AgencyKind as VariantNames>::VARIANTS;
}

impl PartialOrd for AgencyKindOrd {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for AgencyKindOrd {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        AgencyKindKey::of(self.0).cmp(&AgencyKindKey::of(other.0))
    }
}

/// A term as the narrative matcher will see it: the same tokenisation as the text, so "black-eye"
/// is the two words "black eye".
fn words(term: &str) -> Vec<String> {
    super::narrative::words_of(term)
}

impl Policy {
    /// The shipped default policy.
    pub fn default_policy() -> Result<Self, PolicyErrors> {
        Self::parse(DEFAULT_POLICY)
    }

    /// Parses and checks a policy file's text.
    pub fn parse(text: &str) -> Result<Self, PolicyErrors> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let mut checker = Checker { text, errors: Vec::new() };
            let message = e.message().to_owned();
            match e.span() {
                Some(span) => checker.err(span, "(file)", message),
                None => checker.errors.push(PolicyError { line: None, column: None, path: "(file)".into(), message }),
            }
            PolicyErrors(checker.errors)
        })?;
        let mut c = Checker { text, errors: Vec::new() };
        let levels = c.levels(&raw);
        let default_level = c.level(&levels, &raw.default_level, "default_level").unwrap_or(0);
        let mut ids = BTreeSet::new();
        let rules = c.rules(&raw.rules, &levels, &mut ids);
        let modifiers = c.modifiers(&raw.modifiers, &levels, &mut ids);
        let (routes, queues) = c.routes(&raw.routes, &levels);
        let narrative = c.narrative(&raw.narrative);
        let clocks = c.clocks(&raw, &levels);
        let w = &raw.worklist;
        if !(1..=24 * 60).contains(w.claim_lease_minutes.get_ref()) {
            c.err(w.claim_lease_minutes.span(), "worklist.claim_lease_minutes", "must be from 1 to 1440");
        }
        let outcomes = w.outcomes.get_ref().clone();
        if outcomes.is_empty()
            || outcomes
                .iter()
                .any(|o| o.is_empty() || !o.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
        {
            c.err(w.outcomes.span(), "worklist.outcomes", "must list lower_snake_case outcome names");
        }
        if !c.errors.is_empty() {
            return Err(PolicyErrors(c.errors));
        }
        let digest = hex::encode(Sha256::digest(text.as_bytes()));
        Ok(Self {
            version: format!("{}+sha256:{digest}", raw.name.get_ref()),
            name: raw.name.into_inner(),
            levels,
            default_level,
            default_explanation: raw.default_explanation,
            rules,
            modifiers,
            routes,
            narrative,
            queues,
            clocks,
            claim_lease: chrono::TimeDelta::minutes(*w.claim_lease_minutes.get_ref()),
            outcomes,
        })
    }

    /// The highest level's index.
    pub fn top_level(&self) -> LevelIndex {
        self.levels.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_default_is_valid_and_versioned_by_its_bytes() {
        let p = Policy::default_policy().unwrap();
        assert_eq!(p.levels, ["green", "amber", "red"]);
        assert_eq!(p.rules.len(), 8);
        assert_eq!(p.modifiers.len(), 2);
        assert_eq!(p.queues, ["immediate", "exploitation", "domestic-abuse", "screening"]);
        assert!(p.version.starts_with("default-2026.1+sha256:"));
        assert_eq!(p.version.len(), "default-2026.1+sha256:".len() + 64);
        assert_eq!(
            p.clocks.ladder.iter().map(|s| s.step.as_str()).collect::<Vec<_>>(),
            ["notify_duty_manager", "reminder", "escalate", "breach"]
        );
        assert_eq!(p.clocks.decision.len(), 3);
        assert!(p.clocks.calendar.closed_days.contains(&chrono::NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()));
        let edited = Policy::parse(&format!("{DEFAULT_POLICY}\n# a comment\n")).unwrap();
        assert_ne!(edited.version, p.version, "any edit is a new version");
    }

    fn errors(text: &str) -> Vec<String> {
        Policy::parse(text).unwrap_err().0.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_semantic_error_is_reported_with_its_line() {
        let text = DEFAULT_POLICY
            .replace(
                r#"when = { concerns_any = ["female_genital_mutilation"] }"#,
                r#"when = { concerns_any = ["fgm"] }"#,
            )
            .replace(r#"id = "fgm""#, r#"id = "immediate_risk""#)
            .replace(r"when = { immediate_risk = true }", r#"when = { immediate_risk = true, age_under = "6 months" }"#)
            .replace(
                "raise = 1\nexplanation = \"The child is under 1",
                "raise = 7\nexplanation = \"The child is under 1",
            );
        let found = errors(&text);
        assert_eq!(found.len(), 4, "{found:#?}");
        let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
        assert!(
            found.iter().any(|e| e.starts_with(&format!("{}:", line_of(r#"concerns_any = ["fgm"]"#)))
                && e.contains("rules[4].when.concerns_any[0]")),
            "{found:#?}"
        );
        assert!(found.iter().any(|e| e.contains("rules[4].id") && e.contains("repeats")), "{found:#?}");
        assert!(found.iter().any(|e| e.contains("rules[0].when.age_under")), "{found:#?}");
        assert!(found.iter().any(|e| e.contains("modifiers[0].raise")), "{found:#?}");
    }

    #[test]
    fn rules_out_of_order_unknown_levels_and_a_missing_catch_all_route_are_errors() {
        let text = DEFAULT_POLICY
            .replacen(r#"level = "red""#, r#"level = "amber""#, 1)
            .replace("[[routes]]\nqueue = \"screening\"\nexplanation = \"Everything else.\"\n", "")
            .replace(r#"default_level = "green""#, r#"default_level = "blue""#);
        let found = errors(&text);
        assert!(found.iter().any(|e| e.contains("rules[1].level") && e.contains("highest level down")), "{found:#?}");
        assert!(found.iter().any(|e| e.contains("default_level")), "{found:#?}");
        assert!(found.iter().any(|e| e.contains("routes") && e.contains("last route")), "{found:#?}");
    }

    #[test]
    fn a_syntax_or_shape_error_has_a_position() {
        let found = errors("name = \"x\"\nlevels = [\"a\", \"b\", \"c\"]\ndefault_level = \"a\"\nbogus = 1\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("(file)"), "{found:?}");
        let found =
            errors(&DEFAULT_POLICY.replace("when = { immediate_risk = true }", "when = { immediate_risk = \"yes\" }"));
        assert!(found[0].chars().next().unwrap().is_ascii_digit(), "a line number first: {found:?}");
    }

    #[test]
    fn the_clock_sections_are_checked_too() {
        let text = DEFAULT_POLICY
            .replace(r#"timezone = "Europe/London""#, r#"timezone = "Europe/Londres""#)
            .replace(r#"closes = "17:00""#, r#"closes = "08:00""#)
            .replace(r#"green = "3 working days""#, r#"green = "3 working weeks""#)
            .replace("at = 1.0", "at = 1.5");
        let found = errors(&text);
        for needle in [
            "calendar.timezone",
            "calendar.closes",
            "timescales.decision.green",
            "ladder[3].at",
            "needs a step with effect",
        ] {
            assert!(found.iter().any(|e| e.contains(needle)), "{needle}: {found:#?}");
        }
    }

    #[test]
    fn age_spans_parse() {
        assert_eq!("6m".parse::<AgeSpan>(), Ok(AgeSpan::Months(6)));
        assert_eq!("13y".parse::<AgeSpan>(), Ok(AgeSpan::Years(13)));
        assert_eq!("10d".parse::<AgeSpan>(), Ok(AgeSpan::Days(10)));
        assert!("6".parse::<AgeSpan>().is_err());
        assert!("m".parse::<AgeSpan>().is_err());
        assert!("".parse::<AgeSpan>().is_err());
        assert!("6é".parse::<AgeSpan>().is_err(), "a multi-byte unit is an error, not a panic");
    }
}
