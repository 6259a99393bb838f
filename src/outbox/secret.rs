//! Webhook signing secrets in the Standard Webhooks form: `whsec_` followed by the base64 of
//! 24 to 64 random bytes. The HMAC key is the decoded bytes, exactly as the specification's
//! reference libraries take it, so a receiver passes the secret to one of them unchanged.

use base64::{Engine, engine::general_purpose::STANDARD};
use rand::RngCore;

/// The prefix of every secret the hub issues or accepts.
pub const PREFIX: &str = "whsec_";
/// Bytes in a secret the hub generates (the specification asks for 24 to 64).
const GENERATED_BYTES: usize = 32;

/// A new random secret, `whsec_` + base64 of 32 bytes.
pub fn generate() -> String {
    let mut bytes = [0u8; GENERATED_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{PREFIX}{}", STANDARD.encode(bytes))
}

/// Checks a secret supplied at registration or rotation: `whsec_` and the base64 of 24 to 64
/// bytes. The error is a sentence for the problem's `errors`, never the value.
pub fn check(secret: &str) -> Result<(), &'static str> {
    const RULE: &str =
        "must be whsec_ followed by the base64 of 24 to 64 random bytes (or omitted: the hub generates one)";
    let encoded = secret.strip_prefix(PREFIX).ok_or(RULE)?;
    let key = STANDARD.decode(encoded).map_err(|_| RULE)?;
    if (24..=64).contains(&key.len()) { Ok(()) } else { Err(RULE) }
}

/// The HMAC key of a stored secret. A `whsec_` secret's decoded bytes; a secret registered
/// before the Standard Webhooks headers (any 16-200 characters) signs with its UTF-8 bytes, as
/// the deprecated `X-Mash-Signature` always did.
pub fn key(stored: &str) -> Vec<u8> {
    stored.strip_prefix(PREFIX).and_then(|b| STANDARD.decode(b).ok()).unwrap_or_else(|| stored.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_pass_the_check_and_differ() {
        let (a, b) = (generate(), generate());
        assert!(check(&a).is_ok() && check(&b).is_ok());
        assert_ne!(a, b);
        assert_eq!(key(&a).len(), GENERATED_BYTES);
    }

    #[test]
    fn the_check_wants_the_prefix_valid_base64_and_24_to_64_bytes() {
        assert!(check("0123456789abcdef0123456789abcdef").is_err(), "no prefix");
        assert!(check("whsec_not base64!").is_err());
        assert!(check(&format!("whsec_{}", STANDARD.encode([7u8; 23]))).is_err(), "too short");
        assert!(check(&format!("whsec_{}", STANDARD.encode([7u8; 65]))).is_err(), "too long");
        assert!(check(&format!("whsec_{}", STANDARD.encode([7u8; 24]))).is_ok());
    }

    #[test]
    fn the_key_is_the_decoded_secret_or_a_legacy_secrets_bytes() {
        // The specification's example secret.
        assert_eq!(
            key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()
        );
        assert_eq!(key("an old plain secret"), b"an old plain secret".to_vec());
    }
}
