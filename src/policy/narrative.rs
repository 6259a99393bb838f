//! The policy's `[narrative]` section, checked and compiled for the matcher in
//! `triage::narrative`: every word of every list interned once in a [`Lexicon`] with the roles
//! it plays ([`Roles`]), and every list of phrases as a [`Phrases`] keyed by its first word, so
//! the matcher looks each word of a text up once and never compares strings again.
//!
//! The lists are data so that a hub can extend them without a rebuild; what each one means is
//! documented next to it in the shipped policy file and in docs/NARRATIVE.md. The checker here
//! refuses what would make the matcher silently wrong: an empty cue list, an entry with no
//! words, a phrase where one word is needed, a punctuation entry that is not one mark, a window
//! out of range, a word that is both an injury and a negation word, a pronoun without a gender
//! or a form, a gendered word that is no person, and the keys of the format before 2026.2 (each
//! named with where it moved).

use rustc_hash::FxHashMap as HashMap;
use toml::Spanned;

use super::{
    check::Checker,
    raw::{RawNarrative, RawNegation, RawOwners, RawPronouns, RawSentences, RawWords},
    words_of,
};

/// A word's index in the [`Lexicon`].
pub type WordId = u32;

/// The id of a word that no list uses.
pub const UNKNOWN_WORD: WordId = WordId::MAX;
/// The id of what is not a word (a punctuation mark): no phrase matches across it.
pub const NOT_A_WORD: WordId = WordId::MAX - 1;
/// In a phrase, any one word (written `*`: "broke * arm").
pub const ANY_WORD: WordId = WordId::MAX - 2;

/// The roles a word plays, as bits: single-word roles, and "starts a phrase of list X".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Roles(u64);

impl Roles {
    /// A word of an injury term.
    pub const TERM_WORD: Self = Self(1);
    /// An injury rule 2 does not count ("cut"), which may stand in a list of terms.
    pub const OTHER_INJURY: Self = Self(1 << 1);
    pub const BODY: Self = Self(1 << 2);
    /// May stand between a negation cue and its term.
    pub const BETWEEN: Self = Self(1 << 3);
    /// Completes a negation ("seen", "found", "had").
    pub const FINDING: Self = Self(1 << 4);
    pub const CLAUSE_BREAK: Self = Self(1 << 5);
    /// May stand in a negative subject ("staff", "of").
    pub const SUBJECT_WORD: Self = Self(1 << 6);
    /// Introduces something presupposed to exist ("the").
    pub const PRESUPPOSING: Self = Self(1 << 7);
    /// May stand between a hypothetical cue and its term.
    pub const HYPOTHETICAL_BETWEEN: Self = Self(1 << 8);
    pub const CHILD: Self = Self(1 << 9);
    pub const ADULT: Self = Self(1 << 10);
    pub const TITLE: Self = Self(1 << 11);
    /// Joins a person to the injury they have ("had", "with").
    pub const HAVING: Self = Self(1 << 12);
    /// Joins an injury to the person it is on ("to", "on").
    pub const PREPOSITION: Self = Self(1 << 13);
    /// A full stop after it does not end a sentence.
    pub const ABBREVIATION: Self = Self(1 << 14);
    pub const STARTS_TERM: Self = Self(1 << 15);
    pub const STARTS_IGNORE: Self = Self(1 << 16);
    pub const STARTS_BEFORE: Self = Self(1 << 17);
    pub const STARTS_AFTER: Self = Self(1 << 18);
    pub const STARTS_SUBJECT: Self = Self(1 << 19);
    pub const STARTS_PSEUDO: Self = Self(1 << 20);
    pub const STARTS_REVERSAL: Self = Self(1 << 21);
    pub const STARTS_HYPOTHETICAL: Self = Self(1 << 22);
    pub const STARTS_DOUBT: Self = Self(1 << 23);
    pub const STARTS_SHARED: Self = Self(1 << 24);
    /// May stand between a person's verb and their injury ("a", "small").
    pub const MODIFIER: Self = Self(1 << 25);
    /// Attaches an injury to the subject of its clause ("with").
    pub const ATTACHING: Self = Self(1 << 26);
    /// A subject pronoun ("he").
    pub const PRONOUN: Self = Self(1 << 27);
    /// A relative who is an adult after an adult's possessive ("mother's sister").
    pub const SIBLING: Self = Self(1 << 28);
    /// Joins the items of a list ("and", "or").
    pub const LIST_JOIN: Self = Self(1 << 29);
    /// A pronoun that may stand for a man or boy ("he", "him", "his").
    pub const HE: Self = Self(1 << 30);
    /// A pronoun that may stand for a woman or girl ("she", "her").
    pub const SHE: Self = Self(1 << 31);
    /// A person word (or title) for a man or boy ("father", "son", "mr").
    pub const MAN: Self = Self(1 << 32);
    /// A person word (or title) for a woman or girl ("mother", "daughter", "mrs").
    pub const WOMAN: Self = Self(1 << 33);
    /// A pronoun that may be the subject of its sentence ("he", "she").
    pub const SUBJECT_FORM: Self = Self(1 << 34);
    /// A pronoun that may be the object of a verb ("him", "her").
    pub const OBJECT_FORM: Self = Self(1 << 35);
    /// A pronoun that may be a possessive ("his", "her").
    pub const POSSESSIVE_FORM: Self = Self(1 << 36);
    pub const STARTS_CHILD_CONTEXT: Self = Self(1 << 37);

