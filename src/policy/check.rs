//! The checker: turns the file as written ([`super::raw`]) into the checked model, collecting
//! every semantic problem (unknown level, concern or agency kind, duplicate id, bad duration or
//! time, rules out of order, a ladder without a breach step) with its line and column, rather
//! than stopping at the first.

use std::{collections::BTreeSet, ops::Range, str::FromStr};

use strum::VariantNames;
use toml::Spanned;

use super::{
    AgeSpan, AgencyKindKey, AuthorisationRule, ClockPolicy, Condition, LadderStep, LevelIndex, Modifier, PRIOR_LIMIT,
    Policy, PolicyError, PolicyErrors, PriorContacts, Route, Rule, StepEffect,
    raw::{RawAuthorisation, RawCalendar, RawCondition, RawModifier, RawPolicy, RawRoute, RawRule, RawStep},
};
use crate::{
    vocabulary::{AgencyKind, Concern, DashRisk},
    worktime::{Budget, Calendar, calendar::bank_holidays},
};

/// The problem that stopped TOML from reading the file (its syntax, or a value of the wrong
/// shape), with its position when the parser knows it.
pub(super) fn shape_error(text: &str, error: &toml::de::Error) -> PolicyErrors {
    let mut checker = Checker { text, errors: Vec::new() };
    let message = error.message().to_owned();
    match error.span() {
        Some(span) => checker.err(span, "(file)", message),
        None => checker.errors.push(PolicyError { line: None, column: None, path: "(file)".into(), message }),
    }
    PolicyErrors(checker.errors)
}

/// Checks a file that TOML could read, into a policy recorded as `version`, or every problem.
pub(super) fn policy(text: &str, raw: RawPolicy, version: String) -> Result<Policy, PolicyErrors> {
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
    let snake =
        |o: &String| !o.is_empty() && o.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    let outcomes = w.outcomes.get_ref().clone();
    if outcomes.is_empty() || !outcomes.iter().all(snake) {
        c.err(w.outcomes.span(), "worklist.outcomes", "must list lower_snake_case outcome names");
    }
    let referral_outcomes = w.referral_outcomes.get_ref().clone();
    if !referral_outcomes.iter().all(|o| outcomes.contains(o)) {
        c.err(
            w.referral_outcomes.span(),
            "worklist.referral_outcomes",
            "must name only outcomes listed in worklist.outcomes",
        );
    }
    let threshold_levels = w.threshold_levels.get_ref().clone();
    if threshold_levels.is_empty() || !threshold_levels.iter().all(snake) {
        c.err(w.threshold_levels.span(), "worklist.threshold_levels", "must list lower_snake_case level names");
    }
    let late_reasons = w.late_reasons.get_ref().clone();
    if late_reasons.is_empty() || !late_reasons.iter().all(snake) {
        c.err(w.late_reasons.span(), "worklist.late_reasons", "must list lower_snake_case reason names");
    }
    let late_reasons_with_text = w.late_reasons_with_text.get_ref().clone();
    if !late_reasons_with_text.iter().all(|r| late_reasons.contains(r)) {
        c.err(
            w.late_reasons_with_text.span(),
            "worklist.late_reasons_with_text",
            "must name only reasons listed in worklist.late_reasons",
        );
    }
    let authorisation = c.authorisation(&w.authorisation, &outcomes, &levels);
    if !c.errors.is_empty() {
        return Err(PolicyErrors(c.errors));
    }
    Ok(Policy {
        version,
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
        late_reasons,
        late_reasons_with_text,
        referral_outcomes,
        threshold_levels,
        authorisation,
    })
}

/// Collects problems with positions in `text`.
pub(super) struct Checker<'t> {
    text: &'t str,
    pub(super) errors: Vec<PolicyError>,
}

impl Checker<'_> {
    fn position(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    pub(super) fn err(&mut self, span: Range<usize>, path: &str, message: impl Into<String>) {
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
                    if at_least > 0 && i64::from(at_least) <= PRIOR_LIMIT && within_days > 0 =>
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
        let calendar = self.calendar(&raw.calendar);
        let t = &raw.timescales;
        let feedback = self.budget(&t.feedback, "timescales.feedback");
        let authorisation = self.budget(&t.authorisation, "timescales.authorisation");
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
            authorisation: authorisation.unwrap_or(Budget::Elapsed(chrono::TimeDelta::hours(1))),
            pause_reasons: t.pause_reasons.clone(),
            ladder,
        }
    }

    fn calendar(&mut self, cal: &RawCalendar) -> Calendar {
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

    /// `worklist.authorisation`: each entry a unique reason, outcomes from the policy's list and
    /// levels from its levels.
    fn authorisation(
        &mut self,
        raw: &Spanned<Vec<RawAuthorisation>>,
        outcomes: &[String],
        levels: &[String],
    ) -> Vec<AuthorisationRule> {
        let mut reasons = BTreeSet::new();
        let mut rules = Vec::new();
        for (i, a) in raw.get_ref().iter().enumerate() {
            let path = format!("worklist.authorisation[{i}]");
            let reason = a.reason.get_ref();
            if !reasons.insert(reason.clone())
                || reason.is_empty()
                || !reason.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                self.err(a.reason.span(), &format!("{path}.reason"), "must be a unique lower_snake_case name");
            }
            if let Some(o) = &a.outcomes
                && (o.get_ref().is_empty() || !o.get_ref().iter().all(|x| outcomes.contains(x)))
            {
                self.err(o.span(), &format!("{path}.outcomes"), "must name outcomes listed in worklist.outcomes");
            }
            let level_set = a.levels.as_ref().map(|ls| {
                ls.iter()
                    .enumerate()
                    .filter_map(|(j, l)| self.level(levels, l, &format!("{path}.levels[{j}]")))
                    .collect()
            });
            if a.outcomes.is_none() && a.levels.is_none() && !a.breached {
                self.err(
                    a.reason.span(),
                    &path,
                    "needs outcomes, levels or breached: it would hold back every decision",
                );
            }
            rules.push(AuthorisationRule {
                reason: reason.clone(),
                outcomes: a.outcomes.as_ref().map(|o| o.get_ref().clone()),
                levels: level_set,
                breached: a.breached,
            });
        }
        rules
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

    fn budget(&mut self, v: &Spanned<String>, path: &str) -> Option<Budget> {
        match v.get_ref().parse::<Budget>() {
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

#[cfg(test)]
mod tests {
    use super::super::{DEFAULT_POLICY, Policy};

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
}
