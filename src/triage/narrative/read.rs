//! Reading each injury term in its sentence: is it negated, hypothetical, someone else's, or the
//! child's (and if so, is the reading certain)? Every look is a bounded walk from the term over
//! the tokens around it, within its sentence, so a scan costs a lookup per word plus a small
//! constant per term.
//!
//! The walks, in the order they are tried (docs/NARRATIVE.md has examples of each):
//! - [`Reader::negated_before`]: a cue, then only `between` words (or a list of injuries);
//! - [`Reader::negated_by_subject`]: a negative subject ("none of the staff") and a finding verb;
//! - [`Reader::negated_after`]: the term, `between` words, then a completed after-cue;
//! - [`Reader::hypothetical`]: a hypothetical cue, then only `hypothetical.between` words;
//! - [`Reader::owner`]: a possessive, a following "to/on ... person", or a subject joined by
//!   `having` words; a child anywhere in those wins.
//!
//! A phrase cue inside a `pseudo` phrase ("no explanation for") is no cue.

use super::{
    Doubt, Owner,
    token::{Kind, Sentence, Token, flag},
};
use crate::policy::{
    NarrativeSignals,
    narrative::{Phrases, Roles, UNKNOWN_WORD, WordId},
};

/// What the matcher makes of one injury term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// An injury to the child, or to no one the text names: it counts.
    Counted(Option<Doubt>),
    /// The text says there is no such injury.
    Negated,
    /// A risk, threat or possibility, not an injury.
    Hypothetical,
    /// An adult's injury.
    Adults,
}

/// The cue phrases that end at a token (their lengths; 0 for none).
#[derive(Debug, Clone, Copy, Default)]
struct Ends {
    before: u8,
    subject: u8,
    hypothetical: u8,
    doubt: u8,
}

pub(super) struct Reader<'a> {
    t: &'a [Token],
    sentences: &'a [Sentence],
    s: &'a NarrativeSignals,
    ends: Vec<Ends>,
    /// The length of an after-cue starting at a token.
    after: Vec<u8>,
    /// Inside a pseudo-negation.
    pseudo: Vec<bool>,
    /// A reversal phrase starts here.
    reversal: Vec<bool>,
    /// Per sentence: an `owners.shared` phrase occurs in it.
    shared: Vec<bool>,
}

fn len_u8(len: usize) -> u8 {
    u8::try_from(len).unwrap_or(u8::MAX)
}

impl<'a> Reader<'a> {
    pub(super) fn new(t: &'a [Token], sentences: &'a [Sentence], s: &'a NarrativeSignals) -> Self {
        let ids: Vec<WordId> = t.iter().map(|t| t.id).collect();
        let n = t.len();
        let mut r = Reader {
            t,
            sentences,
            s,
            ends: vec![Ends::default(); n],
            after: vec![0; n],
            pseudo: vec![false; n],
            reversal: vec![false; n],
            shared: vec![false; sentences.len()],
        };
        let starts = |i: usize, role: Roles, set: &Phrases| {
            if t[i].is_word() && t[i].roles.any(role) { set.longest_at(&ids[i..]) } else { 0 }
        };
        for (i, tok) in t.iter().enumerate() {
            let mut end = |len: usize, field: fn(&mut Ends) -> &mut u8| {
                if len > 0 {
                    *field(&mut r.ends[i + len - 1]) = len_u8(len);
                }
            };
            end(starts(i, Roles::STARTS_BEFORE, &s.before), |e| &mut e.before);
            end(starts(i, Roles::STARTS_SUBJECT, &s.subjects), |e| &mut e.subject);
            end(starts(i, Roles::STARTS_HYPOTHETICAL, &s.hypothetical), |e| &mut e.hypothetical);
            end(starts(i, Roles::STARTS_DOUBT, &s.doubt), |e| &mut e.doubt);
            r.after[i] = len_u8(starts(i, Roles::STARTS_AFTER, &s.after));
            let pseudo = starts(i, Roles::STARTS_PSEUDO, &s.pseudo);
            for p in &mut r.pseudo[i..i + pseudo] {
                *p = true;
            }
            r.reversal[i] = starts(i, Roles::STARTS_REVERSAL, &s.reversals) > 0;
            if starts(i, Roles::STARTS_SHARED, &s.shared) > 0
                && let Some(sh) = usize::try_from(tok.sentence).ok().and_then(|k| r.shared.get_mut(k))
            {
                *sh = true;
            }
        }
        r
    }

