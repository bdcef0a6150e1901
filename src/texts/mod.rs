//! The server's built-in texts in other languages. The built-in texts are English data — the
//! formats' names, descriptions, stage titles and purposes, the prompt bank's texts and
//! sources, the default ground rules, the default title of a series' session and the fixed
//! words of exports — and a room carries them in English. This module holds, for each shipped
//! language, a translation of every one of them, keyed by the English text: the web client asks
//! for a language's map (`GET /api/texts/{lang}`) and shows a room's texts in its reader's
//! language; exports are written in a language with [`Lang::t`].
//!
//! A test enumerates every built-in text from the real data and fails when a language lacks
//! one, so a new prompt or stage cannot ship untranslated.

use std::collections::HashMap;
use std::sync::OnceLock;

mod de;
mod es;
mod html_labels;
mod labels;
mod reports;

pub use html_labels::HTML_LABELS;
pub use labels::{fill, label, LABELS};
pub use reports::REPORT_LABELS;

/// An English text and its translation.
type Pair = (&'static str, &'static str);

/// A language the server's texts come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English: the texts as they are written; its map is empty.
    #[default]
    En,
    /// Spanish (informal "tú").
    Es,
    /// German (informal "du").
    De,
}

impl Lang {
    /// Every language, English first.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Es, Lang::De];

    /// The language of a code (`en`, `es`, `de`; exactly these, lower case), or `None`.
    pub fn parse(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The language's code, as in a URL or a request.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
            Lang::De => "de",
        }
    }

    /// The translations, each English text with its own, in the order they are written (the
    /// built-in data's texts, then the fixed words of exports); none for English.
    pub fn pairs(self) -> impl Iterator<Item = (&'static str, &'static str)> {
        let (texts, exports, html): (&[Pair], &[Pair], &[Pair]) = match self {
            Lang::En => (&[], &[], &[]),
            Lang::Es => (es::TEXTS, es::EXPORTS, es::HTML),
            Lang::De => (de::TEXTS, de::EXPORTS, de::HTML),
        };
        let reports: &[Pair] = match self {
            Lang::En => &[],
            Lang::Es => es::REPORTS,
            Lang::De => de::REPORTS,
        };
        texts
            .iter()
            .chain(exports)
            .chain(html)
            .chain(reports)
            .copied()
    }

    /// The map from English text to this language's, built once.
    pub fn map(self) -> &'static HashMap<&'static str, &'static str> {
        static MAPS: [OnceLock<HashMap<&'static str, &'static str>>; 3] =
            [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let index = Lang::ALL.iter().position(|&l| l == self).unwrap_or(0);
        MAPS[index].get_or_init(|| self.pairs().collect())
    }

    /// `english` in this language: its translation when it is a built-in text, else itself (a
    /// title or stage someone wrote stays as they wrote it).
    pub fn t(self, english: &str) -> &str {
        self.map().get(english).copied().unwrap_or(english)
    }
}

/// Every built-in English text, read from the real data: each built-in format's name,
/// description, stage titles and purposes; each prompt's text and source; the default ground
/// rules; the default title of a series' session; and the fixed words of exports ([`LABELS`],
/// [`HTML_LABELS`]).
/// Sorted, without repeats.
pub fn builtin_texts() -> Vec<&'static str> {
    // The formats are built on demand as owned data; their texts are leaked once so the list
    // can hold `&'static str` like the rest (a few kilobytes, once per process).
    static FORMATS: OnceLock<Vec<&'static str>> = OnceLock::new();
    let formats = FORMATS.get_or_init(|| {
        let mut texts = Vec::new();
        for format in crate::formats::BUILTIN_IDS
            .iter()
            .filter_map(|id| crate::formats::builtin(id))
        {
            texts.push(format.name);
            texts.push(format.description);
            for stage in format.stages {
                texts.push(stage.title);
                texts.push(stage.purpose);
            }
        }
        texts
            .into_iter()
            .map(|t| &*Box::leak(t.into_boxed_str()))
            .collect()
    });
    let mut all: Vec<&'static str> = formats.clone();
    for entry in crate::room::prompts::bank() {
        all.push(entry.text);
        all.push(entry.source);
    }
    all.push(crate::room::state::DEFAULT_GROUND_RULES);
    all.push(crate::series::SESSION_TITLE);
    all.extend_from_slice(LABELS);
    all.extend_from_slice(HTML_LABELS);
    all.extend_from_slice(REPORT_LABELS);
    all.sort_unstable();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_builtin_text_has_a_translation_in_every_language() {
        let texts = builtin_texts();
        assert!(texts.len() > 100, "the built-in texts were not all found");
        for lang in [Lang::Es, Lang::De] {
            let missing: Vec<&&str> = texts
                .iter()
                .filter(|t| !lang.map().contains_key(*t))
                .collect();
            assert!(
                missing.is_empty(),
                "{} lacks a translation of: {missing:#?}",
                lang.code()
            );
        }
    }

    #[test]
    fn every_translation_is_of_a_builtin_text_once_and_not_left_in_english() {
        let texts: HashSet<&str> = builtin_texts().into_iter().collect();
        for lang in [Lang::Es, Lang::De] {
            let mut seen = HashSet::new();
            for (english, translated) in lang.pairs() {
                assert!(
                    texts.contains(english),
                    "{}: stale {english:?}",
                    lang.code()
                );
                assert!(seen.insert(english), "{}: twice {english:?}", lang.code());
                assert!(
                    !translated.trim().is_empty(),
                    "{}: {english:?}",
                    lang.code()
                );
            }
        }
    }

    /// The `{name}` holes of a text, sorted.
    fn holes(text: &str) -> Vec<&str> {
        let mut holes: Vec<&str> = text
            .split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(name, _)| name))
            .collect();
        holes.sort_unstable();
        holes
    }

    #[test]
    fn placeholders_survive_translation() {
        for lang in [Lang::Es, Lang::De] {
            for (english, translated) in lang.pairs() {
                assert_eq!(
                    holes(english),
                    holes(translated),
                    "{}: {english:?}",
                    lang.code()
                );
            }
        }
    }

    #[test]
    fn translations_fit_the_limits_of_the_texts_they_replace() {
        use circlekeeper_protocol::limits::MAX_TEXT_CHARS;
        for lang in [Lang::Es, Lang::De] {
            for entry in crate::room::prompts::bank() {
                let text = lang.t(entry.text);
                assert!(text.chars().count() <= MAX_TEXT_CHARS, "{text}");
            }
        }
    }

    #[test]
    fn languages_parse_from_their_codes_only() {
        for lang in Lang::ALL {
            assert_eq!(Lang::parse(lang.code()), Some(lang));
        }
        for bad in ["", "EN", "fr", "es-ES", "de "] {
            assert_eq!(Lang::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Lang::Es.t("Check-in"), "Check-in");
        assert_eq!(Lang::De.t("Reflection"), "Reflexion");
        assert_eq!(Lang::Es.t("My own stage"), "My own stage");
        assert_eq!(Lang::En.t("Reflection"), "Reflection");
    }
}
