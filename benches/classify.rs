//! How long triage takes for one contact: the pure engine (facts to decision), the narrative scan
//! alone (a typical narrative, and one of 20,000 characters, the longest intake accepts), and the
//! whole of it from a validated contact. Run with `cargo bench --bench classify`; the figures are
//! in docs/PERFORMANCE.md.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark fails by panicking")]

use std::hint::black_box;

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use mash_triage::{
    auth::AgencyKind,
    intake::{Today, validate::parse_new_contact},
    policy::Policy,
    triage::{
        ChildFacts, ContactFacts, classify,
        narrative::{People, find_injury},
    },
};

/// Police, health and school paragraphs with injuries, negations, adults' injuries and names,
/// repeated to `chars` characters: the longest narrative intake accepts is 20,000.
fn long_narrative(chars: usize) -> String {
    let paragraphs = [
        "Officers attended at 02:10 following a call from a neighbour reporting shouting. Mother answered the \
         door and was tearful. She had a swollen lip and said her partner had punched her. ",
        "The 4-month-old baby was in his cot; officers checked him and no injuries were seen. DASH completed as \
         high risk and the partner was arrested. ",
        "Seen at the 8-week check by Dr Marks, who is worried about poor weight gain. Mother could not explain a \
         small bruise on the baby's left cheek. ",
        "None of the professionals involved (nursery staff, the GP or the health visitor) has ever seen any \
         bruising or other injury on him before. ",
        "Nursery report: attendance is poor and the child is often hungry. Staff checked for marks when he \
         changed and found none. Mum says she is struggling.\n",
    ];
    let mut text = String::with_capacity(chars + 200);
    for p in paragraphs.iter().cycle() {
        if text.len() + p.len() > chars {
            break;
        }
        text.push_str(p);
    }
    text
}

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

    let people = People::of(&contact);
    c.bench_function("narrative scan (typical: 264 characters)", |b| {
        b.iter(|| find_injury(black_box(&contact.narrative), &policy.narrative, &people));
    });
    let long = long_narrative(20_000);
    assert!(long.len() > 19_000 && long.chars().count() <= 20_000);
    c.bench_function("narrative scan (20,000 characters)", |b| {
        b.iter(|| find_injury(black_box(&long), &policy.narrative, &people));
    });
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
