//! The hub's policy: levels, rules, modifiers, routes, narrative signals and clocks, loaded
//! from a TOML file and checked before use.
//!
//! This file owns the checked model and the entry point. [`Policy::parse`] returns a policy
//! only when the whole file is valid; otherwise every semantic problem it finds (unknown level,
//! concern or agency kind, duplicate id, bad duration, rules out of order), each with its line
//! and column. A syntax or shape error stops the parse at the first one, as any TOML parser
//! must. A policy's version is its name plus the SHA-256 of the file's bytes.
//!
//! - `raw`: the file as written (serde shapes with spans), private to this folder.
//! - `check`: the checker from those shapes to this model, collecting every problem.
//! - [`narrative`]: the `[narrative]` section, checked and compiled into a lexicon and phrase
//!   lists for the narrative matcher.
//! - [`words`]: how text splits into words, for the narrative terms and the text they are
//!   matched in.
//!
//! It depends only on the contract's vocabulary and on `worktime`: everything that reads the
//! policy (triage, clocks, worklist, webhooks) sits above it.

mod check;
pub mod narrative;
mod raw;
pub mod words;

use std::{collections::BTreeSet, fmt, str::FromStr};

use sha2::{Digest, Sha256};

pub use narrative::NarrativeSignals;
pub use words::words_of;

use crate::vocabulary::{AgencyKind, Concern, DashRisk};

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
    /// Whether this condition may rest on an injury (`injury = true`, itself or in one of its
    /// `any` alternatives), so that a reason for it says where the injury was read.
    pub fn reads_injury(&self) -> bool {
        self.injury == Some(true) || self.any.iter().any(Condition::reads_injury)
    }

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

/// The most earlier contacts a `prior_contacts.at_least` may ask for. Triage's look-up of a
/// child's earlier contacts fetches at most this many (`triage::repo` uses this constant, the same
/// number).
pub const PRIOR_LIMIT: i64 = 25;

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
    /// Why a decision was late: one is required on a decision recorded after its deadline.
    pub late_reasons: Vec<String>,
    /// The late reasons that need a sentence of their own (`late_reason_text`).
    pub late_reasons_with_text: Vec<String>,
    /// The outcomes that are referrals to children's social care: a contact about a child who
    /// had one within the previous 12 months is a re-referral.
    pub referral_outcomes: Vec<String>,
    /// The hub's threshold levels (its continuum of need); every decision records one.
    pub threshold_levels: Vec<String>,
    /// The decisions a manager must authorise before the referrer is told; a decision matching
    /// any of them waits for authorisation.
    pub authorisation: Vec<AuthorisationRule>,
}

/// One kind of decision that needs a manager's authorisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorisationRule {
    /// Recorded on the decision as why it needed authorisation.
    pub reason: String,
    /// Only decisions with these outcomes; any outcome when `None`.
    pub outcomes: Option<Vec<String>>,
    /// Only contacts at these levels (the hub's rating when decided); any when `None`.
    pub levels: Option<BTreeSet<LevelIndex>>,
    /// Only contacts that breached a timescale.
    pub breached: bool,
}

impl Policy {
    /// The reasons (the policy's, in its order) a decision with `outcome` on a contact at
    /// `level`, breached or not, needs a manager's authorisation; empty when it needs none.
    pub fn authorisation_reasons(&self, outcome: &str, level: Option<LevelIndex>, breached: bool) -> Vec<String> {
        self.authorisation
            .iter()
            .filter(|r| r.outcomes.as_ref().is_none_or(|o| o.iter().any(|x| x == outcome)))
            .filter(|r| r.levels.as_ref().is_none_or(|set| level.is_some_and(|l| set.contains(&l))))
            .filter(|r| !r.breached || breached)
            .map(|r| r.reason.clone())
            .collect()
    }
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
    /// How long a manager has to authorise (or send back) a decision that needs it.
    pub authorisation: crate::worktime::Budget,
    pub pause_reasons: Vec<String>,
    /// Ordered by `at`.
    pub ladder: Vec<LadderStep>,
}

impl Policy {
    /// The shipped default policy.
    pub fn default_policy() -> Result<Self, PolicyErrors> {
        Self::parse(DEFAULT_POLICY)
    }

    /// Parses and checks a policy file's text.
    pub fn parse(text: &str) -> Result<Self, PolicyErrors> {
        let raw: raw::RawPolicy = toml::from_str(text).map_err(|e| check::shape_error(text, &e))?;
        let digest = hex::encode(Sha256::digest(text.as_bytes()));
        let version = format!("{}+sha256:{digest}", raw.name.get_ref());
        check::policy(text, raw, version)
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
        assert!(p.version.starts_with("default-2026.3+sha256:"));
        assert_eq!(p.version.len(), "default-2026.3+sha256:".len() + 64);
        assert_eq!(
            p.clocks.ladder.iter().map(|s| s.step.as_str()).collect::<Vec<_>>(),
            ["notify_duty_manager", "reminder", "escalate", "breach"]
        );
        assert_eq!(p.clocks.decision.len(), 3);
        assert!(p.clocks.calendar.closed_days.contains(&chrono::NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()));
        let edited = Policy::parse(&format!("{DEFAULT_POLICY}\n# a comment\n")).unwrap();
        assert_ne!(edited.version, p.version, "any edit is a new version");
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
