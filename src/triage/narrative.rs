//! Narrative signals: does free text describe an injury that it does not negate?
//!
//! The text is split into lower-case words and clause boundaries (sentence punctuation and the
//! policy's `clause_breaks` words). An injury term (one or more words) counts unless one of the
//! policy's `negation_cues` stands within `negation_window` words before it in the same clause.
//! When in doubt it counts: a missed injury on a baby is worse than an over-rated contact. The
//! policy file documents what this matcher does not understand.

use super::policy::NarrativeSignals;

/// One token of the text: a word, or the end of a clause.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Break,
}

fn tokens(text: &str, signals: &NarrativeSignals) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Token>| {
        if !word.is_empty() {
            let w = std::mem::take(word);
            if signals.clause_breaks.contains(&w) {
                out.push(Token::Break);
            } else {
                out.push(Token::Word(w));
            }
        }
    };
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            word.extend(ch.to_lowercase());
        } else if matches!(ch, '\'' | '\u{2019}') && !word.is_empty() {
            // Keep contractions ("didn't") whole; a typographic apostrophe counts too.
            word.push('\'');
        } else {
            flush(&mut word, &mut out);
            if matches!(ch, '.' | ';' | ':' | '!' | '?' | '\n') {
                out.push(Token::Break);
            }
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Whether `text` describes an injury that it does not negate.
pub fn mentions_injury(text: &str, signals: &NarrativeSignals) -> bool {
    let tokens = tokens(text, signals);
    (0..tokens.len()).any(|start| {
        signals.injury_terms.iter().any(|term| matches_at(&tokens, start, term)) && !negated(&tokens, start, signals)
    })
}

fn matches_at(tokens: &[Token], start: usize, term: &[String]) -> bool {
    term.iter().enumerate().all(|(i, w)| matches!(tokens.get(start + i), Some(Token::Word(t)) if t == w))
}

fn negated(tokens: &[Token], start: usize, signals: &NarrativeSignals) -> bool {
    tokens[..start]
        .iter()
        .rev()
        .take_while(|t| **t != Token::Break)
        .take(signals.negation_window)
        .any(|t| matches!(t, Token::Word(w) if signals.negation_cues.contains(w)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::policy::Policy;

    fn injury(text: &str) -> bool {
        mentions_injury(text, &Policy::default_policy().unwrap().narrative)
    }

    #[test]
    fn described_injuries_count() {
        assert!(injury("At the home visit I noticed a bruise on the baby's forehead."));
        assert!(injury("BRUISING to both upper arms"));
        assert!(injury("The child had a broken arm that was not explained."));
        assert!(injury("Mother said the baby was bitten by a sibling"));
        assert!(injury("a burn on the hand"));
    }

    #[test]
    fn the_negations_named_in_the_issue_do_not_count() {
        assert!(!injury("Home conditions poor. No bruises or marks were seen on the baby."));
        assert!(!injury("there were no marks or bruising"));
        assert!(!injury("mother reports no injuries"));
    }

    #[test]
    fn other_negation_forms_do_not_count() {
        assert!(!injury("Baby examined without any marks found."));
        assert!(!injury("She denies any bruising."));
        assert!(!injury("The officer didn\u{2019}t see any injury."));
        assert!(!injury("No bleeding."));
    }

    #[test]
    fn documented_limitations_err_towards_counting_an_injury() {
        // Negation after the term is not understood (policy file, [narrative]): counted.
        assert!(injury("Injuries: nil."));
        assert!(injury("Bruises: none seen."));
        // An injury to someone else is counted too; staff see the reason and can re-rate.
        assert!(injury("Mother had a bruise on her arm."));
    }

    #[test]
    fn a_negation_does_not_reach_past_its_clause_or_window() {
        assert!(injury("No answer at the door. Later a bruise was seen on the cheek."));
        assert!(injury("There was no food in the house and the baby had a bruise."));
        assert!(injury("No concerns at nursery, but staff noticed swelling to the wrist."));
        assert!(injury("Not a family previously known to services or to the school nurse team; a bruise was seen."));
        assert!(injury("No one was home when the neighbours heard a scream and saw the toddler's bleeding lip"));
    }

    #[test]
    fn words_that_merely_contain_a_term_do_not_count() {
        assert!(!injury("Mother was embarrassed and remarked on the weather."));
        assert!(!injury("The child is marking time at school."));
    }
}
