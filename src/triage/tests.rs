//! The default policy, rule by rule, with the boundaries DOMAIN.md implies.

use chrono::{DateTime, Months, NaiveDate, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;

use super::{ChildFacts, ContactFacts, Decision, classify};
use crate::policy::Policy;
use crate::{
    auth::AgencyKind,
    contact::model::{Concern, DashRisk},
};

fn policy() -> Policy {
    Policy::default_policy().unwrap()
}

/// Received at noon on 2026-11-22 (London).
fn received() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn contact(concerns: &[Concern]) -> ContactFacts {
    ContactFacts {
        concerns: concerns.iter().copied().collect(),
        immediate_risk: false,
        disclosure_made: false,
        injury: false,
        injury_read: None,
        dash_risk: None,
        child_present: None,
        agency_kind: AgencyKind::School,
        received_at: received(),
    }
}

fn aged_months(months: u32) -> ChildFacts {
    ChildFacts { date_of_birth: today().checked_sub_months(Months::new(months)), ..ChildFacts::default() }
}

fn aged_years(years: u32) -> ChildFacts {
    aged_months(years * 12)
}

fn decide(c: &ContactFacts, children: &[ChildFacts]) -> Decision {
    classify(&policy(), c, children)
}

fn rules(d: &Decision) -> Vec<&str> {
    d.reasons.iter().map(|r| r.rule.as_str()).collect()
}

#[test]
fn immediate_risk_is_red_whatever_the_concern() {
    let c = ContactFacts { immediate_risk: true, ..contact(&[Concern::Neglect]) };
    let d = decide(&c, &[aged_years(7)]);
    assert_eq!((d.urgency.as_str(), d.queue.as_str()), ("red", "immediate"));
    assert_eq!(rules(&d), ["immediate_risk", "route:immediate"]);
}

#[test]
fn injury_on_a_baby_under_six_months_is_red_and_at_exactly_six_months_is_not() {
    let c = ContactFacts { injury: true, ..contact(&[Concern::Neglect]) };
    assert_eq!(decide(&c, &[aged_months(5)]).urgency, "red");
    let a_day_short = today().checked_sub_months(Months::new(6)).unwrap() + TimeDelta::days(1);
    let d = decide(&c, &[ChildFacts { date_of_birth: Some(a_day_short), ..ChildFacts::default() }]);
    assert!(rules(&d).contains(&"injury_non_mobile"), "six months old tomorrow is still under six months");
    let six = decide(&c, &[aged_months(6)]);
    assert!(!rules(&six).contains(&"injury_non_mobile"));
    assert_eq!(six.urgency, "amber", "green neglect raised once for being under one");
}

#[test]
fn injury_on_a_non_mobile_child_of_any_age_is_red() {
    let c = ContactFacts { injury: true, ..contact(&[Concern::Neglect]) };
    let d = decide(&c, &[ChildFacts { non_mobile: true, ..aged_years(3) }]);
    assert_eq!(d.urgency, "red");
    assert_eq!(d.reasons[0].rule, "injury_non_mobile");
    // Without an injury the same child is not red.
    assert_eq!(
        decide(&contact(&[Concern::Neglect]), &[ChildFacts { non_mobile: true, ..aged_years(3) }]).urgency,
        "green"
    );
}

#[test]
fn sexual_abuse_is_red_when_disclosed_or_under_13_and_amber_otherwise() {
    let sa = contact(&[Concern::SexualAbuse]);
    let disclosed = ContactFacts { disclosure_made: true, ..sa.clone() };
    assert_eq!(decide(&disclosed, &[aged_years(15)]).reasons[0].rule, "sexual_abuse_disclosed");
    assert_eq!(decide(&sa, &[aged_years(10)]).reasons[0].rule, "sexual_abuse_under_13");
    let turned_13_today = decide(&sa, &[aged_years(13)]);
    assert_eq!(turned_13_today.urgency, "amber", "a child who turned 13 today is not under 13");
    assert_eq!(turned_13_today.reasons[0].rule, "serious_harm_concern");
    let day_before = ChildFacts {
        date_of_birth: Some(today().checked_sub_months(Months::new(156)).unwrap() + TimeDelta::days(1)),
        ..ChildFacts::default()
    };
    assert_eq!(decide(&sa, &[day_before]).urgency, "red", "13 tomorrow is still under 13");
}

#[test]
fn fgm_is_red() {
    assert_eq!(decide(&contact(&[Concern::FemaleGenitalMutilation]), &[aged_years(9)]).reasons[0].rule, "fgm");
}

#[test]
fn missing_is_red_only_with_sexual_exploitation_or_trafficking() {
    for with in [Concern::ChildSexualExploitation, Concern::Trafficking] {
        let d = decide(&contact(&[Concern::Missing, with]), &[aged_years(15)]);
        assert_eq!((d.urgency.as_str(), d.reasons[0].rule.as_str()), ("red", "missing_with_exploitation"));
    }
    let alone = decide(&contact(&[Concern::Missing]), &[aged_years(14)]);
    assert_eq!((alone.urgency.as_str(), alone.queue.as_str()), ("amber", "exploitation"));
    let cce = decide(&contact(&[Concern::Missing, Concern::ChildCriminalExploitation]), &[aged_years(14)]);
    assert_eq!(cce.urgency, "amber");
}

#[test]
fn domestic_abuse_is_amber_at_high_dash_risk_and_green_below() {
    let high = ContactFacts { dash_risk: Some(DashRisk::High), ..contact(&[Concern::DomesticAbuse]) };
    let d = decide(&high, &[aged_years(6)]);
    assert_eq!(
        (d.urgency.as_str(), d.queue.as_str(), d.reasons[0].rule.as_str()),
        ("amber", "domestic-abuse", "domestic_abuse_high_risk")
    );
    for risk in [None, Some(DashRisk::Standard), Some(DashRisk::Medium)] {
        let c = ContactFacts { dash_risk: risk, ..contact(&[Concern::DomesticAbuse]) };
        let d = decide(&c, &[aged_years(6)]);
        assert_eq!((d.urgency.as_str(), d.queue.as_str()), ("green", "domestic-abuse"), "{risk:?}");
    }
}

#[test]
fn a_high_dash_risk_is_domestic_abuse_at_high_risk_without_the_concern() {
    // DOMAIN.md, rule 7: a DASH risk is assessed only for domestic abuse.
    let c = ContactFacts { dash_risk: Some(DashRisk::High), ..contact(&[Concern::Neglect]) };
    let d = decide(&c, &[aged_years(6)]);
    assert_eq!(
        (d.urgency.as_str(), d.queue.as_str(), d.reasons[0].rule.as_str()),
        ("amber", "domestic-abuse", "domestic_abuse_high_risk")
    );
    let no_concern = ContactFacts { dash_risk: Some(DashRisk::High), ..contact(&[]) };
    assert_eq!(decide(&no_concern, &[aged_years(6)]).queue, "domestic-abuse");
    // Exploitation still routes first, and a red contact goes to immediate.
    let cce = ContactFacts { dash_risk: Some(DashRisk::High), ..contact(&[Concern::ChildCriminalExploitation]) };
    assert_eq!(decide(&cce, &[aged_years(15)]).queue, "exploitation");
    assert_eq!(decide(&c, &[aged_months(8)]).queue, "immediate");
    // Below high, without the concern, it is not domestic abuse.
    let medium = ContactFacts { dash_risk: Some(DashRisk::Medium), ..contact(&[Concern::Neglect]) };
    assert_eq!(
        (decide(&medium, &[aged_years(6)]).urgency.as_str(), decide(&medium, &[aged_years(6)]).queue.as_str()),
        ("green", "screening")
    );
}

#[test]
fn child_sexual_exploitation_under_13_is_red_under_rule_4() {
    let cse = contact(&[Concern::ChildSexualExploitation]);
    let d = decide(&cse, &[aged_years(12)]);
    assert_eq!((d.urgency.as_str(), d.reasons[0].rule.as_str()), ("red", "sexual_abuse_under_13"));
    assert_eq!(d.queue, "immediate");
    let thirteen = decide(&cse, &[aged_years(13)]);
    assert_eq!((thirteen.urgency.as_str(), thirteen.queue.as_str()), ("amber", "exploitation"));
    // Criminal exploitation is not sexual abuse.
    assert_eq!(decide(&contact(&[Concern::ChildCriminalExploitation]), &[aged_years(12)]).urgency, "amber");
}

#[test]
fn every_serious_harm_concern_is_amber_and_others_green() {
    let amber = [
        Concern::PhysicalAbuse,
        Concern::SexualAbuse,
        Concern::ChildSexualExploitation,
        Concern::ChildCriminalExploitation,
        Concern::Trafficking,
        Concern::ModernSlavery,
        Concern::Radicalisation,
        Concern::ForcedMarriage,
        Concern::HonourBasedAbuse,
        Concern::Missing,
        Concern::SelfHarm,
        Concern::Gangs,
    ];
    for concern in <Concern as strum::VariantArray>::VARIANTS {
        let d = decide(&contact(&[*concern]), &[aged_years(15)]);
        let expected = if *concern == Concern::FemaleGenitalMutilation {
            "red"
        } else if amber.contains(concern) {
            "amber"
        } else {
            "green"
        };
        assert_eq!(d.urgency, expected, "{concern}");
    }
}

#[test]
fn green_has_a_default_reason() {
    let d = decide(&contact(&[Concern::YoungCarer]), &[aged_years(12)]);
    assert_eq!((d.urgency.as_str(), d.queue.as_str()), ("green", "screening"));
    assert_eq!(rules(&d), ["default", "route:screening"]);
    assert!(d.policy_version.starts_with("default-2026.3+sha256:"));
}

#[test]
fn under_one_or_unborn_raises_by_one_level() {
    let neglect = contact(&[Concern::Neglect]);
    assert_eq!(decide(&neglect, &[aged_months(11)]).urgency, "amber");
    assert_eq!(decide(&neglect, &[aged_years(1)]).urgency, "green", "exactly one year old is not under one");
    let unborn = ChildFacts { unborn: true, ..ChildFacts::default() };
    let d = decide(&contact(&[Concern::ParentalSubstanceMisuse]), &[unborn]);
    assert_eq!(d.urgency, "amber");
    assert!(rules(&d).contains(&"under_one_or_unborn"));
    // Amber raised to red, and red stays red.
    let pa = decide(&contact(&[Concern::PhysicalAbuse]), &[aged_months(8)]);
    assert_eq!((pa.urgency.as_str(), pa.queue.as_str()), ("red", "immediate"));
    let red = ContactFacts { immediate_risk: true, ..neglect };
    assert_eq!(decide(&red, &[aged_months(2)]).urgency, "red");
}

#[test]
fn a_child_of_unknown_age_is_never_under_or_over_an_age() {
    let sa = contact(&[Concern::SexualAbuse]);
    let d = decide(&sa, &[ChildFacts::default()]);
    assert_eq!(d.urgency, "amber");
    assert!(!rules(&d).contains(&"under_one_or_unborn"));
}

#[test]
fn the_third_contact_in_90_days_raises_by_one() {
    let neglect = contact(&[Concern::Neglect]);
    let at = |days: i64| received() - TimeDelta::days(days);
    let child = |priors: Vec<DateTime<Utc>>| ChildFacts { prior_contacts: priors, ..aged_years(7) };
    assert_eq!(decide(&neglect, &[child(vec![at(10)])]).urgency, "green", "second contact");
    let third = decide(&neglect, &[child(vec![at(10), at(80)])]);
    assert_eq!(third.urgency, "amber");
    assert!(rules(&third).contains(&"repeat_contacts"));
    assert_eq!(decide(&neglect, &[child(vec![at(10), at(91)])]).urgency, "green", "one prior is outside 90 days");
    assert_eq!(decide(&neglect, &[child(vec![at(10), at(90)])]).urgency, "amber", "exactly 90 days counts");
}

#[test]
fn both_modifiers_stack_and_stop_at_red() {
    let neglect = contact(&[Concern::Neglect]);
    let priors = vec![received() - TimeDelta::days(3), received() - TimeDelta::days(30)];
    let d = decide(&neglect, &[ChildFacts { unborn: true, prior_contacts: priors.clone(), ..ChildFacts::default() }]);
    assert_eq!(d.urgency, "red");
    let pa = decide(
        &contact(&[Concern::PhysicalAbuse]),
        &[ChildFacts { unborn: true, prior_contacts: priors, ..ChildFacts::default() }],
    );
    assert_eq!(pa.urgency, "red");
    assert!(pa.reasons.iter().any(|r| r.explanation.contains("already at the highest level")));
}

#[test]
fn the_contact_takes_its_most_urgent_child_and_reasons_name_the_child() {
    let pa = contact(&[Concern::PhysicalAbuse]);
    let d = decide(&pa, &[aged_years(6), aged_months(8)]);
    assert_eq!((d.urgency.as_str(), d.queue.as_str()), ("red", "immediate"));
    assert_eq!(
        d.reasons.iter().filter(|r| r.child == Some(1)).map(|r| r.rule.as_str()).collect::<Vec<_>>(),
        ["serious_harm_concern", "under_one_or_unborn"]
    );
    assert_eq!(d.reasons.iter().filter(|r| r.child == Some(0)).count(), 1);
}

#[test]
fn routing_puts_exploitation_before_domestic_abuse_and_red_before_both() {
    let both = decide(&contact(&[Concern::Gangs, Concern::DomesticAbuse]), &[aged_years(15)]);
    assert_eq!(both.queue, "exploitation");
    assert_eq!(
        decide(&contact(&[Concern::Trafficking, Concern::ModernSlavery]), &[aged_years(15)]).queue,
        "exploitation"
    );
    assert_eq!(decide(&contact(&[Concern::Radicalisation]), &[aged_years(15)]).queue, "screening");
    let red_da = ContactFacts { immediate_risk: true, ..contact(&[Concern::DomesticAbuse]) };
    assert_eq!(decide(&red_da, &[aged_years(4)]).queue, "immediate");
}

#[test]
fn narrative_injuries_feed_the_injury_fact_unless_negated() {
    use crate::contact::model::{Child, Consent, ConsentStatus, NewContact, Referrer};
    let base = NewContact {
        agency_reference: "R".into(),
        referrer: Referrer { name: "R".into(), role: "R".into(), phone: None, email: None, anonymity_requested: false },
        children: vec![Child {
            given_name: Some("A".into()),
            family_name: None,
            date_of_birth: Some(today() - TimeDelta::days(90)),
            expected_date_of_birth: None,
            gender: None,
            ethnicity: None,
            nhs_number: None,
            upn: None,
            non_mobile: None,
            address: None,
            school: None,
        }],
        adults: vec![],
        concerns: vec![Concern::Neglect],
        injury: None,
        disclosure_made: false,
        immediate_risk: false,
        narrative: "At the home visit I noticed a bruise on the baby's forehead.".into(),
        incident_at: None,
        police: None,
        health: None,
        school: None,
        consent: Consent { status: ConsentStatus::Obtained, reason_not_sought: None },
    };
    let p = policy();
    assert!(ContactFacts::of(&base, AgencyKind::Health, received(), &p).injury);
    for negated in
        ["No bruises or marks were seen on the baby.", "there were no marks or bruising", "mother reports no injuries"]
    {
        let c = NewContact { narrative: negated.into(), ..base.clone() };
        assert!(!ContactFacts::of(&c, AgencyKind::Health, received(), &p).injury, "{negated}");
    }

    // Issue 15's four false reds: a three-month-old whose narrative says there is no injury to
    // the child is amber (neglect, raised for being under one), not red.
    for narrative in [
        "I checked the baby for bruising and none was found.",
        "None of the professionals involved (nursery staff, the GP or the health visitor) has ever seen any \
         bruising or other injury on him.",
        "Seen at the 8-week check by Dr Marks, who is worried about poor weight gain",
        "Mother had a swollen lip and said her partner had punched her. The baby was asleep upstairs; officers \
         checked him and he was unharmed.",
    ] {
        let c = NewContact { narrative: narrative.into(), ..base.clone() };
        let facts = ContactFacts::of(&c, AgencyKind::Police, received(), &p);
        let d = classify(&p, &facts, &ChildFacts::of(&c));
        assert_eq!(d.urgency, "amber", "{narrative}: {:?}", d.reasons);
    }

    // The reason says which sentence to read and whether the reading is uncertain, never
    // quoting the text.
    let red = |narrative: &str| {
        let c = NewContact { narrative: narrative.into(), ..base.clone() };
        let d = classify(&p, &ContactFacts::of(&c, AgencyKind::Health, received(), &p), &ChildFacts::of(&c));
        assert_eq!(d.urgency, "red", "{narrative}");
        d.reasons.into_iter().find(|r| r.rule == "injury_non_mobile").unwrap().explanation
    };
    let certain = red("Home visit. Mother was tearful. The baby had a bruise on his cheek.");
    assert!(certain.ends_with("The injury is described in sentence 3 of the narrative."), "{certain}");
    let uncertain = red("Weight gain poor. Possible burn to the left hand, to be reviewed.");
    assert!(uncertain.contains("Uncertain (worded as a possibility"), "{uncertain}");
    assert!(uncertain.ends_with("read sentence 2 of the narrative."), "{uncertain}");
    assert!(!uncertain.contains("burn") && !certain.contains("bruise"), "no text is quoted");
    // A structured injury needs no sentence.
    let structured = NewContact {
        narrative: "See the injury fields.".into(),
        injury: Some(crate::contact::model::Injury {
            observed: Some(true),
            description: None,
            non_accidental_suspected: None,
        }),
        ..base.clone()
    };
    let facts = ContactFacts::of(&structured, AgencyKind::Health, received(), &p);
    assert!(facts.injury && facts.injury_read.is_none());
}

fn any_concerns() -> impl Strategy<Value = Vec<Concern>> {
    proptest::sample::subsequence(<Concern as strum::VariantArray>::VARIANTS.to_vec(), 0..5)
}

prop_compose! {
    fn any_contact()(concerns in any_concerns(), immediate in any::<bool>(), disclosed in any::<bool>(),
                     injury in any::<bool>(), dash in proptest::option::of(0usize..3)) -> ContactFacts {
        ContactFacts {
            immediate_risk: immediate,
            disclosure_made: disclosed,
            injury,
            dash_risk: dash.map(|d| [DashRisk::Standard, DashRisk::Medium, DashRisk::High][d]),
            ..contact(&concerns)
        }
    }
}

prop_compose! {
    fn any_child()(age_days in proptest::option::of(0i64..(18 * 366)), unborn in any::<bool>(), non_mobile in any::<bool>(),
                   priors in proptest::collection::vec(0i64..200, 0..4)) -> ChildFacts {
        ChildFacts {
            date_of_birth: if unborn { None } else { age_days.map(|d| today() - TimeDelta::days(d)) },
            unborn,
            non_mobile,
            prior_contacts: priors.into_iter().map(|d| received() - TimeDelta::days(d)).collect(),
        }
    }
}

proptest! {
    #[test]
    fn adding_a_concern_or_a_risk_fact_never_lowers_the_urgency(
        c in any_contact(), children in proptest::collection::vec(any_child(), 1..3),
        extra in proptest::sample::select(<Concern as strum::VariantArray>::VARIANTS.to_vec()), fact in 0usize..6,
    ) {
        let p = policy();
        let before = classify(&p, &c, &children).level;
        let mut more = c.clone();
        more.concerns.insert(extra);
        prop_assert!(classify(&p, &more, &children).level >= before, "adding {extra}");
        let mut riskier = c.clone();
        let mut riskier_children = children.clone();
        match fact {
            0 => riskier.immediate_risk = true,
            1 => riskier.disclosure_made = true,
            2 => riskier.injury = true,
            3 => riskier.dash_risk = Some(DashRisk::High),
            4 => riskier_children[0].non_mobile = true,
            _ => riskier_children[0].prior_contacts.push(received() - TimeDelta::days(1)),
        }
        prop_assert!(classify(&p, &riskier, &riskier_children).level >= before, "risk fact {fact}");
    }

    #[test]
    fn the_same_contact_and_policy_always_give_the_same_decision(
        c in any_contact(), children in proptest::collection::vec(any_child(), 1..3),
    ) {
        let p = policy();
        let first = classify(&p, &c, &children);
        prop_assert_eq!(&first, &classify(&p, &c, &children));
        prop_assert_eq!(&first, &classify(&Policy::default_policy().unwrap(), &c, &children));
        prop_assert!(first.reasons.iter().any(|r| r.rule.starts_with("route:")));
    }
}

#[test]
fn rules_and_modifiers_can_add_flags() {
    let text = crate::policy::DEFAULT_POLICY.replace(
        "explanation = \"Domestic abuse with a high DASH risk.\"",
        "explanation = \"Domestic abuse with a high DASH risk.\"\nflags = [\"marac\"]",
    );
    let p = Policy::parse(&text).unwrap();
    let high = ContactFacts { dash_risk: Some(DashRisk::High), ..contact(&[Concern::DomesticAbuse]) };
    assert_eq!(classify(&p, &high, &[aged_years(6)]).flags, ["marac"]);
    assert!(classify(&p, &contact(&[Concern::DomesticAbuse]), &[aged_years(6)]).flags.is_empty());
}

#[test]
fn a_policy_can_use_agency_kind_child_present_and_not() {
    let text = crate::policy::DEFAULT_POLICY.replace(
        "# ------------------------------------------------------------------------------------ modifiers",
        "# ------------------------------------------------------------------------------------ modifiers\n\
         [[modifiers]]\nid = \"police_child_present\"\nraise = 1\nexplanation = \"x\"\n\
         when = { agency_kind = [\"police\"], child_present = true, not = { concerns_any = [\"neglect\"] } }\n",
    );
    let p = Policy::parse(&text).unwrap();
    let police = ContactFacts {
        agency_kind: AgencyKind::Police,
        child_present: Some(true),
        ..contact(&[Concern::DomesticAbuse])
    };
    assert_eq!(classify(&p, &police, &[aged_years(6)]).urgency, "amber");
    let school = ContactFacts { agency_kind: AgencyKind::School, ..police.clone() };
    assert_eq!(classify(&p, &school, &[aged_years(6)]).urgency, "green");
    let with_neglect = ContactFacts { concerns: [Concern::DomesticAbuse, Concern::Neglect].into(), ..police };
    assert_eq!(classify(&p, &with_neglect, &[aged_years(6)]).urgency, "green");
}

#[test]
fn an_unborn_child_is_not_under_any_age_but_is_raised_as_unborn() {
    let unborn = ChildFacts { unborn: true, ..ChildFacts::default() };
    // An injury in an unborn child's contact is someone else's (usually the mother's).
    let c = ContactFacts { injury: true, ..contact(&[Concern::Neglect]) };
    let d = decide(&c, std::slice::from_ref(&unborn));
    assert!(!rules(&d).contains(&"injury_non_mobile"));
    assert_eq!((d.urgency.as_str(), d.queue.as_str()), ("amber", "screening"));
    // Not "under 13" either: sexual abuse concerning an unborn child is amber, raised to red.
    let sa = decide(&contact(&[Concern::SexualAbuse]), &[unborn]);
    assert_eq!(sa.reasons[0].rule, "serious_harm_concern");
    assert_eq!(sa.urgency, "red");
}

#[test]
fn a_child_with_no_date_of_birth_gets_no_age_rule_or_modifier() {
    let d = decide(&contact(&[Concern::PhysicalAbuse]), &[ChildFacts::default()]);
    assert_eq!(d.urgency, "amber");
    let injured = ContactFacts { injury: true, ..contact(&[Concern::Neglect]) };
    assert_eq!(decide(&injured, &[ChildFacts::default()]).urgency, "green");
    assert_eq!(decide(&injured, &[ChildFacts { non_mobile: true, ..ChildFacts::default() }]).urgency, "red");
}

#[test]
fn an_injury_reported_with_several_children_counts_for_each_of_them() {
    // The contact's injury fields do not say whose injury it is, so a baby in the same contact
    // is treated as injured: the error is towards red, never away from it.
    let c = ContactFacts { injury: true, ..contact(&[Concern::PhysicalAbuse]) };
    let d = decide(&c, &[aged_years(9), aged_months(3)]);
    assert_eq!(d.urgency, "red");
    assert!(d.reasons.iter().any(|r| r.rule == "injury_non_mobile" && r.child == Some(1)));
}

#[test]
fn the_repeat_window_counts_london_calendar_days_across_a_clock_change() {
    // Received 2026-11-22 12:00 GMT; a prior on 2026-08-24 (90 days before, in BST) counts.
    let prior = Utc.with_ymd_and_hms(2026, 8, 24, 7, 30, 0).unwrap();
    let child = ChildFacts { prior_contacts: vec![prior, received() - TimeDelta::days(1)], ..aged_years(7) };
    assert_eq!(decide(&contact(&[Concern::Neglect]), &[child]).urgency, "amber");
}
