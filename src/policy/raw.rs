//! The policy file as written: the serde shapes TOML is read into, with the spans the checker
//! needs for line:column errors. Unknown keys are refused here (`deny_unknown_fields`); what the
//! values mean is [`super::check`]'s business. Private to the policy folder.

use std::collections::BTreeMap;

use serde::Deserialize;
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
    pub(super) narrative: RawNarrative,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNarrative {
    pub(super) injury_terms: Spanned<Vec<String>>,
    pub(super) negation_cues: Vec<String>,
    #[serde(default)]
    pub(super) negation_fillers: Vec<String>,
    pub(super) negation_window: Spanned<i64>,
    #[serde(default)]
    pub(super) clause_breaks: Vec<String>,
    #[serde(default)]
    pub(super) ignore_phrases: Vec<String>,
}
