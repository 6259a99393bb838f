//! Recognising the same child across contacts: the same NHS number, or the same normalised given
//! name, family name and date of birth. Normalisation drops case, spacing, punctuation (hyphens
//! and apostrophes of every kind, including the modifier-letter apostrophes that Unicode counts
//! as letters) and accents ("Zoë O'Brien" = "zoe obrien"), so a typing difference does not hide
//! a repeat; a
//! different child who shares a surname does not match, because given name and date of birth
//! are part of the key.

use chrono::NaiveDate;
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use crate::contact::model::Child;

/// A name reduced to lower-case letters and digits, accents, hyphens and apostrophes removed.
pub fn normalise_name(name: &str) -> String {
    name.nfkd()
        .filter(|c| !is_combining_mark(*c) && !is_apostrophe_letter(*c))
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .fold(String::new(), |mut out, c| {
            match fold(c) {
                "" => out.push(c),
                folded => out.push_str(folded),
            }
            out
        })
}

/// Apostrophes that Unicode classes as letters, so that `is_alphanumeric` would keep them:
/// "Oʼ Brien" typed with a modifier-letter apostrophe is "O'Brien".
fn is_apostrophe_letter(c: char) -> bool {
    matches!(c, '\u{02BB}' | '\u{02BC}' | '\u{02BD}' | '\u{02B9}' | '\u{02C8}' | '\u{A78B}' | '\u{A78C}')
}

/// Letters that Unicode decomposition leaves alone but a typist writes in plain Latin.
fn fold(c: char) -> &'static str {
    match c {
        'ł' => "l",
        'ø' => "o",
        'đ' | 'ð' => "d",
        'æ' => "ae",
        'œ' => "oe",
        'ß' => "ss",
        'þ' => "th",
        'ı' => "i",
        _ => "",
    }
}

/// The name-and-birth-date key, when given name, family name and date of birth are all known.
pub fn name_key(given: Option<&str>, family: Option<&str>, date_of_birth: Option<NaiveDate>) -> Option<String> {
    let given = normalise_name(given?);
    let family = normalise_name(family?);
    let date_of_birth = date_of_birth?;
    (!given.is_empty() && !family.is_empty()).then(|| format!("{given}|{family}|{date_of_birth}"))
}

/// The matching keys of a child as submitted.
pub fn keys_of(child: &Child) -> (Option<String>, Option<String>) {
    (child.nhs_number.clone(), name_key(child.given_name.as_deref(), child.family_name.as_deref(), child.date_of_birth))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dob() -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(2019, 5, 4)
    }

    #[test]
    fn case_spacing_punctuation_and_accents_do_not_matter() {
        let a = name_key(Some("Zoë"), Some("O'Brien"), dob());
        assert_eq!(a.as_deref(), Some("zoe|obrien|2019-05-04"));
        assert_eq!(name_key(Some("  ZOE "), Some("o brien"), dob()), a);
        assert_eq!(
            name_key(Some("Zoe\u{0301}"), Some("O\u{2019}Brien"), dob()),
            a,
            "combining accent, curly apostrophe"
        );
        assert_eq!(
            name_key(Some("Mary-Jane"), Some("Smith"), dob()),
            name_key(Some("mary jane"), Some("SMITH"), dob())
        );
        assert_eq!(
            name_key(Some("Łukasz"), Some("Østergård"), dob()),
            name_key(Some("Lukasz"), Some("Ostergard"), dob())
        );
    }

    #[test]
    fn hyphens_and_apostrophes_of_every_kind_do_not_matter() {
        let key = name_key(Some("Mary-Jane"), Some("O'Brien-Smith"), dob());
        assert_eq!(key.as_deref(), Some("maryjane|obriensmith|2019-05-04"));
        for (given, family) in [
            ("Mary Jane", "O Brien Smith"),
            ("MaryJane", "OBrienSmith"),
            ("Mary\u{2010}Jane", "O\u{2019}Brien\u{2011}Smith"),
            ("Mary\u{2013}Jane", "O\u{02BC}Brien-Smith"),
            ("Mary-Jane", "O\u{02BB}Brien Smith"),
            ("mary - jane", "O\u{A78C}brien smith"),
            ("Mary\u{00AD}Jane", "O`Brien-Smith"),
        ] {
            assert_eq!(name_key(Some(given), Some(family), dob()), key, "{given} {family}");
        }
    }

    #[test]
    fn a_different_child_with_the_same_surname_is_a_different_key() {
        let ava = name_key(Some("Ava"), Some("Smith"), dob());
        assert_ne!(ava, name_key(Some("Noah"), Some("Smith"), dob()));
        assert_ne!(ava, name_key(Some("Ava"), Some("Smith"), NaiveDate::from_ymd_opt(2020, 5, 4)));
    }

    #[test]
    fn a_key_needs_both_names_and_a_date_of_birth() {
        assert_eq!(name_key(Some("Ava"), None, dob()), None);
        assert_eq!(name_key(Some("Ava"), Some("Smith"), None), None);
        assert_eq!(name_key(Some("!!"), Some("Smith"), dob()), None);
    }
}