    /// Every injury term: its first token and the token after it.
    pub(super) fn terms(&self) -> Vec<(usize, usize)> {
        let ids: Vec<WordId> = self.t.iter().map(|t| t.id).collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.t.len() {
            let len = if self.t[i].is_word() && self.t[i].roles.any(Roles::STARTS_TERM) {
                self.s.terms.longest_at(&ids[i..])
            } else {
                0
            };
            if len > 0 && self.t[i..i + len].iter().all(|t| !t.is_name() && !t.has(flag::IGNORED)) {
                out.push((i, i + len));
                i += len;
            } else {
                i += 1;
            }
        }
        out
    }

    fn sentence(&self, i: usize) -> Sentence {
        usize::try_from(self.t[i].sentence).ok().and_then(|k| self.sentences.get(k)).copied().unwrap_or_default()
    }

    fn word(&self, i: usize) -> Option<&Token> {
        self.t.get(i).filter(|t| t.is_word())
    }

    /// An injury word (counted or not) that is no name or ignored phrase.
    fn injury(&self, i: usize) -> bool {
        self.word(i).is_some_and(|t| {
            t.roles.any(Roles::TERM_WORD | Roles::OTHER_INJURY) && !t.is_name() && !t.has(flag::IGNORED)
        })
    }

    /// A word that may stand in a list of injuries ("no facial bruising, cuts or swelling").
    fn listable(&self, i: usize) -> bool {
        self.injury(i) || self.word(i).is_some_and(|t| t.roles.any(Roles::BODY) && !t.is_name())
    }

    /// Whether the comma or list word ("and", "or") at `j` joins two injuries or body parts:
    /// "bruising and swelling", "marks, scratches or bruises" (but not "no bruising and a burn").
    fn in_list(&self, j: usize) -> bool {
        let joins = self.t[j].kind == Kind::Comma || self.t[j].roles.any(Roles::LIST_JOIN);
        joins && j > 0 && self.listable(j - 1) && self.listable(j + 1)
    }

    /// Whether the comma or list word at `j` follows an injury or body part: the looser test for
    /// ownership, where "had scratches and a bleeding lip" are both the subject's.
    fn after_injury(&self, j: usize) -> bool {
        let joins = self.t[j].kind == Kind::Comma || self.t[j].roles.any(Roles::LIST_JOIN);
        joins && j > 0 && self.listable(j - 1)
    }

    fn cue(&self, i: usize, len: u8) -> bool {
        len > 0 && !self.pseudo[i]
    }

