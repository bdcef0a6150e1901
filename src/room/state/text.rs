//! Text rules: how names, titles, prompts and other text people type are cleaned and limited
//! before they enter a room. The limits themselves are the protocol's (`limits`).

use circlekeeper_protocol::ErrorCode;

use super::{reject, Rejection};

/// Check a display name or other one-line text: trimmed, non-empty, at most `max` characters,
/// no control characters (no line breaks). Returns the trimmed text.
pub fn clean_text(what: &str, text: &str, max: usize) -> Result<String, Rejection> {
    check_text(what, text, max, false)
}

/// Like [`clean_text`], but line breaks are allowed (ground rules, prompts).
pub fn clean_paragraphs(what: &str, text: &str, max: usize) -> Result<String, Rejection> {
    check_text(what, text, max, true)
}

fn check_text(what: &str, text: &str, max: usize, lines: bool) -> Result<String, Rejection> {
    let t = text.trim();
    if t.is_empty() {
        return reject(ErrorCode::InvalidText, format!("{what} must not be empty"));
    }
    if t.chars().count() > max {
        return reject(
            ErrorCode::InvalidText,
            format!("{what} is longer than {max} characters"),
        );
    }
    if t.chars().any(|c| c.is_control() && !(lines && c == '\n')) {
        return reject(
            ErrorCode::InvalidText,
            format!("{what} must not contain control characters"),
        );
    }
    Ok(t.to_string())
}
