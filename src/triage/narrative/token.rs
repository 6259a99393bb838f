//! Text to tokens: words (looked up once in the policy's lexicon), the punctuation that bounds
//! clauses and sentences, and the sentence each token is in. Names are recognised here, where
//! the capitalisation is still known: a capitalised word after a title, and the contact's
//! people where written capitalised.
//!
//! A full stop or line break ends a sentence unless the next word starts in lower case or with
//! a digit ("2.5 cm", a line wrapped mid-sentence), or the word before it is an abbreviation, a
//! title or a single letter ("Dr. Marks", "J. Burns"). "!" and "?" always end one.

use super::{Owner, People, pronoun};
use crate::policy::{
    NarrativeSignals,
    narrative::{NOT_A_WORD as MARK, Roles, UNKNOWN_WORD as UNKNOWN, WordId},
    words::{Piece, scan},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Word,
    Comma,
    /// "(" or "[": a parenthesis opens.
    Open,
    Close,
    /// A clause ends (";").
    Clause,
    /// A clause ends between a label and its value (":").
    Label,
    Sentence,
}

/// Facts about a word token, as bits.
pub(super) mod flag {
    /// Started with a capital letter.
    pub const CAPITALISED: u8 = 1;
    /// Written all in capitals.
    pub const SHOUTED: u8 = 1 << 1;
    /// Ended in "'s" or "'" and was looked up without it.
    pub const POSSESSIVE: u8 = 1 << 2;
    /// The name of an adult: after a title, or an adult or the referrer in the contact.
    pub const ADULT_NAME: u8 = 1 << 3;
    /// The name of a child in the contact.
    pub const CHILD_NAME: u8 = 1 << 4;
    /// Part of an ignored phrase.
    pub const IGNORED: u8 = 1 << 5;
    /// A relative of an adult ("the mother's sister"): an adult.
    pub const ADULTS_RELATIVE: u8 = 1 << 6;
    /// A pronoun that refers to an adult named before it ("The father was arrested. He ...").
    pub const ADULT_PRONOUN: u8 = 1 << 7;
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Token {
    pub(super) kind: Kind,
    /// The lexicon id of a word ([`UNKNOWN`] if none; [`MARK`] for punctuation).
    pub(super) id: WordId,
    pub(super) roles: Roles,
    pub(super) flags: u8,
    /// 0-based.
    pub(super) sentence: u32,
}

impl Token {
    pub(super) fn is_word(&self) -> bool {
        self.kind == Kind::Word
    }

    pub(super) fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// A name, which is never an injury word.
    pub(super) fn is_name(&self) -> bool {
        self.has(flag::ADULT_NAME | flag::CHILD_NAME)
    }

    /// Whose the person this token names is, if it names one.
    pub(super) fn person(&self) -> Option<Owner> {
        if !self.is_word() {
            None
        } else if self.has(flag::CHILD_NAME) {
            Some(Owner::Child)
        } else if self.has(flag::ADULT_NAME | flag::ADULTS_RELATIVE | flag::ADULT_PRONOUN) {
            Some(Owner::Adult)
        } else if self.roles.any(Roles::CHILD) {
            Some(Owner::Child)
        } else if self.roles.any(Roles::ADULT) {
            Some(Owner::Adult)
        } else {
            None
        }
    }
}

/// Per sentence: what the matcher asks of a whole sentence.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sentence {
    pub(super) question: bool,
    pub(super) child: bool,
    pub(super) adult: bool,
}

/// The tokens of a text and its sentences.
pub(super) struct Tokens {
    pub(super) tokens: Vec<Token>,
    pub(super) sentences: Vec<Sentence>,
}

/// How long a name after a title may run ("PC 1234 Jo Burns").
const NAME_AFTER_TITLE: u8 = 3;

#[expect(clippy::struct_excessive_bools, reason = "a scanner's state: each flag is one pending decision")]
struct Builder<'s> {
    signals: &'s NarrativeSignals,
    people: &'s People,
    out: Vec<Token>,
    sentences: Vec<Sentence>,
    sentence: u32,
    words_in_sentence: usize,
    /// A full stop or line break that ends the sentence unless the next word is lower case.
    pending_end: bool,
    /// A hyphen after a space: a dash if a space follows.
    pending_dash: bool,
    last_gap_space: bool,
    /// Words left that may be a name after a title.
    after_title: u8,
    /// The last word: whether a full stop after it ends a sentence.
    last_word_stops: bool,
}

/// Splits `text` into tokens.
pub(super) fn tokens(text: &str, signals: &NarrativeSignals, people: &People) -> Tokens {
    let mut b = Builder {
        signals,
        people,
        out: Vec::with_capacity(text.len() / 4),
        sentences: vec![Sentence::default()],
        sentence: 0,
        words_in_sentence: 0,
        pending_end: false,
        pending_dash: false,
        last_gap_space: true,
        after_title: 0,
        last_word_stops: true,
    };
    scan(text, |piece| match piece {
        Piece::Word { word, capitalised, shouted } => b.word(word, capitalised, shouted),
        Piece::Gap(ch) => b.gap(ch),
    });
    let mut t = Tokens { tokens: b.out, sentences: b.sentences };
    let ids: Vec<WordId> = t.tokens.iter().map(|t| t.id).collect();
    mark_ignored(&mut t.tokens, &ids, signals);
    for tok in &t.tokens {
        if let (Some(owner), Some(s)) = (tok.person(), usize::try_from(tok.sentence).ok())
            && let Some(sentence) = t.sentences.get_mut(s)
        {
            match owner {
                Owner::Child => sentence.child = true,
                Owner::Adult => sentence.adult = true,
            }
        }
    }
    pronoun::resolve(&mut t.tokens, &ids, &mut t.sentences, signals);
    t
}