    /// Whether any of `other`'s roles is among these.
    pub const fn any(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
}

impl std::ops::BitOr for Roles {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// Every word the narrative lists use, with its roles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lexicon {
    ids: HashMap<Box<str>, WordId>,
    roles: Vec<Roles>,
}

impl Lexicon {
    /// The id of a lower-case word, if any list uses it.
    pub fn id(&self, word: &str) -> Option<WordId> {
        self.ids.get(word).copied()
    }

    /// The roles of a word (none for an id this lexicon did not give).
    pub fn roles(&self, id: WordId) -> Roles {
        usize::try_from(id).ok().and_then(|i| self.roles.get(i)).copied().unwrap_or_default()
    }

    fn intern(&mut self, word: &str) -> WordId {
        if let Some(id) = self.ids.get(word) {
            return *id;
        }
        let id = WordId::try_from(self.roles.len()).unwrap_or(WordId::MAX - 1);
        self.ids.insert(word.into(), id);
        self.roles.push(Roles::default());
        id
    }

    fn add(&mut self, word: &str, roles: Roles) -> WordId {
        let id = self.intern(word);
        if let Some(r) = usize::try_from(id).ok().and_then(|i| self.roles.get_mut(i)) {
            *r = *r | roles;
        }
        id
    }
}

/// A list of phrases (each one or more words), keyed by first word, longest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Phrases {
    by_first: HashMap<WordId, Vec<Vec<WordId>>>,
}

impl Phrases {
    /// The length of the longest phrase that `ids` starts with, or 0. [`ANY_WORD`] in a phrase
    /// matches any word, known or not, but never [`NOT_A_WORD`].
    pub fn longest_at(&self, ids: &[WordId]) -> usize {
        let matches = |p: &[WordId]| {
            p.len() <= ids.len() && p.iter().zip(ids).all(|(w, id)| *w == *id || (*w == ANY_WORD && *id != NOT_A_WORD))
        };
        ids.first()
            .and_then(|first| self.by_first.get(first))
            .and_then(|candidates| candidates.iter().find(|p| matches(p)))
            .map_or(0, Vec::len)
    }

    fn insert(&mut self, phrase: Vec<WordId>) {
        let Some(first) = phrase.first() else { return };
        let list = self.by_first.entry(*first).or_default();
        if !list.contains(&phrase) {
            list.push(phrase);
            list.sort_by_key(|p| std::cmp::Reverse(p.len()));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_first.is_empty()
    }
}

/// The narrative signals, ready for the matcher.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NarrativeSignals {
    pub lexicon: Lexicon,
    pub terms: Phrases,
    pub ignore: Phrases,
    pub before: Phrases,
    pub subjects: Phrases,
    pub after: Phrases,
    pub pseudo: Phrases,
    pub reversals: Phrases,
    pub hypothetical: Phrases,
    pub doubt: Phrases,
    pub shared: Phrases,
    /// What says that a baby or young child is about without naming one ("nappy", "looking
    /// after"); empty when the policy has no `[narrative.pronouns]`, and then no pronoun is read
    /// as an adult's.
    pub child_context: Phrases,
    pub sentence_ends: Vec<char>,
    pub clause_ends: Vec<char>,
    pub label_marks: Vec<char>,
    /// The most words between a negation cue and its term.
    pub window: usize,
    /// The most words in a negative subject.
    pub subject_window: usize,
}