    /// What the text makes of the term at `start..end`.
    pub(super) fn verdict(&self, start: usize, end: usize) -> Verdict {
        let negation = self
            .negated_before(start)
            .or_else(|| self.negated_by_subject(start).then_some(Negation::Plain))
            .or_else(|| self.negated_after(start, end).then_some(Negation::Plain))
            .or_else(|| (self.in_clause(start, |e| e.doubt) && self.search_found_none(end)).then_some(Negation::Plain));
        let mut doubt = match negation {
            Some(Negation::Double) => Some(Doubt::NegationUnclear),
            Some(Negation::Plain) if self.reversed(end) => Some(Doubt::NegationUnclear),
            Some(Negation::Plain) => return Verdict::Negated,
            None => None,
        };
        if doubt.is_none() && self.hypothetical(start) {
            return Verdict::Hypothetical;
        }
        let (owner, stranger) = self.owner(start, end);
        let sentence = self.sentence(start);
        if owner == Some(Owner::Adult) {
            let shared = usize::try_from(self.t[start].sentence).ok().and_then(|k| self.shared.get(k)).copied();
            if !(shared == Some(true) && sentence.child) {
                return Verdict::Adults;
            }
            doubt = doubt.or(Some(Doubt::SharedWithAdult));
        }
        let first = &self.t[start];
        let mid_clause = start > 0 && self.t[start - 1].is_word();
        doubt = doubt
            .or_else(|| {
                (first.has(flag::CAPITALISED) && !first.has(flag::SHOUTED) && mid_clause).then_some(Doubt::PossibleName)
            })
            .or_else(|| (sentence.question || self.in_clause(start, |e| e.doubt)).then_some(Doubt::Hypothetical))
            .or_else(|| self.in_clause(start, |e| e.before).then_some(Doubt::NegationUnclear))
            .or_else(|| {
                (owner.is_none() && stranger && sentence.adult && !sentence.child).then_some(Doubt::AdultNearby)
            });
        Verdict::Counted(doubt)
    }

    /// Whether a (non-pseudo) cue of a kind ends within the term's clause, before it.
    fn in_clause(&self, start: usize, field: fn(&Ends) -> u8) -> bool {
        let mut words = 0;
        for j in (0..start).rev() {
            let t = &self.t[j];
            match t.kind {
                Kind::Word if t.roles.any(Roles::CLAUSE_BREAK) => return false,
                // A pseudo-negation nearer the term takes the cue ("neither parent could explain").
                Kind::Word if self.pseudo[j] => return false,
                Kind::Word => {
                    if self.cue(j, field(&self.ends[j])) {
                        return true;
                    }
                    words += 1;
                    if words > 2 * self.s.window {
                        return false;
                    }
                }
                Kind::Comma => {}
                _ => return false,
            }
        }
        false
    }

    /// "no visible bruising", "without any marks": a cue, then only `between` words, other
    /// injury words and body parts (and "and" or a comma inside a list of injuries).
    fn negated_before(&self, start: usize) -> Option<Negation> {
        let mut words = 0;
        for j in (0..start).rev() {
            let t = &self.t[j];
            match t.kind {
                Kind::Word => {
                    let len = self.ends[j].before;
                    if self.cue(j, len) {
                        let cue_start = j + 1 - usize::from(len);
                        let double = cue_start > 0 && self.cue(cue_start - 1, self.ends[cue_start - 1].before);
                        return Some(if double { Negation::Double } else { Negation::Plain });
                    }
                    if self.pseudo[j] || t.is_name() {
                        return None;
                    }
                    let bridge = t.roles.any(Roles::BETWEEN | Roles::TERM_WORD | Roles::OTHER_INJURY | Roles::BODY)
                        || self.in_list(j);
                    if !bridge {
                        return None;
                    }
                    words += 1;
                    if words > self.s.window {
                        return None;
                    }
                }
                Kind::Comma if self.in_list(j) => {}
                _ => return None,
            }
        }
        None
    }

    /// "None of the professionals involved (...) has ever seen any bruising": `between` words
    /// back from the term, including a finding word, then a negative subject.
    fn negated_by_subject(&self, start: usize) -> bool {
        let mut finding = false;
        let mut words = 0;
        let mut j = start;
        loop {
            if j == 0 {
                return false;
            }
            j -= 1;
            let t = &self.t[j];
            match t.kind {
                Kind::Word
                    if !t.is_name()
                        && !self.cue(j, self.ends[j].subject)
                        && t.roles.any(Roles::BETWEEN | Roles::TERM_WORD | Roles::OTHER_INJURY | Roles::BODY) =>
                {
                    finding |= t.roles.any(Roles::FINDING);
                    words += 1;
                    if words > self.s.window {
                        return false;
                    }
                }
                Kind::Comma if self.in_list(j) => {}
                _ => break,
            }
        }
        finding && self.negative_subject_ends_at(j)
    }