impl Builder<'_> {
    fn push(&mut self, kind: Kind) {
        self.out.push(Token { kind, id: MARK, roles: Roles::default(), flags: 0, sentence: self.sentence });
    }

    fn end_sentence(&mut self, question: bool) {
        self.pending_end = false;
        if self.words_in_sentence == 0 {
            return;
        }
        if let Some(s) = self.sentences.last_mut() {
            s.question |= question;
        }
        self.push(Kind::Sentence);
        self.sentence += 1;
        self.words_in_sentence = 0;
        self.sentences.push(Sentence::default());
        self.after_title = 0;
    }

    fn word(&mut self, word: &str, capitalised: bool, shouted: bool) {
        self.pending_dash = false;
        self.last_gap_space = false;
        if self.pending_end {
            if capitalised {
                self.end_sentence(false);
            } else {
                self.pending_end = false;
            }
        }
        let lexicon = &self.signals.lexicon;
        let mut flags = if capitalised { flag::CAPITALISED } else { 0 };
        if shouted {
            flags |= flag::SHOUTED;
        }
        // "mother's" is "mother", possessive.
        let possessive = word
            .strip_suffix("'s")
            .or_else(|| word.strip_suffix('\''))
            .filter(|s| !s.is_empty() && lexicon.id(word).is_none());
        if possessive.is_some() {
            flags |= flag::POSSESSIVE;
        }
        let stem = possessive.unwrap_or(word);
        let id = lexicon.id(stem).unwrap_or(UNKNOWN);
        let roles = if id == UNKNOWN { Roles::default() } else { lexicon.roles(id) };
        // A name: capitalised (or a collar number) after a title, or one of the contact's people.
        let digits = word.chars().all(|c| c.is_ascii_digit());
        if self.after_title > 0 && (capitalised || digits) && !roles.any(Roles::TITLE) {
            flags |= flag::ADULT_NAME;
            self.after_title -= 1;
        } else {
            self.after_title = 0;
        }
        if capitalised && flags & flag::ADULT_NAME == 0 {
            match self.people.owner_of(stem) {
                Some(Owner::Child) => flags |= flag::CHILD_NAME,
                Some(Owner::Adult) => flags |= flag::ADULT_NAME,
                None => {}
            }
        }
        if roles.any(Roles::TITLE) {
            self.after_title = NAME_AFTER_TITLE;
        }
        if roles.any(Roles::SIBLING)
            && self.out.last().is_some_and(|p| p.has(flag::POSSESSIVE) && p.person() == Some(Owner::Adult))
        {
            flags |= flag::ADULTS_RELATIVE;
        }
        // A full stop after an abbreviation, a title or an initial does not end a sentence.
        let single_letter = word.chars().count() == 1 && !digits;
        self.last_word_stops = !(roles.any(Roles::ABBREVIATION | Roles::TITLE) || single_letter);
        self.out.push(Token { kind: Kind::Word, id, roles, flags, sentence: self.sentence });
        self.words_in_sentence += 1;
    }

    fn gap(&mut self, ch: char) {
        let signals = self.signals;
        if self.pending_dash {
            self.pending_dash = false;
            if ch.is_whitespace() {
                self.mark('\u{2013}');
            }
        }
        if ch == '-' && self.last_gap_space {
            self.pending_dash = true;
            self.last_gap_space = false;
            return;
        }
        self.last_gap_space = ch.is_whitespace();
        if signals.sentence_ends.contains(&ch) {
            if matches!(ch, '!' | '?') {
                self.end_sentence(ch == '?');
            } else if ch == '\n' || self.last_word_stops {
                self.pending_end = true;
            }
            self.after_title = self.after_title.min(u8::from(ch == '.') * NAME_AFTER_TITLE);
            return;
        }
        self.mark(ch);
    }

    /// A punctuation mark other than a sentence end.
    fn mark(&mut self, ch: char) {
        let kind = if ch == ',' {
            Kind::Comma
        } else if !self.signals.clause_ends.contains(&ch) {
            return;
        } else if matches!(ch, '(' | '[' | '{') {
            Kind::Open
        } else if matches!(ch, ')' | ']' | '}') {
            Kind::Close
        } else if self.signals.label_marks.contains(&ch) {
            Kind::Label
        } else {
            Kind::Clause
        };
        if self.pending_end {
            self.end_sentence(false);
        }
        self.after_title = 0;
        self.push(kind);
    }
}

/// Marks the words of every ignored phrase ("blood test"): they are never injury words.
fn mark_ignored(tokens: &mut [Token], ids: &[WordId], signals: &NarrativeSignals) {
    if signals.ignore.is_empty() {
        return;
    }
    let mut i = 0;
    while i < tokens.len() {
        let len = if tokens[i].roles.any(Roles::STARTS_IGNORE) { signals.ignore.longest_at(&ids[i..]) } else { 0 };
        for t in &mut tokens[i..i + len] {
            t.flags |= flag::IGNORED;
        }
        i += len.max(1);
    }
}