/// How a list's entries are read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One word each.
    Word,
    /// One or more words each.
    Phrase,
}

/// The empty list, for optional lists that are absent.
static NO_WORDS: Vec<Spanned<String>> = Vec::new();

fn items(list: Option<&RawWords>) -> &[Spanned<String>] {
    list.map_or(&NO_WORDS[..], |l| l.get_ref().as_slice())
}

impl Checker<'_> {
    pub(super) fn narrative(&mut self, raw: &Spanned<RawNarrative>) -> NarrativeSignals {
        let n = raw.get_ref();
        self.narrative_format(n, raw.span());
        let mut out = NarrativeSignals { window: 8, subject_window: 12, ..NarrativeSignals::default() };
        let mut c = Compiler { checker: self, out: &mut out };
        c.phrases(Some(&n.injury_terms), "narrative.injury_terms", true, Roles::TERM_WORD, Roles::STARTS_TERM, |o| {
            &mut o.terms
        });
        c.words(n.other_injuries.as_ref(), "narrative.other_injuries", false, Roles::OTHER_INJURY);
        c.cues(n.ignore_phrases.as_ref(), "narrative.ignore_phrases", false, Roles::STARTS_IGNORE, |o| &mut o.ignore);
        c.words(n.body_parts.as_ref(), "narrative.body_parts", false, Roles::BODY);
        c.words(n.list_joins.as_ref(), "narrative.list_joins", false, Roles::LIST_JOIN);
        if let Some(s) = &n.sentences {
            c.sentences(s.get_ref());
        }
        if let Some(g) = &n.negation {
            c.negation(g.get_ref());
        }
        if let Some(h) = &n.hypothetical {
            let h = h.get_ref();
            c.cues(Some(&h.cues), "narrative.hypothetical.cues", true, Roles::STARTS_HYPOTHETICAL, |o| {
                &mut o.hypothetical
            });
            c.words(Some(&h.between), "narrative.hypothetical.between", false, Roles::HYPOTHETICAL_BETWEEN);
        }
        if let Some(o) = &n.owners {
            c.owners(o.get_ref());
        }
        if let Some(d) = &n.doubt {
            c.cues(Some(&d.get_ref().cues), "narrative.doubt.cues", true, Roles::STARTS_DOUBT, |o| &mut o.doubt);
        }
        if let Some(p) = &n.pronouns {
            c.pronouns(p.get_ref());
        }
        c.conflicts(n);
        out
    }

    /// The keys of the format before 2026.2, each named with where it moved, and the sub-tables
    /// that format lacks.
    fn narrative_format(&mut self, n: &RawNarrative, span: std::ops::Range<usize>) {
        let moved = [
            (&n.negation_cues, "negation_cues", "[narrative.negation] before"),
            (&n.negation_fillers, "negation_fillers", "[narrative.negation] between"),
            (&n.negation_window, "negation_window", "[narrative.negation] window"),
            (&n.clause_breaks, "clause_breaks", "[narrative.sentences] clause_breaks"),
        ];
        let shipped = super::DEFAULT_POLICY_PATH;
        for (value, key, to) in moved {
            if let Some(v) = value {
                self.err(
                    v.span(),
                    &format!("narrative.{key}"),
                    format!("moved to {to} in policy format 2026.2; see the shipped {shipped} for the new [narrative] section"),
                );
            }
        }
        let tables = [
            (n.sentences.is_some(), "sentences"),
            (n.negation.is_some(), "negation"),
            (n.hypothetical.is_some(), "hypothetical"),
            (n.owners.is_some(), "owners"),
            (n.doubt.is_some(), "doubt"),
        ];
        for (present, table) in tables {
            if !present {
                self.err(
                    span.clone(),
                    &format!("narrative.{table}"),
                    format!("is missing (required since policy format 2026.2; copy it from the shipped {shipped})"),
                );
            }
        }
    }
}

/// Builds the signals while checking each list.
struct Compiler<'c, 't> {
    checker: &'c mut Checker<'t>,
    out: &'c mut NarrativeSignals,
}