    /// Whether a negative subject ("nobody", "none of the nursery staff") ends at `j`.
    fn negative_subject_ends_at(&self, mut j: usize) -> bool {
        let mut words = 0;
        let mut comma = false;
        loop {
            let t = &self.t[j];
            match t.kind {
                Kind::Word => {
                    let len = self.ends[j].subject;
                    if self.cue(j, len) {
                        // A one-word cue ("no") reaches no further than its own clause.
                        return !(comma && len == 1);
                    }
                    let subject = t.person().is_some() || t.roles.any(Roles::SUBJECT_WORD | Roles::TITLE);
                    if self.pseudo[j] || !subject {
                        return false;
                    }
                    words += 1;
                    if words > self.s.subject_window {
                        return false;
                    }
                }
                Kind::Comma => comma = true,
                Kind::Close => match self.parenthesis_opened_before(j) {
                    Some(open) => j = open,
                    None => return false,
                },
                _ => return false,
            }
            if j == 0 {
                return false;
            }
            j -= 1;
        }
    }

    /// The "(" matching the ")" at `close`, if the parenthesis names no injury.
    fn parenthesis_opened_before(&self, close: usize) -> Option<usize> {
        for j in (0..close).rev() {
            match self.t[j].kind {
                Kind::Open => return Some(j),
                Kind::Close | Kind::Sentence => return None,
                _ if self.injury(j) => return None,
                _ => {}
            }
        }
        None
    }

    /// "Bruises: none seen", "checked for bruising and none was found", "marks were not seen":
    /// the term (not presupposed), `between` words, then an after-cue that is completed.
    fn negated_after(&self, start: usize, end: usize) -> bool {
        if self.presupposed(start) {
            return false;
        }
        let (mut words, mut joined, mut label) = (0, false, false);
        for j in end..self.t.len() {
            let t = &self.t[j];
            match t.kind {
                Kind::Word => {
                    if self.cue(j, self.after[j]) {
                        return self.completed(j + usize::from(self.after[j]), label);
                    }
                    let bridge = t.person().is_some()
                        || t.roles.any(
                            Roles::BETWEEN
                                | Roles::TERM_WORD
                                | Roles::OTHER_INJURY
                                | Roles::BODY
                                | Roles::PREPOSITION
                                | Roles::PRESUPPOSING,
                        );
                    if !bridge {
                        // "and none was found", "but found none": one clause break, then the cue
                        // across `between` words.
                        if !joined && t.roles.any(Roles::CLAUSE_BREAK) && self.cue_ahead(j + 1) {
                            joined = true;
                        } else {
                            return false;
                        }
                    }
                    words += 1;
                    if words > self.s.window {
                        return false;
                    }
                }
                Kind::Comma => {}
                Kind::Label => label = true,
                // "Examined for injuries; none identified."
                Kind::Clause if !joined && self.cue_ahead(j + 1) => joined = true,
                _ => return false,
            }
        }
        false
    }

    /// After a search ("checked for marks when he changed"), whether the sentence goes on to say
    /// that it found none ("and found none", "but none was seen").
    fn search_found_none(&self, end: usize) -> bool {
        for k in end..self.t.len() {
            let t = &self.t[k];
            if t.kind == Kind::Sentence {
                return false;
            }
            if t.is_word() && t.roles.any(Roles::CLAUSE_BREAK) && self.cue_ahead(k + 1) {
                let cue = (k + 1..self.t.len()).find(|c| self.cue(*c, self.after[*c]));
                return cue.is_some_and(|c| self.completed(c + usize::from(self.after[c]), false));
            }
        }
        false
    }

    /// Whether an after-cue starts at `j` or after a few `between` words.
    fn cue_ahead(&self, j: usize) -> bool {
        (j..(j + 3).min(self.t.len()))
            .take_while(|k| self.word(*k).is_some())
            .find(|k| !self.word(*k).is_some_and(|t| t.roles.any(Roles::BETWEEN)) || self.cue(*k, self.after[*k]))
            .is_some_and(|k| self.cue(k, self.after[k]))
    }

