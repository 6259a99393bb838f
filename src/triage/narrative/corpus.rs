//! The matcher measured on the labelled corpus (`tests/fixtures/narrative-corpus.tsv`): every
//! item labelled "injury" must be found (recall 100%: a missed injury on a baby is the failure
//! that matters most), and precision must not fall below its measured floor. The goal is
//! 98%: the matcher reaches 98.3% on the 376 items written before the `pronoun` batch and 94.0%
//! on the whole corpus, whose later items include wordings it leaves counted on purpose (a
//! pronoun after a child is mentioned, a named adult of unknown gender, blood that nothing ties
//! to anyone); rules that read them were tried and withdrawn, because they missed real injuries
//! (docs/NARRATIVE.md lists both, and `tests::wordings_that_looser_readings_missed_still_count`
//! keeps the misses). The figures are printed; with
//! `cargo test --lib narrative_corpus -- --nocapture` they are the ones docs/NARRATIVE.md quotes.

use std::collections::BTreeMap;

use super::{Owner, People, Verdict, find_injury, read};
use crate::policy::Policy;

const CORPUS: &str = include_str!("../../../tests/fixtures/narrative-corpus.tsv");

/// The precision the issue asks for.
const PRECISION_GOAL: f64 = 0.98;
/// The precision the matcher must not fall below on the whole corpus: what it measures now
/// (221 of 235, 0.940), so that a change that over-counts more fails here.
const PRECISION_FLOOR: f64 = 0.94;
/// The items written before the `pronoun` batch (N001-N376), on which the floor was first
/// measured (0.96), and its floor now: what it measures (171 of 174, 0.983).
const LAST_BEFORE_PRONOUNS: u32 = 376;
const PRECISION_FLOOR_BEFORE_PRONOUNS: f64 = 0.98;

struct Item<'c> {
    id: &'c str,
    injury: bool,
    voice: &'c str,
    pattern: &'c str,
    people: People,
    text: String,
}

fn items() -> Vec<Item<'static>> {
    CORPUS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("id\t") && !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 6, "six tab-separated fields: {line}");
            let injury = match f[1] {
                "injury" => true,
                "none" => false,
                other => panic!("{}: label {other} is neither injury nor none", f[0]),
            };
            let mut people = People::default();
            for person in f[4].split(';').filter(|p| !p.is_empty()) {
                let (role, name) = person.split_once(':').unwrap();
                people.add(name, if role == "child" { Owner::Child } else { Owner::Adult });
            }
            Item { id: f[0], injury, voice: f[2], pattern: f[3], people, text: f[5].replace("\\n", "\n") }
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    true_pos: u32,
    false_pos: u32,
    false_neg: u32,
    true_neg: u32,
    uncertain: u32,
}

impl Tally {
    fn add(&mut self, expected: bool, found: bool, uncertain: bool) {
        match (expected, found) {
            (true, true) => self.true_pos += 1,
            (false, true) => self.false_pos += 1,
            (true, false) => self.false_neg += 1,
            (false, false) => self.true_neg += 1,
        }
        self.uncertain += u32::from(found && uncertain);
    }

    fn recall(&self) -> f64 {
        f64::from(self.true_pos) / f64::from((self.true_pos + self.false_neg).max(1))
    }

    fn precision(&self) -> f64 {
        f64::from(self.true_pos) / f64::from((self.true_pos + self.false_pos).max(1))
    }

    fn line(&self, name: &str) -> String {
        let percent = |value: f64, defined: bool| if defined { format!("{:.1}%", 100.0 * value) } else { "-".into() };
        format!(
            "{name:<18} {:>4} items  recall {:>6}  precision {:>6}  (tp {}, fp {}, fn {}, tn {}; {} counted uncertain)",
            self.true_pos + self.false_pos + self.false_neg + self.true_neg,
            percent(self.recall(), self.true_pos + self.false_neg > 0),
            percent(self.precision(), self.true_pos + self.false_pos > 0),
            self.true_pos,
            self.false_pos,
            self.false_neg,
            self.true_neg,
            self.uncertain,
        )
    }
}

#[test]
fn narrative_corpus() {
    let signals = Policy::default_policy().unwrap().narrative;
    let items = items();
    assert!(items.len() >= 300, "the corpus has {} items; it should have at least 300", items.len());
    let mut total = Tally::default();
    let mut before_pronouns = Tally::default();
    let mut by_pattern: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut by_voice: BTreeMap<&str, Tally> = BTreeMap::new();
    let (mut missed, mut over) = (Vec::new(), Vec::new());
    for item in &items {
        let found = find_injury(&item.text, &signals, &item.people);
        let uncertain = found.is_some_and(|m| m.doubt.is_some());
        for tally in [&mut total, by_pattern.entry(item.pattern).or_default(), by_voice.entry(item.voice).or_default()]
        {
            tally.add(item.injury, found.is_some(), uncertain);
        }
        if item.id[1..].parse::<u32>().is_ok_and(|n| n <= LAST_BEFORE_PRONOUNS) {
            before_pronouns.add(item.injury, found.is_some(), uncertain);
        }
        let verdicts: Vec<Verdict> = read(&item.text, &signals, &item.people).into_iter().map(|r| r.verdict).collect();
        if item.injury && found.is_none() {
            missed.push(format!("{} {}: {verdicts:?}", item.id, item.pattern));
        }
        if !item.injury && found.is_some() {
            over.push(format!("{} {}: {verdicts:?}", item.id, item.pattern));
        }
    }
    println!("narrative corpus: {}", total.line("all"));
    println!("  {}", before_pronouns.line("before pronouns"));
    for (name, tally) in by_voice.iter().chain(&by_pattern) {
        println!("  {}", tally.line(name));
    }
    println!(
        "precision goal {:.0}%: {}",
        100.0 * PRECISION_GOAL,
        if total.precision() >= PRECISION_GOAL { "met" } else { "not met" }
    );
    println!("false positives (counted, labelled none): {over:#?}");
    assert!(missed.is_empty(), "missed injuries (recall must be 100%): {missed:#?}");
    assert!(
        total.precision() >= PRECISION_FLOOR,
        "precision {:.3} is below its floor {PRECISION_FLOOR}: {over:#?}",
        total.precision()
    );
    assert!(
        before_pronouns.precision() >= PRECISION_FLOOR_BEFORE_PRONOUNS,
        "precision {:.3} on the items before the pronoun batch is below its floor {PRECISION_FLOOR_BEFORE_PRONOUNS}",
        before_pronouns.precision()
    );
}
