//! Private texts are sealed on their author's device: the server checks the envelope's shape.
//!
//! A text marked `private` (a commitment's `text`, feedback's `helped` and `helped_less`, a
//! survey `comment`) is encrypted by the author's client with AES-256-GCM under a key the server
//! never sees, and arrives as an **envelope**:
//!
//! ```text
//! ck1:<base64url(12-byte IV)>:<base64url(ciphertext || 16-byte tag)>
//! ```
//!
//! base64url without padding (RFC 4648 §5), the additional authenticated data the fixed
//! [`limits::SEALED_AAD`]. The server cannot open it (it has no key): it only checks that the
//! text is a well-formed envelope whose ciphertext fits a plaintext of at most
//! [`limits::MAX_TEXT_CHARS`] characters, and refuses a `private` text that is not one, and a
//! shared (`circle`, `exportable`) text that is one (the room could not read it). So what is
//! stored, restored, kept in a series' record and answered in `mine` is ciphertext only.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use circlekeeper_protocol::{limits, ErrorCode, Visibility};

use super::{clean_paragraphs, reject, Rejection};

/// Bytes of the AES-GCM nonce (IV).
const IV_BYTES: usize = 12;
/// Bytes of the AES-GCM tag, after the ciphertext.
const TAG_BYTES: usize = 16;
/// Most bytes a plaintext of [`limits::MAX_TEXT_CHARS`] characters takes in UTF-8.
const MAX_PLAIN_BYTES: usize = limits::MAX_TEXT_CHARS * 4;

/// Why a text is not a well-formed envelope (for the refusal's message).
fn envelope_problem(text: &str) -> Option<&'static str> {
    let Some(rest) = text.strip_prefix(limits::SEALED_PREFIX) else {
        return Some("it does not start with ck1:");
    };
    if text.chars().count() > limits::MAX_SEALED_CHARS {
        return Some("it is longer than a sealed text of 500 characters");
    }
    let Some((iv, sealed)) = rest.split_once(':') else {
        return Some("it has no : between the IV and the ciphertext");
    };
    match URL_SAFE_NO_PAD.decode(iv) {
        Ok(iv) if iv.len() == IV_BYTES => {}
        _ => return Some("its IV is not 12 bytes in base64url without padding"),
    }
    match URL_SAFE_NO_PAD.decode(sealed) {
        Ok(bytes) if bytes.len() <= TAG_BYTES => {
            Some("its ciphertext is too short: an empty text and the 16-byte tag at least")
        }
        Ok(bytes) if bytes.len() > MAX_PLAIN_BYTES + TAG_BYTES => {
            Some("its ciphertext is longer than a sealed text of 500 characters")
        }
        Ok(_) => None,
        Err(_) => Some("its ciphertext is not base64url without padding"),
    }
}

/// Whether `text` is a well-formed envelope (the shape only: the server cannot open it).
pub fn is_envelope(text: &str) -> bool {
    envelope_problem(text).is_none()
}

