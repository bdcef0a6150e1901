//! Text rules: how names, titles, prompts and other text people type are cleaned and limited
//! before they enter a room. The limits themselves are the protocol's (`limits`).

use circlekeeper_protocol::ErrorCode;
use unicode_normalization::UnicodeNormalization;

use super::{reject, Rejection};

/// Check a display name or other one-line text: trimmed, non-empty, at most `max` characters,
/// no control characters (no line breaks). Returns the trimmed text.
pub fn clean_text(what: &str, text: &str, max: usize) -> Result<String, Rejection> {
    check_text(what, text, max, false)
}

/// Characters a name may not hold, as inclusive ranges: the marks, embeddings, overrides and
/// isolates that change the direction of the text around them (a right-to-left override in one
/// name would reverse the text shown after it), and characters that show nothing at all (zero
/// width space, word joiner and invisible operators, soft hyphen, byte order mark, fillers),
/// with which two names that look the same could differ. The zero width joiner and non-joiner,
/// which emoji and several scripts need, are allowed. The schema's name pattern
/// (`ONE_LINE_TEXT` in `protocol/src/schema.rs`) lists the same.
pub const HIDDEN_IN_NAMES: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200B}'),
    ('\u{200E}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF9}', '\u{FFFB}'),
];

/// Check a person's display name: [`clean_text`] at the name limit, and none of the
/// characters of [`HIDDEN_IN_NAMES`]. Returns the trimmed name.
pub fn clean_name(what: &str, text: &str) -> Result<String, Rejection> {
    let name = clean_text(what, text, circlekeeper_protocol::limits::MAX_NAME_CHARS)?;
    let hidden = |c: char| HIDDEN_IN_NAMES.iter().any(|&(a, b)| (a..=b).contains(&c));
    if let Some(c) = name.chars().find(|&c| hidden(c)) {
        return reject(
            ErrorCode::InvalidText,
            format!(
                "{what} must not contain invisible or text-direction characters (it has U+{:04X})",
                u32::from(c)
            ),
        );
    }
    Ok(name)
}

/// The form two display names are compared in: Unicode NFKC (full-width "Ａｎａ" is "Ana",
/// the ligature "ﬁ" is "fi"), lower case, and every run of whitespace made one space, with none
/// at either end. Two names with the same key are the same name to the people reading them.
pub fn name_key(name: &str) -> String {
    let folded = name.nfkc().collect::<String>().to_lowercase();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The human message of `name_taken`.
pub const NAME_TAKEN: &str =
    "Someone in this circle already goes by that name; add an initial or a surname";

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_may_not_turn_the_text_around_or_hide_characters() {
        for bad in [
            "Ada\u{202E}gnirts",
            "\u{2067}Ben",
            "Ch\u{200B}en",
            "Dee\u{200F}",
            "\u{FEFF}Eli",
            "Fa\u{00AD}y",
            "\u{3164}",
        ] {
            let refused = clean_name("name", bad).expect_err(bad);
            assert_eq!(refused.code, ErrorCode::InvalidText, "{bad:?}");
            assert!(refused.message.contains("U+"), "{}", refused.message);
        }
        // Scripts and emoji that need the zero width (non-)joiner keep it; other names pass.
        for good in [
            "Ada",
            "می\u{200C}خواهم",
            "👩\u{200D}💻 Gus",
            "Zoë",
            "李华",
            "أحمد",
        ] {
            assert_eq!(clean_name("name", good).as_deref(), Ok(good), "{good:?}");
        }
    }

    #[test]
    fn names_that_read_the_same_have_the_same_key() {
        let ana = name_key("Ana");
        for same in ["ANA", " ana ", "Ａｎａ", "aNa", "Ana\u{3000}"] {
            assert_eq!(name_key(same), ana, "{same:?}");
        }
        assert_eq!(name_key("Ana  María"), name_key("ana maría"));
        assert_eq!(name_key("Ana\tMaria"), "ana maria");
        // Composed and decomposed accents are one name; a different letter is another.
        assert_eq!(name_key("Zoe\u{0308}"), name_key("Zoë"));
        assert_eq!(name_key("ﬁona"), name_key("Fiona"));
        for other in ["Ana B.", "Anna", "Ann", "Ána"] {
            assert_ne!(name_key(other), ana, "{other:?}");
        }
    }
}
