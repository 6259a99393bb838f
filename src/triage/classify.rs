//! The classification engine: a pure function from a contact's facts and a [`Policy`] to a
//! [`Decision`]. No I/O, no clock: the same facts and policy always give the same decision.

use std::collections::BTreeSet;

use chrono::{DateTime, Months, NaiveDate, TimeDelta, Utc};
use chrono_tz::Europe::London;

use super::narrative::{Mention, People, find_injury};
use crate::{
    auth::AgencyKind,
    contact::model::{Concern, DashRisk, NewContact},
    policy::{AgeSpan, AgencyKindKey, Condition, LevelIndex, Policy},
};

/// What the engine knows about the contact as a whole.
#[derive(Debug, Clone)]
pub struct ContactFacts {
    pub concerns: BTreeSet<Concern>,
    pub immediate_risk: bool,
    pub disclosure_made: bool,
    /// An injury: observed (structured) or described in the text and not negated.
    pub injury: bool,
    /// Where in the text the injury was read, when it was read from text (none when the
    /// structured fields report it): the reason names the sentence and any doubt.
    pub injury_read: Option<InjuryRead>,
    pub dash_risk: Option<DashRisk>,
    pub child_present: Option<bool>,
    pub agency_kind: AgencyKind,
    pub received_at: DateTime<Utc>,
}

/// Which free text an injury was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextSource {
    Narrative,
    InjuryDescription,
}

/// An injury read from free text: which text, and the mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InjuryRead {
    pub source: TextSource,
    pub mention: Mention,
}

impl InjuryRead {
    /// The sentence to add to a reason that rests on this injury: where to read it, and whether
    /// the reading is uncertain. Positions only, never the text.
    pub fn describe(&self) -> String {
        let text = match self.source {
            TextSource::Narrative => "narrative",
            TextSource::InjuryDescription => "injury description",
        };
        let n = self.mention.sentence;
        match self.mention.doubt {
            None => format!("The injury is described in sentence {n} of the {text}."),
            Some(doubt) => format!(
                "Uncertain ({}): the {text} may describe an injury; read sentence {n} of the {text}.",
                doubt.describe()
            ),
        }
    }

    /// Whether the reading is uncertain.
    pub fn uncertain(&self) -> bool {
        self.mention.doubt.is_some()
    }
}

/// What the engine knows about one child.
#[derive(Debug, Clone, Default)]
pub struct ChildFacts {
    pub date_of_birth: Option<NaiveDate>,
    pub unborn: bool,
    pub non_mobile: bool,
    /// When earlier contacts about this child were received (any agency).
    pub prior_contacts: Vec<DateTime<Utc>>,
}

/// One rule, modifier or route that fired.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reason {
    /// The rule's, modifier's or route's id in the policy.
    pub rule: String,
    /// What it did: a level name (rule), `raise:N` (modifier) or `queue:NAME` (route).
    pub effect: String,
    pub explanation: String,
    /// The child it concerns (0-based), for rules and modifiers.
    pub child: Option<usize>,
    /// The reason rests on other contacts about the child (possibly from other agencies), so it
    /// is shown to hub staff only, never in an agency's view.
    pub uses_other_contacts: bool,
}

/// The outcome of classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub level: LevelIndex,
    pub urgency: String,
    pub queue: String,
    pub reasons: Vec<Reason>,
    pub flags: Vec<String>,
    pub policy_version: String,
}

impl ChildFacts {
    /// The facts of each child of a submission, with no earlier contacts yet (the service adds
    /// them from the store).
    pub fn of(contact: &NewContact) -> Vec<Self> {
        contact
            .children
            .iter()
            .map(|c| Self {
                date_of_birth: c.date_of_birth,
                unborn: c.date_of_birth.is_none() && c.expected_date_of_birth.is_some(),
                non_mobile: c.non_mobile == Some(true),
                prior_contacts: Vec::new(),
            })
            .collect()
    }
}

impl ContactFacts {
    /// The contact-level facts of a submission, received at `received_at` from `agency_kind`.
    pub fn of(contact: &NewContact, agency_kind: AgencyKind, received_at: DateTime<Utc>, policy: &Policy) -> Self {
        let structured = contact.injury.as_ref();
        let reported = structured.is_some_and(|i| i.observed == Some(true) || i.non_accidental_suspected == Some(true));
        let injury_read = if reported { None } else { read_injury(contact, policy) };
        Self {
            concerns: contact.concerns.iter().copied().collect(),
            immediate_risk: contact.immediate_risk,
            disclosure_made: contact.disclosure_made,
            injury: reported || injury_read.is_some(),
            injury_read,
            dash_risk: contact.police.as_ref().and_then(|p| p.dash_risk),
            child_present: contact.police.as_ref().and_then(|p| p.child_present),
            agency_kind,
            received_at,
        }
    }
}

