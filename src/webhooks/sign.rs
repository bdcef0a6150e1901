//! Webhook signatures: HMAC-SHA256 with the webhook's secret over `"{timestamp}.{body}"`.
//!
//! Every attempt carries two headers:
//!
//! - `X-Circlekeeper-Timestamp`: the attempt's time in Unix seconds;
//! - `X-Circlekeeper-Signature`: `sha256=` and the lower-case hex of
//!   `HMAC-SHA256(secret, timestamp + "." + body)`, the body as its exact bytes.
//!
//! A receiver recomputes the signature over the raw body, compares it in constant time, and
//! refuses a timestamp more than five minutes from its own clock: a recorded delivery replayed
//! later fails that check, and changing the timestamp breaks the signature.

use hmac::{Hmac, KeyInit, Mac};
use sha2_hmac::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "x-circlekeeper-signature";

/// The header that carries the signed timestamp (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "x-circlekeeper-timestamp";

/// The header that names the event (`session_opened`, `session_started`, `session_ended`,
/// `test`).
pub const EVENT_HEADER: &str = "x-circlekeeper-event";

/// The header that carries the delivery's id (the same on every attempt of one delivery).
pub const DELIVERY_HEADER: &str = "x-circlekeeper-delivery";

/// The signature header's value for `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    // An HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        let s = signature("Jefe", 1_700_000_000, b"{\"a\":1}");
        assert!(s.starts_with("sha256="), "{s}");
        assert_eq!(s.len(), 7 + 64);
        assert_eq!(s, signature("Jefe", 1_700_000_000, b"{\"a\":1}"));
        assert_ne!(s, signature("Jefe", 1_700_000_001, b"{\"a\":1}"));
        assert_ne!(s, signature("Jeff", 1_700_000_000, b"{\"a\":1}"));
    }

    #[test]
    fn it_matches_the_rfc_4231_vector_when_the_message_is_split_the_same_way() {
        // HMAC-SHA256("Jefe", "what do ya want for nothing?"): the signed string is
        // "{timestamp}.{body}", so a message "1.x" is timestamp 1 and body "x".
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            expected,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"1.x");
        let whole: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(signature("Jefe", 1, b"x"), format!("sha256={whole}"));
    }
}