impl Compiler<'_, '_> {
    fn sentences(&mut self, s: &RawSentences) {
        self.out.sentence_ends = self.marks(&s.sentence_ends, "narrative.sentences.sentence_ends", true);
        self.out.clause_ends = self.marks(&s.clause_ends, "narrative.sentences.clause_ends", false);
        if let Some(labels) = &s.label_marks {
            self.out.label_marks = self.marks(labels, "narrative.sentences.label_marks", false);
            for (i, m) in self.out.label_marks.clone().iter().enumerate() {
                if !self.out.clause_ends.contains(m) {
                    self.checker.err(
                        labels.get_ref()[i].span(),
                        &format!("narrative.sentences.label_marks[{i}]"),
                        "must also be one of the clause_ends",
                    );
                }
            }
        }
        for (i, m) in self.out.clause_ends.clone().iter().enumerate() {
            if self.out.sentence_ends.contains(m) {
                self.checker.err(
                    s.clause_ends.get_ref()[i].span(),
                    &format!("narrative.sentences.clause_ends[{i}]"),
                    "is already a sentence end",
                );
            }
        }
        self.words(Some(&s.clause_breaks), "narrative.sentences.clause_breaks", false, Roles::CLAUSE_BREAK);
        self.words(s.abbreviations.as_ref(), "narrative.sentences.abbreviations", false, Roles::ABBREVIATION);
    }

    fn negation(&mut self, g: &RawNegation) {
        let p = "narrative.negation";
        self.cues(Some(&g.before), &format!("{p}.before"), true, Roles::STARTS_BEFORE, |o| &mut o.before);
        self.cues(Some(&g.subjects), &format!("{p}.subjects"), true, Roles::STARTS_SUBJECT, |o| &mut o.subjects);
        self.words(Some(&g.subject_words), &format!("{p}.subject_words"), false, Roles::SUBJECT_WORD);
        self.cues(Some(&g.after), &format!("{p}.after"), true, Roles::STARTS_AFTER, |o| &mut o.after);
        self.words(Some(&g.between), &format!("{p}.between"), true, Roles::BETWEEN);
        self.words(Some(&g.findings), &format!("{p}.findings"), true, Roles::FINDING);
        self.words(Some(&g.presupposing), &format!("{p}.presupposing"), false, Roles::PRESUPPOSING);
        self.cues(Some(&g.pseudo), &format!("{p}.pseudo"), true, Roles::STARTS_PSEUDO, |o| &mut o.pseudo);
        self.cues(g.reversals.as_ref(), &format!("{p}.reversals"), false, Roles::STARTS_REVERSAL, |o| &mut o.reversals);
        self.out.window = self.window(&g.window, &format!("{p}.window"), 20);
        self.out.subject_window = self.window(&g.subject_window, &format!("{p}.subject_window"), 30);
    }

    fn owners(&mut self, o: &RawOwners) {
        let p = "narrative.owners";
        self.words(Some(&o.children), &format!("{p}.children"), true, Roles::CHILD);
        self.words(Some(&o.adults), &format!("{p}.adults"), true, Roles::ADULT);
        self.words(Some(&o.titles), &format!("{p}.titles"), false, Roles::TITLE);
        self.words(o.siblings.as_ref(), &format!("{p}.siblings"), false, Roles::SIBLING);
        self.words(Some(&o.having), &format!("{p}.having"), true, Roles::HAVING);
        self.words(o.attaching.as_ref(), &format!("{p}.attaching"), false, Roles::ATTACHING);
        self.words(Some(&o.modifiers), &format!("{p}.modifiers"), false, Roles::MODIFIER);
        self.words(o.pronouns.as_ref(), &format!("{p}.pronouns"), false, Roles::PRONOUN);
        self.words(Some(&o.prepositions), &format!("{p}.prepositions"), true, Roles::PREPOSITION);
        self.cues(o.shared.as_ref(), &format!("{p}.shared"), false, Roles::STARTS_SHARED, |o| &mut o.shared);
    }

