//! The policy file as written: the serde shapes TOML is read into, with the spans the checker
//! needs for line:column errors. Unknown keys are refused here (`deny_unknown_fields`); what the
//! values mean is [`super::check`]'s business. Private to the policy folder.

use std::collections::BTreeMap;

use serde::{Deserialize, de::IgnoredAny};
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub(super) name: Spanned<String>,
    pub(super) levels: Spanned<Vec<Spanned<String>>>,
    pub(super) default_level: Spanned<String>,
    pub(super) default_explanation: String,
    #[serde(default)]
    pub(super) rules: Vec<RawRule>,
    #[serde(default)]
    pub(super) modifiers: Vec<RawModifier>,
    pub(super) routes: Spanned<Vec<RawRoute>>,
    pub(super) narrative: Spanned<RawNarrative>,
    pub(super) calendar: RawCalendar,
    pub(super) timescales: RawTimescales,
    pub(super) ladder: Spanned<Vec<RawStep>>,
    pub(super) worklist: RawWorklist,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorklist {
    pub(super) claim_lease_minutes: Spanned<i64>,
    pub(super) outcomes: Spanned<Vec<String>>,
    pub(super) late_reasons: Spanned<Vec<String>>,
    pub(super) late_reasons_with_text: Spanned<Vec<String>>,
    pub(super) referral_outcomes: Spanned<Vec<String>>,
    pub(super) threshold_levels: Spanned<Vec<String>>,
    pub(super) authorisation: Spanned<Vec<RawAuthorisation>>,
}

/// One kind of decision a manager must authorise.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuthorisation {
    pub(super) reason: Spanned<String>,
    #[serde(default)]
    pub(super) outcomes: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub(super) levels: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(super) breached: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCalendar {
    pub(super) timezone: Spanned<String>,
    pub(super) bank_holidays: Spanned<String>,
    pub(super) opens: Spanned<String>,
    pub(super) closes: Spanned<String>,
    pub(super) working_days: Spanned<Vec<String>>,
    #[serde(default)]
    pub(super) closures: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTimescales {
    pub(super) decision: Spanned<BTreeMap<String, Spanned<String>>>,
    pub(super) feedback: Spanned<String>,
    pub(super) authorisation: Spanned<String>,
    #[serde(default)]
    pub(super) pause_reasons: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    pub(super) step: Spanned<String>,
    pub(super) at: Spanned<f64>,
    #[serde(default)]
    pub(super) levels: Option<Vec<Spanned<String>>>,
    pub(super) notify: String,
    #[serde(default)]
    pub(super) effect: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub(super) id: Spanned<String>,
    pub(super) level: Spanned<String>,
    pub(super) explanation: String,
    #[serde(default)]
    pub(super) flags: Vec<String>,
    pub(super) when: Spanned<RawCondition>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModifier {
    pub(super) id: Spanned<String>,
    pub(super) raise: Spanned<i64>,
    pub(super) explanation: String,
    #[serde(default)]
    pub(super) flags: Vec<String>,
    pub(super) when: Spanned<RawCondition>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute {
    pub(super) queue: Spanned<String>,
    pub(super) explanation: String,
    #[serde(default)]
    pub(super) when: Option<Spanned<RawCondition>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCondition {
    pub(super) concerns_any: Option<Vec<Spanned<String>>>,
    pub(super) immediate_risk: Option<bool>,
    pub(super) disclosure_made: Option<bool>,
    pub(super) injury: Option<bool>,
    pub(super) non_mobile: Option<bool>,
    pub(super) unborn: Option<bool>,
    pub(super) age_under: Option<Spanned<String>>,
    pub(super) age_at_least: Option<Spanned<String>>,
    pub(super) dash_risk: Option<Vec<Spanned<String>>>,
    pub(super) child_present: Option<bool>,
    pub(super) agency_kind: Option<Vec<Spanned<String>>>,
    pub(super) prior_contacts: Option<Spanned<RawPrior>>,
    pub(super) level: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(super) any: Vec<Spanned<RawCondition>>,
    pub(super) not: Option<Box<Spanned<RawCondition>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrior {
    pub(super) at_least: i64,
    pub(super) within_days: i64,
}

/// A list of words or phrases, each with its position.
pub(super) type RawWords = Spanned<Vec<Spanned<String>>>;

/// `[narrative]` and its sub-tables. The sub-tables are optional here so that a file in the
/// format before 2026.2 (flat `negation_cues`, `negation_fillers`, `negation_window`) gets one
/// clear error per moved key from the checker instead of serde's first "missing field".
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNarrative {
    pub(super) injury_terms: RawWords,
    #[serde(default)]
    pub(super) other_injuries: Option<RawWords>,
    #[serde(default)]
    pub(super) ignore_phrases: Option<RawWords>,
    #[serde(default)]
    pub(super) body_parts: Option<RawWords>,
    #[serde(default)]
    pub(super) list_joins: Option<RawWords>,
    pub(super) sentences: Option<Spanned<RawSentences>>,
    pub(super) negation: Option<Spanned<RawNegation>>,
    pub(super) hypothetical: Option<Spanned<RawHypothetical>>,
    pub(super) owners: Option<Spanned<RawOwners>>,
    pub(super) doubt: Option<Spanned<RawDoubt>>,
    /// Optional: without it no pronoun is read as an adult's (the behaviour before 2026.3).
    #[serde(default)]
    pub(super) pronouns: Option<Spanned<RawPronouns>>,
    /// Keys of the format before 2026.2, reported as moved.
    pub(super) negation_cues: Option<Spanned<IgnoredAny>>,
    pub(super) negation_fillers: Option<Spanned<IgnoredAny>>,
    pub(super) negation_window: Option<Spanned<IgnoredAny>>,
    pub(super) clause_breaks: Option<Spanned<IgnoredAny>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSentences {
    pub(super) sentence_ends: RawWords,
    pub(super) clause_ends: RawWords,
    #[serde(default)]
    pub(super) label_marks: Option<RawWords>,
    pub(super) clause_breaks: RawWords,
    #[serde(default)]
    pub(super) abbreviations: Option<RawWords>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNegation {
    pub(super) before: RawWords,
    pub(super) subjects: RawWords,
    pub(super) subject_words: RawWords,
    pub(super) after: RawWords,
    pub(super) between: RawWords,
    pub(super) findings: RawWords,
    pub(super) presupposing: RawWords,
    pub(super) pseudo: RawWords,
    #[serde(default)]
    pub(super) reversals: Option<RawWords>,
    pub(super) window: Spanned<i64>,
    pub(super) subject_window: Spanned<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHypothetical {
    pub(super) cues: RawWords,
    pub(super) between: RawWords,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOwners {
    pub(super) children: RawWords,
    pub(super) adults: RawWords,
    pub(super) titles: RawWords,
    #[serde(default)]
    pub(super) siblings: Option<RawWords>,
    pub(super) having: RawWords,
    #[serde(default)]
    pub(super) attaching: Option<RawWords>,
    pub(super) modifiers: RawWords,
    #[serde(default)]
    pub(super) pronouns: Option<RawWords>,
    pub(super) prepositions: RawWords,
    #[serde(default)]
    pub(super) shared: Option<RawWords>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPronouns {
    pub(super) he: RawWords,
    pub(super) she: RawWords,
    pub(super) subjects: RawWords,
    pub(super) objects: RawWords,
    pub(super) possessives: RawWords,
    pub(super) men: RawWords,
    pub(super) women: RawWords,
    pub(super) child_context: RawWords,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDoubt {
    pub(super) cues: RawWords,
}
