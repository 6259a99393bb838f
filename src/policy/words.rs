//! How text splits into words: the one tokenisation shared by the policy's narrative terms and
//! the narrative text they are matched in, so a term matches as it is written ("black-eye" is
//! the two words "black eye" in both).
//!
//! A word is a run of letters and digits, lower-cased, with an apostrophe inside it kept (as
//! `'`, typographic or not), so "didn’t" stays one word. Everything else is a gap.

/// A piece of text: a word, or one character between words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'w> {
    /// A word in lower case; `capitalised` when it began with an upper-case letter, `shouted`
    /// when it has two or more letters and all are upper case ("BRUISING").
    Word { word: &'w str, capitalised: bool, shouted: bool },
    /// A character that belongs to no word (a space, punctuation, a line break).
    Gap(char),
}

/// Calls `each` with the pieces of `text`, in order. A word is lent from one buffer that is
/// reused, so a long text costs no allocation per word.
pub fn scan(text: &str, mut each: impl FnMut(Piece<'_>)) {
    let mut word = String::new();
    let (mut capitalised, mut letters, mut upper) = (false, 0_usize, 0_usize);
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            if word.is_empty() {
                capitalised = ch.is_uppercase();
                (letters, upper) = (0, 0);
            }
            if ch.is_alphabetic() {
                letters += 1;
                upper += usize::from(ch.is_uppercase());
            }
            word.extend(ch.to_lowercase());
        } else if matches!(ch, '\'' | '\u{2019}') && !word.is_empty() {
            // Keep contractions ("didn't") whole; a typographic apostrophe counts too.
            word.push('\'');
        } else {
            if !word.is_empty() {
                each(Piece::Word { word: &word, capitalised, shouted: letters >= 2 && upper == letters });
                word.clear();
            }
            each(Piece::Gap(ch));
        }
    }
    if !word.is_empty() {
        each(Piece::Word { word: &word, capitalised, shouted: letters >= 2 && upper == letters });
    }
}

/// The words of a phrase or text, without the gaps.
pub fn words_of(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    scan(text, |piece| {
        if let Piece::Word { word, .. } = piece {
            out.push(word.to_owned());
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces as owned values: (word or gap, capitalised, shouted).
    fn pieces(text: &str) -> Vec<(String, bool, bool)> {
        let mut out = Vec::new();
        scan(text, |p| {
            out.push(match p {
                Piece::Word { word, capitalised, shouted } => (word.to_owned(), capitalised, shouted),
                Piece::Gap(ch) => (format!("gap {ch:?}"), false, false),
            });
        });
        out
    }

    fn word(w: &str, capitalised: bool) -> (String, bool, bool) {
        (w.to_owned(), capitalised, false)
    }

    fn gap(ch: char) -> (String, bool, bool) {
        (format!("gap {ch:?}"), false, false)
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
            pieces("Mark hit.\nno"),
            [word("mark", true), gap(' '), word("hit", false), gap('.'), gap('\n'), word("no", false)]
        );
        assert!(pieces("").is_empty());
        assert_eq!(pieces("NO Bruise"), [("no".to_owned(), true, true), gap(' '), word("bruise", true)]);
    }
}
