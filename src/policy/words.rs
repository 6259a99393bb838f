//! How text splits into words: the one tokenisation shared by the policy's narrative terms and
//! the narrative text they are matched in, so a term matches as it is written ("black-eye" is
//! the two words "black eye" in both).
//!
//! A word is a run of letters and digits, lower-cased, with an apostrophe inside it kept (as
//! `'`, typographic or not), so "didn’t" stays one word. Everything else is a gap.

/// A piece of text: a word, or one character between words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A word in lower case; `capitalised` when it began with an upper-case letter, `shouted`
    /// when it has two or more letters and all are upper case ("BRUISING").
    Word { word: String, capitalised: bool, shouted: bool },
    /// A character that belongs to no word (a space, punctuation, a line break).
    Gap(char),
}

/// The pieces of `text`, in order.
pub fn pieces(text: &str) -> Pieces<'_> {
    Pieces { chars: text.chars(), gap_after_word: None }
}

/// The words of a phrase or text, without the gaps.
pub fn words_of(text: &str) -> Vec<String> {
    pieces(text)
        .filter_map(|piece| match piece {
            Piece::Word { word, .. } => Some(word),
            Piece::Gap(_) => None,
        })
        .collect()
}

/// The iterator of [`pieces`].
#[derive(Debug, Clone)]
pub struct Pieces<'t> {
    chars: std::str::Chars<'t>,
    /// The gap that ended the last word, due next.
    gap_after_word: Option<char>,
}

impl Iterator for Pieces<'_> {
    type Item = Piece;

    fn next(&mut self) -> Option<Piece> {
        if let Some(ch) = self.gap_after_word.take() {
            return Some(Piece::Gap(ch));
        }
        let mut word = String::new();
        let mut capitalised = false;
        let (mut letters, mut upper) = (0_usize, 0_usize);
        for ch in self.chars.by_ref() {
            if ch.is_alphanumeric() {
                if word.is_empty() {
                    capitalised = ch.is_uppercase();
                }
                if ch.is_alphabetic() {
                    letters += 1;
                    upper += usize::from(ch.is_uppercase());
                }
                word.extend(ch.to_lowercase());
            } else if matches!(ch, '\'' | '\u{2019}') && !word.is_empty() {
                // Keep contractions ("didn't") whole; a typographic apostrophe counts too.
                word.push('\'');
            } else if word.is_empty() {
                return Some(Piece::Gap(ch));
            } else {
                self.gap_after_word = Some(ch);
                return Some(Piece::Word { word, capitalised, shouted: letters >= 2 && upper == letters });
            }
        }
        (!word.is_empty()).then_some(Piece::Word { word, capitalised, shouted: letters >= 2 && upper == letters })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(w: &str, capitalised: bool) -> Piece {
        Piece::Word { word: w.to_owned(), capitalised, shouted: false }
    }

    #[test]
    fn words_are_lower_case_runs_of_letters_and_digits_with_inner_apostrophes() {
        assert_eq!(words_of("A black-eye, DIDN\u{2019}T 2 x-rays"), ["a", "black", "eye", "didn't", "2", "x", "rays"]);
        assert_eq!(words_of("'quoted' dogs'"), ["quoted'", "dogs'"]);
        assert!(words_of(" .,; ").is_empty());
    }

    #[test]
    fn pieces_keep_every_gap_in_order_and_the_capitalisation() {
        assert_eq!(
            pieces("Mark hit.\nno").collect::<Vec<_>>(),
            [
                word("mark", true),
                Piece::Gap(' '),
                word("hit", false),
                Piece::Gap('.'),
                Piece::Gap('\n'),
                word("no", false)
            ]
        );
        assert_eq!(pieces("").count(), 0);
        assert_eq!(
            pieces("NO Bruise").collect::<Vec<_>>(),
            [
                Piece::Word { word: "no".into(), capitalised: true, shouted: true },
                Piece::Gap(' '),
                word("bruise", true)
            ]
        );
    }
}