    /// `[narrative.pronouns]`: each pronoun's gender and forms, the people words of each gender,
    /// and the words that say a young child is about. A pronoun must have a gender and a form,
    /// and a gendered word must be a person (or a title): otherwise the list would be silently
    /// ignored.
    fn pronouns(&mut self, r: &RawPronouns) {
        let p = "narrative.pronouns";
        self.words(Some(&r.he), &format!("{p}.he"), true, Roles::HE);
        self.words(Some(&r.she), &format!("{p}.she"), true, Roles::SHE);
        self.words(Some(&r.subjects), &format!("{p}.subjects"), true, Roles::SUBJECT_FORM);
        self.words(Some(&r.objects), &format!("{p}.objects"), true, Roles::OBJECT_FORM);
        self.words(Some(&r.possessives), &format!("{p}.possessives"), true, Roles::POSSESSIVE_FORM);
        self.words(Some(&r.men), &format!("{p}.men"), true, Roles::MAN);
        self.words(Some(&r.women), &format!("{p}.women"), true, Roles::WOMAN);
        self.cues(Some(&r.child_context), &format!("{p}.child_context"), true, Roles::STARTS_CHILD_CONTEXT, |o| {
            &mut o.child_context
        });
        let forms = Roles::SUBJECT_FORM | Roles::OBJECT_FORM | Roles::POSSESSIVE_FORM;
        let people = Roles::CHILD | Roles::ADULT | Roles::TITLE;
        let lists: [(&RawWords, &str, Roles, &str); 5] = [
            (&r.he, "he", forms, "is in none of subjects, objects or possessives"),
            (&r.she, "she", forms, "is in none of subjects, objects or possessives"),
            (&r.subjects, "subjects", Roles::HE | Roles::SHE, "is in neither he nor she"),
            (&r.objects, "objects", Roles::HE | Roles::SHE, "is in neither he nor she"),
            (&r.possessives, "possessives", Roles::HE | Roles::SHE, "is in neither he nor she"),
        ];
        let gendered: [(&RawWords, &str); 2] = [(&r.men, "men"), (&r.women, "women")];
        let mut problems = Vec::new();
        for (list, key, needs, problem) in lists {
            for (i, item) in list.get_ref().iter().enumerate() {
                if !self.has_role(item.get_ref(), needs) {
                    problems.push((item.span(), format!("{p}.{key}[{i}]"), problem.to_owned()));
                }
            }
        }
        for (list, key) in gendered {
            for (i, item) in list.get_ref().iter().enumerate() {
                if !self.has_role(item.get_ref(), people) {
                    problems.push((
                        item.span(),
                        format!("{p}.{key}[{i}]"),
                        "is not a person: add it to owners.children, owners.adults or owners.titles".to_owned(),
                    ));
                }
            }
        }
        for (span, path, message) in problems {
            self.checker.err(span, &path, message);
        }
    }

    /// Whether the one word `entry` has any of `roles` (false for an entry that is not one word,
    /// which its list reports already).
    fn has_role(&self, entry: &str, roles: Roles) -> bool {
        match words_of(entry).as_slice() {
            [word] => self.out.lexicon.id(word).is_some_and(|id| self.out.lexicon.roles(id).any(roles)),
            _ => true,
        }
    }

    /// A list of cue phrases: only their first words get a role (starting the list's phrases).
    fn cues(
        &mut self,
        list: Option<&RawWords>,
        path: &str,
        required: bool,
        start_role: Roles,
        set: impl Fn(&mut NarrativeSignals) -> &mut Phrases,
    ) {
        self.phrases(list, path, required, Roles::default(), start_role, set);
    }

