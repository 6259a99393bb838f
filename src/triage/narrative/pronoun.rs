//! Reading "he" and "she" as an adult named just before them ("The father was arrested. He had
//! a fractured wrist."), from the policy's `[narrative.pronouns]`. One forward pass over the
//! tokens, after names and people are known; a pronoun it reads as an adult's is flagged
//! [`flag::ADULT_PRONOUN`] and is then a person to the ownership walks in `read`.
//!
//! It reads a pronoun as an adult's only when nothing in the text suggests that it may be a
//! child: a missed injury to a baby is the failure that matters most, so every doubt leaves the
//! pronoun unread (and its injury counted, as before). A pronoun stays unread when:
//! - a child it could stand for was mentioned anywhere earlier in the text, or is in its own
//!   sentence (child words and the contact's children; a gendered child word only for its
//!   gender), or a `child_context` phrase was ("his nappy", "looking after", "3 months old");
//! - an earlier pronoun of its gender stayed unread (it may be a child no one named);
//! - no adult of its gender is in the previous sentence or earlier in its own (for an object,
//!   earlier in its own only);
//! - its form does not allow it: a subject only at the start of its sentence (or after ";"); an
//!   object only when the nearest person before it in its clause is someone else acting on it
//!   (of the other gender, "mother had bitten him", or an adult's relation, "her partner kicked
//!   her"); a possessive not before a part of the body, an injury, a child or a child context
//!   ("his hand" may be a child's).
//!
//! Cost: one pass when the text has a pronoun (none otherwise), plus a walk back over at most
//! `negation.subject_window` words for an object pronoun.

use super::{
    Owner,
    token::{Kind, Sentence, Token, flag},
};
use crate::policy::{
    NarrativeSignals,
    narrative::{Roles, WordId},
};

/// The gender of a person word, title or pronoun.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gender {
    He,
    She,
}

impl Gender {
    fn of(roles: Roles) -> Option<Self> {
        if roles.any(Roles::MAN | Roles::HE) {
            Some(Self::He)
        } else if roles.any(Roles::WOMAN | Roles::SHE) {
            Some(Self::She)
        } else {
            None
        }
    }

    fn index(self) -> usize {
        match self {
            Self::He => 0,
            Self::She => 1,
        }
    }
}

fn is_pronoun(t: &Token) -> bool {
    t.is_word() && t.roles.any(Roles::HE | Roles::SHE) && t.person().is_none()
}

/// Flags each pronoun that refers to an adult, and marks its sentence as one with an adult.
pub(super) fn resolve(tokens: &mut [Token], ids: &[WordId], sentences: &mut [Sentence], signals: &NarrativeSignals) {
    if signals.child_context.is_empty() || !tokens.iter().any(is_pronoun) {
        return;
    }
    let (context, young) = child_context(tokens, ids, sentences.len(), signals);
    let mut genders: Vec<Option<Gender>> = vec![None; tokens.len()];
    // A child (or a pronoun that may be one) of each gender has been mentioned.
    let mut blocked = [false; 2];
    // An adult of each gender in the previous sentence, and in this one so far.
    let (mut previous, mut current) = ([false; 2], [false; 2]);
    let mut sentence = 0;
    // The gender of a title whose name follows ("Mr Hale").
    let mut title: Option<Gender> = None;
    for i in 0..tokens.len() {
        let t = tokens[i];
        if t.sentence != sentence {
            (previous, current, sentence) = (current, [false; 2], t.sentence);
        }
        if !t.is_word() {
            title = None;
            continue;
        }
        if context[i] {
            blocked = [true; 2];
        }
        let named = t.has(flag::ADULT_NAME) && !t.roles.any(Roles::TITLE);
        let gender = if named { title } else { Gender::of(t.roles) };
        genders[i] = gender;
        title = if t.roles.any(Roles::TITLE) {
            Gender::of(t.roles)
        } else if named {
            title
        } else {
            None
        };
        match t.person() {
            Some(Owner::Child) => match gender {
                Some(g) => blocked[g.index()] = true,
                None => blocked = [true; 2],
            },
            Some(Owner::Adult) => {
                if let Some(g) = gender {
                    current[g.index()] = true;
                }
            }
            None if is_pronoun(&t) => {
                let Some(g) = gender else { continue };
                let k = g.index();
                let young = usize::try_from(t.sentence).ok().and_then(|s| young.get(s)).is_none_or(|y| *y);
                // An object's adult must be in its own sentence: "Father came home. Mother had
                // dropped him." may be a baby no one named.
                let object = t.roles.any(Roles::OBJECT_FORM) && !possessive(&t, tokens, &context, i);
                let adult = !blocked[k]
                    && !young
                    && (current[k] || (previous[k] && !object))
                    && form_allows(tokens, &genders, &context, i, g, signals.subject_window);
                if adult {
                    tokens[i].flags |= flag::ADULT_PRONOUN;
                    current[k] = true;
                    if let Some(s) = usize::try_from(t.sentence).ok().and_then(|s| sentences.get_mut(s)) {
                        s.adult = true;
                    }
                } else {
                    blocked[k] = true;
                }
            }
            None => {}
        }
    }
}