/// The injury the contact's free text describes: the first certain reading of the injury
/// description, then of the narrative, else the first uncertain one. The people named in the
/// contact are not injury words ("Mark") and own what the text gives them ("Ava had a bruise").
fn read_injury(contact: &NewContact, policy: &Policy) -> Option<InjuryRead> {
    let people = People::of(contact);
    let description = contact.injury.as_ref().and_then(|i| i.description.as_deref());
    let texts = description.map(|d| (TextSource::InjuryDescription, d)).into_iter();
    let mut uncertain = None;
    for (source, text) in texts.chain([(TextSource::Narrative, contact.narrative.as_str())]) {
        if let Some(mention) = find_injury(text, &policy.narrative, &people) {
            let read = InjuryRead { source, mention };
            if !read.uncertain() {
                return Some(read);
            }
            uncertain = uncertain.or(Some(read));
        }
    }
    uncertain
}

/// The date a span after `from`.
fn add_span(from: NaiveDate, span: AgeSpan) -> Option<NaiveDate> {
    match span {
        AgeSpan::Days(d) => from.checked_add_signed(TimeDelta::days(i64::from(d))),
        AgeSpan::Months(m) => from.checked_add_months(Months::new(m)),
        AgeSpan::Years(y) => from.checked_add_months(Months::new(y.checked_mul(12)?)),
    }
}

struct Context<'a> {
    contact: &'a ContactFacts,
    child: &'a ChildFacts,
    received_on: NaiveDate,
    /// The contact's level, for route conditions.
    level: Option<LevelIndex>,
}

impl Context<'_> {
    /// Whether the child's age at receipt is below `span`. Unborn or unknown: no (DOMAIN.md names
    /// unborn children separately, "under 1 year old or unborn", and the policy says `unborn`).
    fn age_under(&self, span: AgeSpan) -> bool {
        !self.child.unborn
            && self
                .child
                .date_of_birth
                .and_then(|dob| add_span(dob, span))
                .is_some_and(|limit| self.received_on < limit)
    }

    /// Whether the child's age at receipt is at least `span`. Unborn or unknown: no.
    fn age_at_least(&self, span: AgeSpan) -> bool {
        !self.child.unborn
            && self
                .child
                .date_of_birth
                .and_then(|dob| add_span(dob, span))
                .is_some_and(|limit| self.received_on >= limit)
    }

    fn holds(&self, c: &Condition) -> bool {
        let contact = self.contact;
        c.concerns_any.as_ref().is_none_or(|set| set.iter().any(|x| contact.concerns.contains(x)))
            && c.immediate_risk.is_none_or(|v| v == contact.immediate_risk)
            && c.disclosure_made.is_none_or(|v| v == contact.disclosure_made)
            && c.injury.is_none_or(|v| v == contact.injury)
            && c.non_mobile.is_none_or(|v| v == self.child.non_mobile)
            && c.unborn.is_none_or(|v| v == self.child.unborn)
            && c.age_under.is_none_or(|span| self.age_under(span))
            && c.age_at_least.is_none_or(|span| self.age_at_least(span))
            && c.dash_risk.as_ref().is_none_or(|set| contact.dash_risk.is_some_and(|d| set.contains(&d)))
            && c.child_present.is_none_or(|v| contact.child_present == Some(v))
            && c.agency_kind.as_ref().is_none_or(|set| set.contains(&AgencyKindKey::of(contact.agency_kind)))
            && c.prior_contacts.is_none_or(|p| {
                // "Within 90 days" in calendar days in London, so a clock change cannot move it.
                let since = self.received_on - TimeDelta::days(i64::from(p.within_days));
                // Earlier means committed earlier: the caller passes only other contacts received
                // up to this one, so an equal instant counts.
                let count = self
                    .child
                    .prior_contacts
                    .iter()
                    .filter(|at| at.with_timezone(&London).date_naive() >= since && **at <= contact.received_at)
                    .count();
                u32::try_from(count).unwrap_or(u32::MAX) >= p.at_least
            })
            && c.level.as_ref().is_none_or(|set| self.level.is_some_and(|l| set.contains(&l)))
            && (c.any.is_empty() || c.any.iter().any(|a| self.holds(a)))
            && c.not.as_ref().is_none_or(|n| !self.holds(n))
    }
}