    /// The entries of a list as words (a `*` in a phrase kept as one), reporting entries
    /// without words, phrases where a word is needed, a phrase that starts with `*`, and an
    /// empty list that must not be.
    fn entries(&mut self, list: Option<&RawWords>, path: &str, required: bool, shape: Shape) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for (i, item) in items(list).iter().enumerate() {
            let words: Vec<String> = item
                .get_ref()
                .split_whitespace()
                .flat_map(|piece| if piece == "*" { vec!["*".to_owned()] } else { words_of(piece) })
                .collect();
            let at = format!("{path}[{i}]");
            if words.iter().all(|w| w == "*") {
                self.checker.err(item.span(), &at, "has no words (letters or digits)");
            } else if words[0] == "*" || (shape == Shape::Word && words.iter().any(|w| w == "*")) {
                self.checker.err(
                    item.span(),
                    &at,
                    "may use * (any one word) only inside a phrase, after its first word",
                );
            } else if shape == Shape::Word && words.len() > 1 {
                self.checker.err(item.span(), &at, "must be a single word (this list does not take phrases)");
            } else {
                out.push(words);
            }
        }
        if required && items(list).is_empty() {
            match list {
                Some(l) => self.checker.err(l.span(), path, "must not be empty: the matcher needs it"),
                None => self.checker.errors.push(super::PolicyError {
                    line: None,
                    column: None,
                    path: path.to_owned(),
                    message: "must not be empty: the matcher needs it".into(),
                }),
            }
        }
        out
    }

    fn words(&mut self, list: Option<&RawWords>, path: &str, required: bool, role: Roles) {
        for words in self.entries(list, path, required, Shape::Word) {
            self.out.lexicon.add(&words[0], role);
        }
    }

    fn phrases(
        &mut self,
        list: Option<&RawWords>,
        path: &str,
        required: bool,
        word_role: Roles,
        start_role: Roles,
        set: impl Fn(&mut NarrativeSignals) -> &mut Phrases,
    ) {
        for words in self.entries(list, path, required, Shape::Phrase) {
            let ids: Vec<WordId> =
                words.iter().map(|w| if w == "*" { ANY_WORD } else { self.out.lexicon.add(w, word_role) }).collect();
            self.out.lexicon.add(&words[0], start_role);
            set(self.out).insert(ids);
        }
    }

    /// Punctuation marks: one character each, not a letter, digit or space (a line break is
    /// allowed where `newline` is).
    fn marks(&mut self, list: &RawWords, path: &str, required: bool) -> Vec<char> {
        let mut out = Vec::new();
        for (i, item) in list.get_ref().iter().enumerate() {
            let mut chars = item.get_ref().chars();
            match (chars.next(), chars.next()) {
                (Some(ch), None)
                    if !ch.is_alphanumeric() && (!ch.is_whitespace() || (required && ch == '\n')) && ch != '\'' =>
                {
                    out.push(ch);
                }
                _ => self.checker.err(
                    item.span(),
                    &format!("{path}[{i}]"),
                    "must be one punctuation mark (not a letter, digit, apostrophe or space)",
                ),
            }
        }
        if required && out.is_empty() && list.get_ref().is_empty() {
            self.checker.err(list.span(), path, "must not be empty: the matcher needs it");
        }
        out
    }

    fn window(&mut self, value: &Spanned<i64>, path: &str, most: usize) -> usize {
        if let Some(w) = usize::try_from(*value.get_ref()).ok().filter(|w| (1..=most).contains(w)) {
            w
        } else {
            self.checker.err(value.span(), path, format!("must be a whole number from 1 to {most}"));
            most.min(8)
        }
    }

    /// Words whose roles contradict each other: the matcher could not tell what they mean.
    fn conflicts(&mut self, n: &RawNarrative) {
        let lexicon = &self.out.lexicon;
        let clash = |a: Roles, b: Roles| {
            let mut words: Vec<&str> = lexicon
                .ids
                .iter()
                .filter(|(_, id)| {
                    let r = lexicon.roles(**id);
                    r.any(a) && r.any(b)
                })
                .map(|(w, _)| &**w)
                .collect();
            words.sort_unstable();
            words.into_iter().map(str::to_owned).collect::<Vec<_>>()
        };
        let cue_starts = Roles::STARTS_BEFORE | Roles::STARTS_AFTER | Roles::STARTS_SUBJECT;
        let checks = [
            (
                clash(Roles::TERM_WORD, cue_starts | Roles::BETWEEN | Roles::CLAUSE_BREAK),
                "injury words",
                "also negation or clause words",
            ),
            (clash(Roles::CHILD, Roles::ADULT), "owners.children", "also in owners.adults"),
            (
                clash(Roles::CHILD | Roles::ADULT, Roles::MODIFIER | Roles::HAVING | Roles::BETWEEN | Roles::PRONOUN),
                "owners",
                "people that are also joining words (owners.having, owners.modifiers, negation.between)",
            ),
            (clash(Roles::HE, Roles::SHE), "pronouns.he", "also in pronouns.she"),
            (clash(Roles::MAN, Roles::WOMAN), "pronouns.men", "also in pronouns.women"),
            (
                clash(Roles::HE | Roles::SHE, Roles::CHILD | Roles::ADULT | Roles::TITLE),
                "pronouns",
                "pronouns (he, she) that are also people (owners.children, owners.adults, owners.titles)",
            ),
            (
                clash(Roles::CLAUSE_BREAK, Roles::BETWEEN),
                "sentences.clause_breaks",
                "also in negation.between (a clause break cannot carry a negation)",
            ),
        ];
        for (words, list, problem) in checks {
            if !words.is_empty() {
                self.checker.err(
                    n.injury_terms.span(),
                    &format!("narrative.{list}"),
                    format!("{problem}: {}", words.join(", ")),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{DEFAULT_POLICY, Policy};

    fn errors(text: &str) -> Vec<String> {
        Policy::parse(text).unwrap_err().0.iter().map(ToString::to_string).collect()
    }

    fn has(found: &[String], path: &str, words: &str) -> bool {
        found.iter().any(|e| e.contains(path) && e.contains(words))
    }

    /// The shipped file with one line of the `[narrative]` section replaced.
    fn with(line_start: &str, replacement: &str) -> String {
        let line = DEFAULT_POLICY.lines().find(|l| l.starts_with(line_start)).unwrap();
        DEFAULT_POLICY.replacen(line, replacement, 1)
    }

    #[test]
    fn the_shipped_narrative_section_compiles() {
        let n = Policy::default_policy().unwrap().narrative;
        let id = |w: &str| n.lexicon.id(w).unwrap();
        assert!(n.lexicon.roles(id("bruising")).any(super::Roles::STARTS_TERM));
        assert!(n.lexicon.roles(id("mother")).any(super::Roles::ADULT));
        assert_eq!(n.before.longest_at(&[id("free"), id("of"), id("bruises")]), 2);
        assert_eq!(n.terms.longest_at(&[id("broke"), super::UNKNOWN_WORD, id("arm")]), 3, "a wildcard");
        assert_eq!(n.terms.longest_at(&[id("broke"), super::NOT_A_WORD, id("arm")]), 0, "not across a mark");
        assert_eq!((n.window, n.subject_window), (8, 12));
    }

    /// The shipped file with a whole list (which may span lines) replaced.
    fn with_list(key: &str, replacement: &str) -> String {
        let start = DEFAULT_POLICY.find(&format!("\n{key} = [")).unwrap() + 1;
        let end = start + DEFAULT_POLICY[start..].find("]\n").unwrap() + 1;
        format!("{}{replacement}{}", &DEFAULT_POLICY[..start], &DEFAULT_POLICY[end..])
    }

    #[test]
    fn an_empty_cue_list_is_an_error_with_its_line() {
        for key in ["before", "subjects", "pseudo", "injury_terms", "children", "having"] {
            let text = with_list(key, &format!("{key} = []"));
            let found = errors(&text);
            let line = text.lines().position(|l| l == format!("{key} = []")).unwrap() + 1;
            assert!(
                found.iter().any(|e| e.starts_with(&format!("{line}:")) && e.contains("must not be empty")),
                "{key}: {found:#?}"
            );
        }
    }

    #[test]
    fn each_new_list_is_checked() {
        let cases = [
            ("window = ", "window = 0", "narrative.negation.window", "from 1 to 20"),
            ("subject_window = ", "subject_window = 31", "narrative.negation.subject_window", "from 1 to 30"),
            ("after = [", "after = []", "narrative.negation.after", "must not be empty"),
            ("attaching = [", "attaching = [\"with it\"]", "narrative.owners.attaching[0]", "single word"),
            ("attaching = [", "attaching = [\"!!\"]", "narrative.owners.attaching[0]", "has no words"),
            ("list_joins = [", "list_joins = [\"*\"]", "narrative.list_joins[0]", "has no words"),
            ("shared = [", "shared = [\"* too\"]", "narrative.owners.shared[0]", "only inside a phrase"),
            ("label_marks = [", "label_marks = [\"::\"]", "narrative.sentences.label_marks[0]", "one punctuation mark"),
            ("label_marks = [", "label_marks = [\"#\"]", "narrative.sentences.label_marks[0]", "clause_ends"),
            ("label_marks = [", "label_marks = [\"a\"]", "narrative.sentences.label_marks[0]", "one punctuation mark"),
            ("clause_ends = [", "clause_ends = [\".\", \";\"]", "narrative.sentences.clause_ends[0]", "sentence end"),
            ("sentence_ends = [", "sentence_ends = []", "narrative.sentences.sentence_ends", "must not be empty"),
            ("pronouns = [", "pronouns = [\"mother\"]", "narrative.owners", "also joining words"),
            ("siblings = [", "siblings = [\"no\"]", "", ""),
        ];
        for (start, replacement, path, words) in cases {
            let text = with(start, replacement);
            if path.is_empty() {
                assert!(Policy::parse(&text).is_ok(), "{replacement}");
                continue;
            }
            let found = errors(&text);
            assert!(has(&found, path, words), "{replacement}: {found:#?}");
            assert!(found.iter().all(|e| e.chars().next().is_some_and(|c| c.is_ascii_digit())), "a line: {found:?}");
        }
    }

    #[test]
    fn the_pronouns_table_is_checked() {
        let cases = [
            (
                "he = [\"he\", \"him\", \"his\"]",
                "he = [\"he\", \"him\", \"his\", \"mother\"]",
                "narrative.pronouns",
                "mother",
            ),
            (
                "he = [\"he\", \"him\", \"his\"]",
                "he = [\"he\", \"him\", \"his\", \"himself\"]",
                "narrative.pronouns.he[3]",
                "none of subjects",
            ),
            (
                "subjects = [\"he\", \"she\"]",
                "subjects = [\"he\", \"she\", \"they\"]",
                "narrative.pronouns.subjects[2]",
                "neither he nor she",
            ),
            (
                "she = [\"she\", \"her\"]",
                "she = [\"she\", \"her\", \"his\"]",
                "narrative.pronouns.he",
                "also in pronouns.she",
            ),
            (
                "objects = [\"him\", \"her\"]",
                "objects = [\"him\", \"her\", \"him her\"]",
                "narrative.pronouns.objects[2]",
                "single word",
            ),
            (
                "\nmen = [\n  \"father\",",
                "\nmen = [\n  \"bloke\", \"father\",",
                "narrative.pronouns.men[0]",
                "not a person",
            ),
            (
                "\nmen = [\n  \"father\",",
                "\nmen = [\n  \"mother\", \"father\",",
                "narrative.pronouns.men",
                "also in pronouns.women",
            ),
            ("child_context = [", "child_context = [\"*\",", "narrative.pronouns.child_context[0]", "has no words"),
        ];
        for (from, to, path, words) in cases {
            assert!(DEFAULT_POLICY.contains(from), "{from}");
            let found = errors(&DEFAULT_POLICY.replacen(from, to, 1));
            assert!(has(&found, path, words), "{to}: {found:#?}");
        }
        let empty = with_list("child_context", "child_context = []");
        assert!(has(&errors(&empty), "narrative.pronouns.child_context", "must not be empty"));
        // The table is optional: without it the policy loads, and no pronoun is read.
        let start = DEFAULT_POLICY.find("[narrative.pronouns]\n").unwrap();
        let end = DEFAULT_POLICY
            .find("# ------------------------------------------------------------------------------------- calendar")
            .unwrap();
        let without = format!("{}{}", &DEFAULT_POLICY[..start], &DEFAULT_POLICY[end..]);
        assert!(Policy::parse(&without).unwrap().narrative.child_context.is_empty());
    }

    #[test]
    fn a_word_with_contradicting_roles_is_an_error() {
        let text = DEFAULT_POLICY.replacen("\"injury\", \"injuries\",", "\"injury\", \"injuries\", \"none\",", 1);
        assert!(has(&errors(&text), "narrative.injury words", "none"), "{:#?}", errors(&text));
        let text = DEFAULT_POLICY.replacen("\"mother\", \"mothers\",", "\"mother\", \"mothers\", \"baby\",", 1);
        assert!(has(&errors(&text), "narrative.owners.children", "baby"), "{:#?}", errors(&text));
        let text =
            DEFAULT_POLICY.replacen("clause_breaks = [\n  \"and\",", "clause_breaks = [\n  \"and\", \"any\",", 1);
        assert!(has(&errors(&text), "narrative.sentences.clause_breaks", "any"), "{:#?}", errors(&text));
    }

    #[test]
    fn a_policy_in_the_2026_1_format_is_told_where_each_key_moved() {
        let start = DEFAULT_POLICY.find("[narrative]\n").unwrap();
        let end = DEFAULT_POLICY
            .find("# ------------------------------------------------------------------------------------- calendar")
            .unwrap();
        let old = "[narrative]\ninjury_terms = [\"bruise\"]\nnegation_cues = [\"no\"]\nnegation_fillers = [\"any\"]\n\
                   negation_window = 6\nclause_breaks = [\"and\"]\nignore_phrases = [\"injured party\"]\n\n";
        let text = format!("{}{old}{}", &DEFAULT_POLICY[..start], &DEFAULT_POLICY[end..]);
        let found = errors(&text);
        for (key, to) in [
            ("narrative.negation_cues", "[narrative.negation] before"),
            ("narrative.negation_fillers", "[narrative.negation] between"),
            ("narrative.negation_window", "[narrative.negation] window"),
            ("narrative.clause_breaks", "[narrative.sentences] clause_breaks"),
            ("narrative.sentences", "is missing"),
            ("narrative.negation", "is missing"),
            ("narrative.owners", "is missing"),
        ] {
            assert!(has(&found, key, to), "{key}: {found:#?}");
        }
    }
}