    /// Whether an after-cue ending before `k` is completed: by a finding word after `between`
    /// words (and nothing after it in the clause that narrows it to a part of the body or a
    /// person: "none was seen on his legs" says nothing of his arm), by the end of its clause, or
    /// (after a label) by a further injury word.
    fn completed(&self, mut k: usize, label: bool) -> bool {
        while let Some(t) = self.t.get(k) {
            if t.is_word() && t.roles.any(Roles::FINDING) {
                return !self.narrowed(k + 1);
            }
            if !t.is_word() || t.roles.any(Roles::CLAUSE_BREAK) {
                return true;
            }
            if label && self.injury(k) {
                return true;
            }
            if !t.roles.any(Roles::BETWEEN) {
                return false;
            }
            k += 1;
        }
        true
    }

    /// Whether the clause from `k` on names a part of the body or a person.
    fn narrowed(&self, k: usize) -> bool {
        self.t[k.min(self.t.len())..]
            .iter()
            .take_while(|t| t.is_word() && !t.roles.any(Roles::CLAUSE_BREAK))
            .any(|t| t.person().is_some() || t.roles.any(Roles::BODY))
    }

    /// A term introduced by "the", "his" or a possessive is presupposed to exist.
    fn presupposed(&self, start: usize) -> bool {
        for j in (start.saturating_sub(3)..start).rev() {
            let Some(t) = self.word(j) else { return false };
            if t.roles.any(Roles::PRESUPPOSING) || t.has(flag::POSSESSIVE) {
                return true;
            }
            let modifier = t.roles.any(Roles::MODIFIER | Roles::BODY | Roles::TERM_WORD | Roles::OTHER_INJURY);
            if !modifier {
                return false;
            }
        }
        false
    }

    /// Whether a reversal ("but it developed later") follows in the term's sentence.
    fn reversed(&self, end: usize) -> bool {
        (end..self.t.len()).take_while(|j| self.t[*j].kind != Kind::Sentence).any(|j| self.reversal[j])
    }

    /// "at risk of injury", "could bruise easily", "threatened to burn".
    fn hypothetical(&self, start: usize) -> bool {
        let mut words = 0;
        for j in (0..start).rev() {
            let Some(t) = self.word(j) else { return false };
            if self.cue(j, self.ends[j].hypothetical) {
                return true;
            }
            if t.is_name() || !t.roles.any(Roles::HYPOTHETICAL_BETWEEN) {
                return false;
            }
            words += 1;
            if words > self.s.window {
                return false;
            }
        }
        false
    }

    /// Whose the injury is, if the text says (a child anywhere in the readings wins), and
    /// whether its subject is someone the text does not name ("she had bruising").
    fn owner(&self, start: usize, end: usize) -> (Option<Owner>, bool) {
        let before = self.owner_before(start, end);
        let found = [if let Before::Person(p) = before { Some(p) } else { None }, self.owner_after(end)];
        let mut owner = None;
        for p in found.into_iter().flatten() {
            for o in self.group(p) {
                if o == Owner::Child {
                    return (Some(Owner::Child), false);
                }
                owner = Some(o);
            }
        }
        (owner, before == Before::Stranger)
    }

    /// The person at `p` and anyone joined to them by "and" or a comma ("Mother and baby", "the
    /// baby, mother").
    fn group(&self, p: usize) -> Vec<Owner> {
        let mut out: Vec<Owner> = self.t[p].person().into_iter().collect();
        let joiner = |i: usize| {
            self.t.get(i).is_some_and(|t| t.kind == Kind::Comma || (t.is_word() && t.roles.any(Roles::LIST_JOIN)))
        };
        let other = |i: usize| {
            let t = self.word(i)?;
            if t.roles.any(Roles::PRESUPPOSING) { None } else { t.person() }
        };
        if p >= 2 && joiner(p - 1) {
            out.extend(other(p - 2).or_else(|| p.checked_sub(3).and_then(other)));
        }
        if joiner(p + 1) {
            out.extend(other(p + 2).or_else(|| other(p + 3)));
        }
        out
    }

