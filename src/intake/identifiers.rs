//! Check-digit validation for the national identifiers a contact may carry.
//!
//! - NHS number: 10 digits; the 10th is a modulus-11 check digit over the first nine with
//!   weights 10 down to 2. A remainder giving check value 10 means the number is never issued.
//! - UPN (unique pupil number): 13 characters; the 1st is a check letter, the modulo-23 sum of
//!   characters 2-13 weighted 2-13, mapped to A-Z without I, O and S. Characters 2-12 are digits;
//!   the 13th is a digit, or for a temporary UPN one of the same 23 letters, valued by its index.

/// The 23 letters a UPN check letter (or temporary UPN suffix) may be, in value order.
const UPN_LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

/// Normalises an NHS number as partners write it ("943 476 5919", "943-476-5919") to 10 digits,
/// or `None` when it is not a valid NHS number.
pub fn normalise_nhs_number(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    (digits.len() == 10
        && digits.bytes().all(|b| b.is_ascii_digit())
        && nhs_check_digit(&digits[..9]) == Some(digits.as_bytes()[9] - b'0'))
    .then_some(digits)
}

/// The check digit for the first nine digits of an NHS number, or `None` when no valid number
/// starts with them.
pub fn nhs_check_digit(first_nine: &str) -> Option<u8> {
    if first_nine.len() != 9 || !first_nine.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first_nine.bytes().zip((2..=10).rev()).map(|(b, w)| u32::from(b - b'0') * w).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        check => u8::try_from(check).ok(),
    }
}

/// Normalises a UPN to upper case without spaces, or `None` when it is not a valid UPN.
pub fn normalise_upn(raw: &str) -> Option<String> {
    let upn: String = raw.chars().filter(|c| *c != ' ').collect::<String>().to_ascii_uppercase();
    let bytes = upn.as_bytes();
    if bytes.len() != 13 || !bytes[1..12].iter().all(u8::is_ascii_digit) {
        return None;
    }
    (upn_check_letter(&upn[1..]) == Some(bytes[0])).then_some(upn)
}

/// The check letter for characters 2-13 of a UPN.
pub fn upn_check_letter(rest: &str) -> Option<u8> {
    let bytes = rest.as_bytes();
    if bytes.len() != 12 || !bytes[..11].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let last = bytes[11];
    let last_value = if last.is_ascii_digit() {
        u32::from(last - b'0')
    } else {
        u32::try_from(UPN_LETTERS.iter().position(|l| *l == last)?).ok()?
    };
    let sum: u32 = bytes[..11].iter().zip(2..).map(|(b, w)| u32::from(b - b'0') * w).sum::<u32>() + last_value * 13;
    UPN_LETTERS.get(usize::try_from(sum % 23).ok()?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_nhs_numbers() {
        assert_eq!(normalise_nhs_number("9434765919").as_deref(), Some("9434765919"));
        assert_eq!(normalise_nhs_number("943 476 5919").as_deref(), Some("9434765919"));
        assert_eq!(normalise_nhs_number("943-476-5919").as_deref(), Some("9434765919"));
        assert_eq!(normalise_nhs_number("9434765918"), None);
        assert_eq!(normalise_nhs_number("943476591"), None);
        assert_eq!(normalise_nhs_number("94347659190"), None);
        assert_eq!(normalise_nhs_number("94347659a9"), None);
        assert_eq!(normalise_nhs_number(""), None);
    }

    #[test]
    fn a_check_value_of_ten_is_never_valid() {
        // Find a prefix whose check value is 10 and make sure no final digit makes it valid.
        let prefix = (0..1_000_000_000u64).map(|n| format!("{n:09}")).find(|p| nhs_check_digit(p).is_none()).unwrap();
        for d in 0..10 {
            assert_eq!(normalise_nhs_number(&format!("{prefix}{d}")), None);
        }
    }

    #[test]
    fn known_upns() {
        // python-stdnum's documented example. (A widely copied census help page "corrects"
        // B207000016049 to Q207000016049, but its own terms sum to 266, remainder 13, which is P.)
        assert_eq!(normalise_upn("B801200005001").as_deref(), Some("B801200005001"));
        assert_eq!(normalise_upn("P207000016049").as_deref(), Some("P207000016049"));
        assert_eq!(normalise_upn("Q207000016049"), None);
        assert_eq!(normalise_upn("b801200005001").as_deref(), Some("B801200005001"));
        assert_eq!(normalise_upn("B207000016049"), None);
        assert_eq!(normalise_upn("A801200005001"), None);
        assert_eq!(normalise_upn("X80120000A001"), None);
        assert_eq!(normalise_upn("B80120000500"), None);
    }

    #[test]
    fn temporary_upns_with_a_final_letter_validate() {
        let rest = "80120000500A";
        let check = char::from(upn_check_letter(rest).unwrap());
        assert!(normalise_upn(&format!("{check}{rest}")).is_some());
        // I, O and S are never used.
        assert_eq!(upn_check_letter("80120000500I"), None);
    }

    proptest! {
        #[test]
        fn every_issued_nhs_number_validates_and_every_single_digit_error_is_caught(
            prefix in "[0-9]{9}", pos in 0usize..10, delta in 1u8..10,
        ) {
            if let Some(check) = nhs_check_digit(&prefix) {
                let number = format!("{prefix}{check}");
                prop_assert_eq!(normalise_nhs_number(&number), Some(number.clone()));
                let mut bytes = number.into_bytes();
                bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
                let mutated = String::from_utf8(bytes).unwrap();
                prop_assert_eq!(normalise_nhs_number(&mutated), None);
            }
        }

        #[test]
        fn nhs_numbers_catch_adjacent_transpositions(prefix in "[0-9]{9}", pos in 0usize..9) {
            if let Some(check) = nhs_check_digit(&prefix) {
                let mut bytes = format!("{prefix}{check}").into_bytes();
                prop_assume!(bytes[pos] != bytes[pos + 1]);
                bytes.swap(pos, pos + 1);
                prop_assert_eq!(normalise_nhs_number(&String::from_utf8(bytes).unwrap()), None);
            }
        }

        #[test]
        fn every_upn_with_its_check_letter_validates_and_single_digit_errors_are_caught(
            rest in "[0-9]{12}", pos in 1usize..13, delta in 1u8..10,
        ) {
            let check = upn_check_letter(&rest).unwrap();
            let upn = format!("{}{rest}", char::from(check));
            prop_assert_eq!(normalise_upn(&upn), Some(upn.clone()));
            let mut bytes = upn.into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            prop_assert_eq!(normalise_upn(&String::from_utf8(bytes).unwrap()), None);
        }

        #[test]
        fn a_wrong_check_letter_is_refused(rest in "[0-9]{12}", other in 0usize..23) {
            let check = upn_check_letter(&rest).unwrap();
            let letter = UPN_LETTERS[other];
            prop_assume!(letter != check);
            prop_assert_eq!(normalise_upn(&format!("{}{rest}", char::from(letter))), None);
        }

        #[test]
        fn validators_never_panic_on_arbitrary_text(s in "\\PC{0,20}") {
            let _ = normalise_nhs_number(&s);
            let _ = normalise_upn(&s);
        }
    }
}
