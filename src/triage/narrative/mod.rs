//! Narrative signals: does free text describe an injury to the child?
//!
//! Rule 2 reads the narrative (and the structured injury's description) as a screener would:
//! an injury term counts unless the text negates it (before or after the term, or through a
//! negative subject such as "none of the staff"), calls it a risk or a threat, or gives it to an
//! adult; names and titles ("Dr Marks", "PC Burns", the contact's people) are never injury words.
//! Every cue, scope and terminator is data in the policy's `[narrative]` section
//! ([`NarrativeSignals`]), so a hub extends them without a rebuild; docs/NARRATIVE.md describes
//! the reading with examples and the measured corpus.
//!
//! When the matcher cannot tell, it counts the injury and says why it is uncertain ([`Doubt`])
//! and in which sentence ([`Mention::sentence`], by position: the text is never quoted, so no
//! personal data reaches a reason or a log).
//!
//! - `token`: text to tokens (one lexicon lookup per word), sentences, names.
//! - `pronoun`: "he" and "she" read as an adult named just before them, only where nothing in
//!   the text suggests a child.
//! - `read`: each term's [`Verdict`], by bounded walks around it.
//!
//! Cost: one pass to tokenise, one to find phrases, and a constant amount of work per injury
//! term, so a scan is linear in the text (docs/PERFORMANCE.md has the figures).

mod pronoun;
mod read;
mod token;

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod tests;

use rustc_hash::FxHashMap as HashMap;

pub use read::Verdict;

/// The words of a phrase, tokenised as text is (kept at this path; it lives with the policy).
pub use crate::policy::words_of;
use crate::{contact::model::NewContact, policy::NarrativeSignals, triage::matching::normalise_name};

/// Whose an injury (or a name) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Child,
    Adult,
}

/// The people named in a contact, by name word (normalised as child matching does, so case,
/// accents, hyphens and apostrophes do not matter): "Mark" the father is not a mark, and "Ava
/// had a bruise" is about the child.
#[derive(Debug, Clone, Default)]
pub struct People {
    names: HashMap<String, Owner>,
}

impl People {
    /// The children, adults and referrer of a contact.
    pub fn of(contact: &NewContact) -> Self {
        let mut people = Self::default();
        for c in &contact.children {
            for name in [&c.given_name, &c.family_name].into_iter().flatten() {
                people.add(name, Owner::Child);
            }
        }
        for a in &contact.adults {
            for name in [&a.given_name, &a.family_name].into_iter().flatten() {
                people.add(name, Owner::Adult);
            }
        }
        people.add(&contact.referrer.name, Owner::Adult);
        people
    }

    /// Adds each word of `name` as a name of someone of `owner`; a word that names a child and
    /// an adult (a shared surname) is taken as the child's.
    pub fn add(&mut self, name: &str, owner: Owner) {
        for word in words_of(name) {
            let key = normalise_name(&word);
            if !key.is_empty() {
                let entry = self.names.entry(key).or_insert(owner);
                if owner == Owner::Child {
                    *entry = Owner::Child;
                }
            }
        }
    }

    fn owner_of(&self, word: &str) -> Option<Owner> {
        if self.names.is_empty() {
            None
        } else if word.bytes().all(|b| b.is_ascii_alphanumeric()) {
            // Already normalised (lower case, plain letters): most words.
            self.names.get(word).copied()
        } else {
            self.names.get(&normalise_name(word)).copied()
        }
    }
}

/// Why a counted injury is uncertain. Each reads as the end of "uncertain: ..." in a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doubt {
    /// A possibility, a check or a question ("possible fracture", "checked for bruising").
    Hypothetical,
    /// A negation nearby that may or may not reach it, a double negative, or a negation
    /// reversed later in the sentence.
    NegationUnclear,
    /// A capitalised injury word inside a clause, which may be a name not in the contact.
    PossibleName,
    /// No owner, in a sentence that mentions an adult and no child.
    AdultNearby,
    /// An adult's injury, in a sentence that says a child shares it.
    SharedWithAdult,
}

impl Doubt {
    /// Why, in words fit for a reason (no text from the contact).
    pub fn describe(self) -> &'static str {
        match self {
            Self::Hypothetical => "worded as a possibility, a check or a question",
            Self::NegationUnclear => "a negation nearby may or may not apply to it",
            Self::PossibleName => "the injury word is capitalised and may be a name",
            Self::AdultNearby => "it may be an adult's injury",
            Self::SharedWithAdult => "an adult's injury that a child may share",
        }
    }
}

/// An injury the text describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mention {
    /// The sentence it is in, counted from 1.
    pub sentence: usize,
    /// Why the reading is uncertain, if it is.
    pub doubt: Option<Doubt>,
}

/// One injury term and what the matcher made of it (for tests and tools).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// Counted from 1.
    pub sentence: usize,
    pub verdict: Verdict,
}

/// Every injury term in `text`, in order, with its verdict.
pub fn read(text: &str, signals: &NarrativeSignals, people: &People) -> Vec<Reading> {
    let tokens = token::tokens(text, signals, people);
    let reader = read::Reader::new(&tokens.tokens, &tokens.sentences, signals);
    reader
        .terms()
        .into_iter()
        .map(|(start, end)| Reading {
            sentence: usize::try_from(tokens.tokens[start].sentence).map_or(usize::MAX, |s| s + 1),
            verdict: reader.verdict(start, end),
        })
        .collect()
}

/// The injury `text` describes: the first certain mention, else the first uncertain one.
pub fn find_injury(text: &str, signals: &NarrativeSignals, people: &People) -> Option<Mention> {
    let mut uncertain = None;
    for reading in read(text, signals, people) {
        if let Verdict::Counted(doubt) = reading.verdict {
            let mention = Mention { sentence: reading.sentence, doubt };
            if doubt.is_none() {
                return Some(mention);
            }
            uncertain = uncertain.or(Some(mention));
        }
    }
    uncertain
}

/// Whether `text` describes an injury to the child (counting uncertain readings).
pub fn mentions_injury(text: &str, signals: &NarrativeSignals, people: &People) -> bool {
    find_injury(text, signals, people).is_some()
}