    /// A person before the term: possessive ("mother's swollen lip"), or a subject joined by a
    /// `having` verb ("Mother had a swollen lip", "the officer was bitten"). Or a subject joined
    /// so that is not a person the text names ("she had bruising").
    fn owner_before(&self, start: usize, end: usize) -> Before {
        // "Grandmother fell and fractured her hip", "Dad had burned his hand": a verb-form term
        // on the subject's own body, in a sentence that names no child.
        let own_body = (start + 1..=end).any(|k| {
            self.word(k).is_some_and(|t| t.roles.any(Roles::PRESUPPOSING))
                && self.word(k + 1).is_some_and(|t| t.roles.any(Roles::BODY))
        });
        if own_body && !self.sentence(start).child {
            let mut j = start;
            while j > 0 && self.word(j - 1).is_some_and(|t| t.roles.any(Roles::HAVING) && t.roles.any(Roles::FINDING)) {
                j -= 1;
            }
            if j > 0 && self.t[j - 1].person().is_some() {
                return Before::Person(j - 1);
            }
            // "His mother ... fell last week, breaking her wrist": the nearest person before, if
            // no subject pronoun comes first ("Mother said he fell and broke his arm"); a pronoun
            // read as an adult's is that adult ("Grandfather is the carer. He had a fall and
            // fractured his hip").
            let joined = j > 0
                && (self.t[j - 1].kind == Kind::Comma
                    || self.word(j - 1).is_some_and(|t| t.roles.any(Roles::CLAUSE_BREAK)));
            if joined {
                for k in (j.saturating_sub(self.s.subject_window)..j - 1).rev() {
                    let t = &self.t[k];
                    if t.person().is_some() {
                        return Before::Person(k);
                    }
                    if t.kind == Kind::Sentence || t.roles.any(Roles::PRONOUN) {
                        break;
                    }
                }
            }
        }
        // "Mother had bitten the baby", "Father was burning him": a verb with an object makes
        // the subject the one who did it, not the one it was done to.
        let verb = start > 0 && self.word(start - 1).is_some_and(|t| t.roles.any(Roles::HAVING));
        if verb && self.object_follows(end) {
            return Before::Nobody;
        }
        let (mut linked, mut attached, mut steps) = (false, false, 0);
        // Linked to someone the text does not name; or, by "with", to the clause's subject
        // when the clause names no child.
        let stranger = |j: usize, attached: bool| {
            // A child's possessive that names an adult ("the pupil's stepfather") is no child.
            let child = |k: usize| {
                self.t[k].person() == Some(Owner::Child)
                    && !(self.t[k].has(flag::POSSESSIVE) && self.t.get(k + 1).is_some_and(|n| n.person().is_some()))
            };
            if attached && !(self.clause_start(j)..start).any(child) {
                self.clause_subject(j + 1).map_or(Before::Stranger, Before::Person)
            } else {
                Before::Stranger
            }
        };
        for j in (0..start).rev() {
            let t = &self.t[j];
            match t.kind {
                Kind::Word => {
                    if let Some(o) = t.person() {
                        return if o == Owner::Child || linked || t.has(flag::POSSESSIVE) {
                            Before::Person(j)
                        } else {
                            Before::Nobody
                        };
                    }
                    let bridge = Roles::HAVING
                        | Roles::MODIFIER
                        | Roles::BODY
                        | Roles::OTHER_INJURY
                        | Roles::TERM_WORD
                        | Roles::PRESUPPOSING;
                    if t.roles.any(bridge) && !t.is_name() {
                        linked |= t.roles.any(Roles::HAVING);
                    } else if t.roles.any(Roles::ATTACHING) {
                        (linked, attached) = (true, true);
                    } else if t.id == UNKNOWN_WORD
                        && self.word(j + 1).is_some_and(|n| n.roles.any(Roles::BODY))
                        && j.checked_sub(1)
                            .and_then(|k| self.word(k))
                            .is_some_and(|p| p.roles.any(Roles::MODIFIER | Roles::PRESUPPOSING))
                    {
                        // An adjective the lists do not know, between a determiner and a body
                        // part: "a bandaged hand".
                    } else if self.after_injury(j) {
                        // "a cut lip and bruising": a list of injuries.
                    } else if t.roles.any(Roles::PREPOSITION) && j > 0 && self.injury(j - 1) {
                        // "bruising to both arms and a black eye": where the last one was.
                    } else if t.roles.any(Roles::CLAUSE_BREAK)
                        && self.word(j + 1).is_some_and(|n| n.roles.any(Roles::HAVING))
                    {
                        // "Mother had been punched and had a swollen lip".
                        return self.clause_subject(j).map_or(Before::Stranger, Before::Person);
                    } else if linked {
                        return stranger(j, attached);
                    } else {
                        return Before::Nobody;
                    }
                    steps += 1;
                    if steps > self.s.window {
                        return Before::Nobody;
                    }
                }
                Kind::Comma => {}
                _ => return if linked { Before::Stranger } else { Before::Nobody },
            }
        }
        if linked { Before::Stranger } else { Before::Nobody }
    }