/// Marks the tokens of each `child_context` phrase; and, per sentence, whether it has one or
/// names a child.
fn child_context(
    tokens: &[Token],
    ids: &[WordId],
    sentences: usize,
    signals: &NarrativeSignals,
) -> (Vec<bool>, Vec<bool>) {
    let mut context = vec![false; tokens.len()];
    let mut i = 0;
    while i < tokens.len() {
        let len = if tokens[i].is_word() && tokens[i].roles.any(Roles::STARTS_CHILD_CONTEXT) {
            signals.child_context.longest_at(&ids[i..])
        } else {
            0
        };
        for c in &mut context[i..i + len] {
            *c = true;
        }
        i += len.max(1);
    }
    let mut young = vec![false; sentences];
    for (t, c) in tokens.iter().zip(&context) {
        if let Some(y) = usize::try_from(t.sentence).ok().and_then(|s| young.get_mut(s)) {
            *y |= *c || t.person() == Some(Owner::Child);
        }
    }
    (context, young)
}

/// Whether the pronoun at `i`, of gender `g`, is in a form that may refer to an adult named
/// before it.
fn form_allows(
    tokens: &[Token],
    genders: &[Option<Gender>],
    context: &[bool],
    i: usize,
    g: Gender,
    reach: usize,
) -> bool {
    let t = &tokens[i];
    let next = tokens.get(i + 1).filter(|n| n.is_word());
    if possessive(t, tokens, context, i) {
        // "his bail" is the adult's; "his hand", "his nappy", "his son" may be a child's.
        let childs = next.is_some_and(|n| {
            n.roles.any(Roles::BODY | Roles::TERM_WORD | Roles::OTHER_INJURY)
                || context[i + 1]
                || n.person() == Some(Owner::Child)
        });
        return !childs;
    }
    if t.roles.any(Roles::OBJECT_FORM) {
        return object_of_other(tokens, genders, i, g, reach);
    }
    if t.roles.any(Roles::SUBJECT_FORM) {
        return i == 0 || matches!(tokens[i - 1].kind, Kind::Sentence | Kind::Clause);
    }
    false
}

/// Whether the pronoun `t` at `i` is read as a possessive: it is one ("his"), or it may be one
/// ("her") and stands before what a possessive may stand before and an object may not (a
/// person, a part of the body, an injury, a child context).
fn possessive(t: &Token, tokens: &[Token], context: &[bool], i: usize) -> bool {
    let noun = || {
        tokens.get(i + 1).filter(|n| n.is_word()).is_some_and(|n| {
            n.person().is_some() || n.roles.any(Roles::BODY | Roles::TERM_WORD | Roles::OTHER_INJURY) || context[i + 1]
        })
    };
    t.roles.any(Roles::POSSESSIVE_FORM) && (!t.roles.any(Roles::OBJECT_FORM) || noun())
}

/// Whether the nearest person (or pronoun) before the object pronoun at `i`, in its clause, is
/// someone other than the adults it may refer to, so that it is the one acting on the pronoun:
/// a person of the other gender ("mother had bitten him"), or one whose possessive is an adult
/// of the pronoun's gender ("her partner kicked her", "the mother's partner hit her"). "Father
/// was holding him", "the parent hit her" (who may be the mother), "shook him" (no subject in
/// the clause) are not. It looks back at most `reach` words.
fn object_of_other(tokens: &[Token], genders: &[Option<Gender>], i: usize, g: Gender, reach: usize) -> bool {
    for j in (i.saturating_sub(reach)..i).rev() {
        let t = &tokens[j];
        if !t.is_word() || t.roles.any(Roles::CLAUSE_BREAK) {
            return false;
        }
        if t.person().is_some() || is_pronoun(t) {
            return match genders[j] {
                Some(other) => other != g,
                None => j.checked_sub(1).is_some_and(|k| {
                    let owner = &tokens[k];
                    let possessive = owner.has(flag::POSSESSIVE) || owner.roles.any(Roles::POSSESSIVE_FORM);
                    possessive && owner.person() == Some(Owner::Adult) && genders[k] == Some(g)
                }),
            };
        }
    }
    false
}
