//! How long triage takes for one contact: the pure engine (facts to decision), and the whole of
//! it from a validated contact (narrative scan included). Run with `cargo bench --bench classify`;
//! the figures are in docs/PERFORMANCE.md.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark fails by panicking")]

use std::hint::black_box;

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use mash_triage::{
    auth::AgencyKind,
    intake::{Today, validate::parse_new_contact},
    policy::Policy,
    triage::{ChildFacts, ContactFacts, classify},
};

fn contact_json() -> serde_json::Value {
    serde_json::json!({
        "agency_reference": "BENCH-1",
        "referrer": {"name": "PC Jo Hart", "role": "Response officer"},
        "children": [
            {"given_name": "Ava", "family_name": "Smith", "date_of_birth": "2026-07-30", "nhs_number": "9434765919"},
            {"given_name": "Noah", "family_name": "Smith", "date_of_birth": "2019-02-11"}
        ],
        "concerns": ["domestic_abuse", "neglect", "parental_substance_misuse"],
        "narrative": "Attended a domestic incident late at night. Mother had been drinking and the house was cold. \
                      The older child said he was hungry. No bruises or marks were seen on the baby, but the \
                      officer noted a small red mark on the older child's wrist that he could not explain.",
        "police": {"dash_risk": "high", "child_present": true},
        "consent": {"status": "not_sought", "reason_not_sought": "would_prejudice_investigation"}
    })
}

fn bench(c: &mut Criterion) {
    let policy = Policy::default_policy().expect("the default policy is valid");
    let received = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
    let today = Today { date: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(), now: received };
    let contact = parse_new_contact(&contact_json(), today).expect("the bench contact is valid");
    let children: Vec<ChildFacts> = contact
        .children
        .iter()
        .map(|ch| ChildFacts {
            date_of_birth: ch.date_of_birth,
            prior_contacts: vec![received - TimeDelta::days(20), received - TimeDelta::days(60)],
            ..ChildFacts::default()
        })
        .collect();
    let facts = ContactFacts::of(&contact, AgencyKind::Police, received, &policy);

    c.bench_function("classify (facts to decision)", |b| {
        b.iter(|| classify(black_box(&policy), black_box(&facts), black_box(&children)));
    });
    c.bench_function("triage one contact (narrative scan + classify)", |b| {
        b.iter(|| {
            let facts = ContactFacts::of(black_box(&contact), AgencyKind::Police, received, &policy);
            classify(&policy, &facts, black_box(&children))
        });
    });
    c.bench_function("validate one contact (JSON value to NewContact)", |b| {
        let json = contact_json();
        b.iter(|| parse_new_contact(black_box(&json), today));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