    /// Whether a verb-form term ending before `end` has an object ("bitten the baby", "burned
    /// him", "scalded a child"): a person, a pronoun, or a determiner, not a preposition.
    fn object_follows(&self, end: usize) -> bool {
        self.word(end).is_some_and(|t| {
            !t.roles.any(Roles::PREPOSITION)
                && (t.person().is_some() || t.roles.any(Roles::PRESUPPOSING | Roles::PRONOUN | Roles::MODIFIER))
        })
    }

    /// The first token of the clause that `j` is in.
    fn clause_start(&self, j: usize) -> usize {
        let mut start = j;
        while start > 0 && self.word(start - 1).is_some_and(|t| !t.roles.any(Roles::CLAUSE_BREAK)) {
            start -= 1;
        }
        start
    }

    /// The person who starts the clause that ends at `before` (exclusive), if one does:
    /// "[The baby's] mother was punched".
    fn clause_subject(&self, before: usize) -> Option<usize> {
        let start = self.clause_start(before.saturating_sub(1));
        if before - start > self.s.subject_window {
            return None;
        }
        (start..before)
            .find(|i| !self.t[*i].roles.any(Roles::PRESUPPOSING) && !self.t[*i].has(flag::POSSESSIVE))
            .filter(|i| self.t[*i].person().is_some())
    }

    /// A person after the term: "an injured officer", "bruising to dad's arm", "injuries to the
    /// mother".
    fn owner_after(&self, end: usize) -> Option<usize> {
        let mut j = end;
        // Past a list of injuries: "bruising and swelling to mum's face".
        while self.injury(j) || (j < self.t.len() && self.in_list(j)) {
            j += 1;
        }
        let t = self.word(j)?;
        if t.person().is_some() {
            return Some(j);
        }
        // "burned the baby".
        if t.roles.any(Roles::PRESUPPOSING) && self.word(j + 1).is_some_and(|n| n.person().is_some()) {
            return Some(j + 1);
        }
        if !t.roles.any(Roles::PREPOSITION) {
            return None;
        }
        for k in j + 1..(j + 1 + self.s.window).min(self.t.len()) {
            let t = self.word(k)?;
            if t.person().is_some() {
                return Some(k);
            }
            if !t.roles.any(Roles::PRESUPPOSING | Roles::BODY | Roles::PREPOSITION) {
                return None;
            }
        }
        None
    }
}

/// What is before a term, joined to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Before {
    /// A person, at this token.
    Person(usize),
    /// A subject joined by a `having` verb that names no one the text knows ("she", "Jo").
    Stranger,
    Nobody,
}

/// A negation found before a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Negation {
    Plain,
    /// "not without marks": two cues cancel.
    Double,
}