/// Classifies a contact about `children` under `policy`.
///
/// Each child: the first rule that holds sets its base level (else the default), then every
/// modifier that holds raises it, capped at the top level. The contact's level is the highest
/// child's; the first route that holds (for any child) names the queue.
pub fn classify(policy: &Policy, contact: &ContactFacts, children: &[ChildFacts]) -> Decision {
    let received_on = contact.received_at.with_timezone(&London).date_naive();
    let mut reasons = Vec::new();
    let mut flags = BTreeSet::new();
    let mut level = 0;
    let no_child = [ChildFacts::default()];
    let children = if children.is_empty() { &no_child[..] } else { children };
    for (index, child) in children.iter().enumerate() {
        let cx = Context { contact, child, received_on, level: None };
        let mut child_level = if let Some(rule) = policy.rules.iter().find(|r| cx.holds(&r.when)) {
            reasons.push(Reason {
                rule: rule.id.clone(),
                effect: policy.levels[rule.level].clone(),
                explanation: with_injury_read(&rule.explanation, &rule.when, contact),
                child: Some(index),
                uses_other_contacts: rule.when.uses_prior_contacts(),
            });
            flags.extend(rule.flags.iter().cloned());
            rule.level
        } else {
            reasons.push(Reason {
                rule: "default".into(),
                effect: policy.levels[policy.default_level].clone(),
                explanation: policy.default_explanation.clone(),
                child: Some(index),
                uses_other_contacts: false,
            });
            policy.default_level
        };
        for modifier in policy.modifiers.iter().filter(|m| cx.holds(&m.when)) {
            let raised = (child_level + modifier.raise).min(policy.top_level());
            reasons.push(Reason {
                rule: modifier.id.clone(),
                effect: format!("raise:{}", modifier.raise),
                explanation: with_injury_read(
                    &if raised == child_level {
                        format!("{} (already at the highest level)", modifier.explanation)
                    } else {
                        format!("{} Raised to {}.", modifier.explanation, policy.levels[raised])
                    },
                    &modifier.when,
                    contact,
                ),
                child: Some(index),
                uses_other_contacts: modifier.when.uses_prior_contacts(),
            });
            flags.extend(modifier.flags.iter().cloned());
            child_level = raised;
        }
        level = level.max(child_level);
    }
    let (queue, route_reason) = route_for(policy, contact, children, level);
    reasons.extend(route_reason);
    Decision {
        level,
        urgency: policy.levels[level].clone(),
        queue,
        reasons,
        flags: flags.into_iter().collect(),
        policy_version: policy.version.clone(),
    }
}

/// A rule's or modifier's explanation, followed by where the injury it rests on was read (and
/// whether that reading is uncertain) when its condition asks for an injury read from text.
fn with_injury_read(explanation: &str, when: &Condition, contact: &ContactFacts) -> String {
    match contact.injury_read {
        Some(read) if when.reads_injury() => format!("{explanation} {}", read.describe()),
        _ => explanation.to_owned(),
    }
}

/// The queue for a contact at `level`: the first route that holds for any child, with its reason.
pub fn route_for(
    policy: &Policy,
    contact: &ContactFacts,
    children: &[ChildFacts],
    level: LevelIndex,
) -> (String, Option<Reason>) {
    let received_on = contact.received_at.with_timezone(&London).date_naive();
    let no_child = [ChildFacts::default()];
    let children = if children.is_empty() { &no_child[..] } else { children };
    let route = policy.routes.iter().find(|r| {
        children.iter().any(|child| Context { contact, child, received_on, level: Some(level) }.holds(&r.when))
    });
    match route {
        Some(route) => (
            route.queue.clone(),
            Some(Reason {
                rule: format!("route:{}", route.queue),
                effect: format!("queue:{}", route.queue),
                explanation: route.explanation.clone(),
                child: None,
                uses_other_contacts: route.when.uses_prior_contacts(),
            }),
        ),
        // The policy check guarantees a final route with no condition; this is a last resort.
        None => ("screening".to_owned(), None),
    }
}