/// Check a text of the given visibility: a `private` one must be an envelope (returned as
/// sent), a shared one is cleaned as any paragraph text and must not be an envelope. `what`
/// names the field in the refusal.
pub fn clean_note(what: &str, text: &str, visibility: Visibility) -> Result<String, Rejection> {
    if visibility == Visibility::Private {
        return match envelope_problem(text) {
            None => Ok(text.to_string()),
            Some(problem) => reject(
                ErrorCode::InvalidText,
                format!(
                    "a private {what} must be sealed on your device (an envelope ck1:IV:CIPHERTEXT, see the protocol): {problem}"
                ),
            ),
        };
    }
    let clean = clean_paragraphs(what, text, limits::MAX_TEXT_CHARS)?;
    if is_envelope(&clean) {
        return reject(
            ErrorCode::InvalidText,
            format!("{what} is sealed, but only a private text may be: the room could not read it"),
        );
    }
    Ok(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn envelope(iv: usize, sealed: usize) -> String {
        format!("ck1:{}:{}", b64(&vec![7; iv]), b64(&vec![9; sealed]))
    }

    fn refused(text: &str, visibility: Visibility) -> String {
        let r = clean_note("text", text, visibility).expect_err(text);
        assert_eq!(r.code, ErrorCode::InvalidText, "{text}");
        r.message
    }

    #[test]
    fn a_well_formed_envelope_is_kept_as_sent() {
        for sealed in [TAG_BYTES + 1, 100, MAX_PLAIN_BYTES + TAG_BYTES] {
            let e = envelope(IV_BYTES, sealed);
            assert_eq!(clean_note("text", &e, Visibility::Private), Ok(e.clone()));
            assert!(e.chars().count() <= limits::MAX_SEALED_CHARS);
        }
        let longest = envelope(IV_BYTES, MAX_PLAIN_BYTES + TAG_BYTES);
        assert_eq!(longest.chars().count(), limits::MAX_SEALED_CHARS);
    }

    #[test]
    fn a_private_text_with_the_wrong_prefix_is_refused() {
        let e = envelope(IV_BYTES, 40);
        for bad in [
            e.replacen("ck1:", "ck2:", 1),
            e.replacen("ck1:", "CK1:", 1),
            e.replacen("ck1:", "", 1),
            format!(" {e}"),
            "Decide whether I still want this job".to_string(),
        ] {
            assert!(refused(&bad, Visibility::Private).contains("ck1:"), "{bad}");
        }
    }

    #[test]
    fn a_private_text_in_bad_base64_is_refused() {
        let good_iv = b64(&[1; IV_BYTES]);
        let good_body = b64(&[2; 40]);
        for bad in [
            format!("ck1:{good_iv}:{good_body}="),
            format!("ck1:{good_iv}:{}", good_body.replace('A', "+")),
            format!("ck1:{good_iv}:ab/cdefghijklmnopqrstuvwxyz"),
            format!("ck1:{good_iv}:abc de fghijklmnopqrstuvwxyz"),
            format!("ck1:{good_iv}=:{good_body}"),
            format!("ck1:{good_iv}{good_body}"),
            format!("ck1:{good_iv}:{good_body}:x"),
            // 27 characters whose last one carries bits that no 20 bytes would.
            format!("ck1:{good_iv}:{}B", "A".repeat(26)),
        ] {
            refused(&bad, Visibility::Private);
        }
        assert!(!is_envelope(&format!("ck1:{good_iv}:{good_body}=")));
    }

    #[test]
    fn a_private_text_too_short_is_refused() {
        for (iv, sealed) in [(IV_BYTES, TAG_BYTES), (IV_BYTES, 0), (11, 40), (0, 40)] {
            refused(&envelope(iv, sealed), Visibility::Private);
        }
        refused("ck1::", Visibility::Private);
        refused("", Visibility::Private);
    }

    #[test]
    fn a_private_text_too_long_is_refused() {
        for (iv, sealed) in [(13, 40), (IV_BYTES, MAX_PLAIN_BYTES + TAG_BYTES + 1)] {
            refused(&envelope(iv, sealed), Visibility::Private);
        }
        let huge = format!("ck1:{}:{}", b64(&[1; IV_BYTES]), "A".repeat(100_000));
        assert!(refused(&huge, Visibility::Private).contains("longer"));
    }

    #[test]
    fn a_shared_text_may_not_be_sealed_and_is_cleaned_as_before() {
        let e = envelope(IV_BYTES, 40);
        for v in [Visibility::Circle, Visibility::Exportable] {
            assert!(refused(&e, v).contains("only a private text"));
            assert!(refused(&format!("  {e}\n"), v).contains("only a private text"));
            assert_eq!(
                clean_note("text", "  ck1: call Mum  ", v),
                Ok("ck1: call Mum".to_string())
            );
            refused(&"x".repeat(limits::MAX_TEXT_CHARS + 1), v);
        }
    }
}
