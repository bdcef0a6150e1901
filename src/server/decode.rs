//! What a client frame may be, before it reaches a room: the checks one pass over its text
//! makes (repeated keys, nesting, numbers no field can hold), the typed reading of it as a
//! [`ClientMessage`], and the error code and message for a frame that cannot be read.

use std::borrow::Cow;
use std::cell::RefCell;

use circlekeeper_protocol::{limits, ClientMessage, Command, ErrorCode};
use serde::Deserialize;
use serde_json::Value;

/// Deepest nesting of arrays and objects in a client frame (`{"a":[1]}` nests 2 deep); a
/// deeper frame is refused with `invalid_message` before it is read. Commands nest at most 2.
pub const MAX_JSON_DEPTH: usize = 32;

/// Most fields tried, one left out at a time, to name the one a command could not take.
const FIELD_TRIALS: usize = 16;

/// Whether `id` is a command id the server takes, and so may echo: 1 to
/// [`limits::MAX_COMMAND_ID_CHARS`] characters.
pub(super) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().count() <= limits::MAX_COMMAND_ID_CHARS
}

/// What [`scan`] found wrong with a frame, before reading it as a command.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Flaw {
    /// An object (at any depth) has this key twice.
    DuplicateKey(String),
    /// Arrays and objects nest deeper than [`MAX_JSON_DEPTH`].
    TooDeep,
    /// This top-level field holds a number too large for any field (such as `1e400`).
    NumberOutOfRange(String),
}

impl Flaw {
    /// The error frame's message.
    pub(super) fn message(&self) -> String {
        match self {
            Flaw::DuplicateKey(key) => {
                format!("duplicate key {key:?}: a key may appear once in an object")
            }
            Flaw::TooDeep => {
                format!("arrays and objects nest deeper than {MAX_JSON_DEPTH} levels")
            }
            Flaw::NumberOutOfRange(field) => format!("{field}: number out of range"),
        }
    }
}

/// What a [`scan`] learned on its way through a frame.
#[derive(Default)]
struct ScanState<'de> {
    /// The first flaw, which ended the scan.
    flaw: Option<Flaw>,
    /// The top-level `id`, if it is a [`valid_id`] read before the flaw (borrowed from the
    /// frame unless it has escapes).
    id: Option<Cow<'de, str>>,
    /// The top-level key whose value the scan was in when it failed.
    field: Option<String>,
    /// Whether the top-level `type` is a string.
    type_text: bool,
}

/// What a frame that passed the [`scan`] is like, for its reading.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Scanned<'a> {
    /// Whether the top-level `type` is a string: only then can the typed reading be taken
    /// as it is (see [`parse`]).
    type_text: bool,
    /// The top-level `id`, if it is a [`valid_id`].
    id: Option<Cow<'a, str>>,
}

/// One pass over a frame, before it is read as a command, for what serde_json lets through or
/// reports badly: a repeated key (serde_json keeps the last silently), nesting deeper than
/// [`MAX_JSON_DEPTH`], a number too large for any field. `Err` carries the frame's id, when
/// it came before the flaw. Malformed JSON passes: the careful reading names it. On its way,
/// it notes whether the frame's `type` is a string, which [`parse`] needs to know.
pub(super) fn scan(text: &str) -> Result<Scanned<'_>, (Option<String>, Flaw)> {
    let state = RefCell::new(ScanState::default());
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = ScanSeed {
        depth: 0,
        capture: Capture::Nothing,
        state: &state,
    };
    let result = serde::de::DeserializeSeed::deserialize(seed, &mut de).and_then(|_| de.end());
    let ScanState {
        flaw,
        id,
        field,
        type_text,
    } = state.into_inner();
    if let Some(flaw) = flaw {
        return Err((id.map(Cow::into_owned), flaw));
    }
    match (result, field) {
        // serde_json reads a number like 1e400 as a syntax error; its message is the only way
        // to tell it from one.
        (Err(e), Some(field)) if e.to_string().starts_with("number out of range") => {
            Err((id.map(Cow::into_owned), Flaw::NumberOutOfRange(field)))
        }
        _ => Ok(Scanned { type_text, id }),
    }
}

/// Which top-level value a [`scan`] notes.
#[derive(Clone, Copy, PartialEq)]
enum Capture {
    /// None.
    Nothing,
    /// The `id`: kept, if it is a string.
    Id,
    /// The `type`: whether it is a string.
    Type,
}

/// Keys of an object a [`scan`] remembers without allocating; past these, a set.
const SEEN_INLINE: usize = 8;

/// One value in a [`scan`]: `depth` arrays and objects enclose it; `capture` says whether it
/// is the top-level `id` or `type`.
#[derive(Clone, Copy)]
struct ScanSeed<'a, 'de> {
    depth: usize,
    capture: Capture,
    state: &'a RefCell<ScanState<'de>>,
}

impl<'de> ScanSeed<'_, 'de> {
    /// Record a flaw and end the scan.
    fn fail<E: serde::de::Error>(&self, flaw: Flaw) -> E {
        self.state.borrow_mut().flaw = Some(flaw);
        E::custom("flawed frame")
    }

    /// The depth of a container this value opens, or the end of the scan if too deep.
    fn enter<E: serde::de::Error>(&self) -> Result<usize, E> {
        let level = self.depth + 1;
        if level > MAX_JSON_DEPTH {
            return Err(self.fail(Flaw::TooDeep));
        }
        Ok(level)
    }

    /// A string value: the `id` is kept (if it is one the server takes), a `type` noted.
    fn string<E: serde::de::Error>(self, v: Cow<'de, str>) -> Result<(), E> {
        match self.capture {
            Capture::Nothing => {}
            Capture::Id => {
                if valid_id(&v) {
                    self.state.borrow_mut().id = Some(v);
                }
            }
            Capture::Type => self.state.borrow_mut().type_text = true,
        }
        Ok(())
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for ScanSeed<'_, 'de> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ScanSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<(), E> {
        self.string(Cow::Borrowed(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        if self.capture == Capture::Nothing {
            return Ok(());
        }
        self.string(Cow::Owned(v.to_string()))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = ScanSeed {
            depth: self.enter()?,
            capture: Capture::Nothing,
            ..self
        };
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let depth = self.enter()?;
        // The keys seen so far: the first few without allocating (a command has a handful).
        let mut few: [Option<Cow<'de, str>>; SEEN_INLINE] = Default::default();
        let mut more = std::collections::BTreeSet::new();
        let mut count = 0;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let seen = few.iter().flatten().any(|k| *k == key) || more.contains(&key);
            if seen {
                if self.depth == 0 && key == "id" {
                    self.state.borrow_mut().id = None;
                }
                let shown: String = key.chars().take(40).collect();
                return Err(self.fail(Flaw::DuplicateKey(shown)));
            }
            let top = self.depth == 0;
            let capture = match &*key {
                "id" if top => Capture::Id,
                "type" if top => Capture::Type,
                _ => Capture::Nothing,
            };
            let inner = ScanSeed {
                depth,
                capture,
                state: self.state,
            };
            if let Err(e) = map.next_value_seed(inner) {
                if top {
                    let shown: String = key.chars().take(40).collect();
                    self.state.borrow_mut().field = Some(shown);
                }
                return Err(e);
            }
            match few.get_mut(count) {
                Some(slot) => *slot = Some(key),
                None => {
                    more.insert(key);
                }
            }
            count += 1;
        }
        Ok(())
    }
}

/// An object key in a [`scan`], borrowed from the frame unless it has escapes.
struct KeySeed;

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

/// Read a client frame that passed the [`scan`]. Only a string `type` names a command: a
/// derived enum would also take a variant's index (`"type": 7` would be read as `pass`).
///
/// The common case (the scan saw a string `type` and a command id) takes one typed pass over
/// the text, as the [`Command`] alone: the scan already has the id, and a command ignores the
/// fields it does not have, `id` among them, as [`ClientMessage`]'s flattened reading does
/// (no command has a field of that name). Anything unusual (an error, a `type` that is not a
/// string, no id the server takes) is read again the careful way, through a [`Value`], so the
/// answer is always the careful one's. Repeated keys never get here: [`scan`] refuses them
/// first.
pub(super) fn parse(text: &str, scanned: Scanned) -> Result<ClientMessage, serde_json::Error> {
    if let (true, Some(id)) = (scanned.type_text, scanned.id) {
        if let Ok(command) = serde_json::from_str::<Command>(text) {
            return Ok(ClientMessage {
                id: id.into_owned(),
                command,
            });
        }
    }
    parse_via_value(text)
}

/// The careful reading of a client frame: as a [`Value`] first, then typed.
fn parse_via_value(text: &str) -> Result<ClientMessage, serde_json::Error> {
    let value: Value = serde_json::from_str(text)?;
    if !value.get("type").is_some_and(Value::is_string) {
        return Err(serde::de::Error::custom("type must be a string"));
    }
    serde_json::from_value(value)
}

/// The `id` of a frame that will not be read any further (a rate-limited one), for its error:
/// a top-level string of 1 to [`limits::MAX_COMMAND_ID_CHARS`] characters, or `None` (not
/// JSON, no `id`, a repeated one, or one that is not a command id).
pub(super) fn id_of(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct IdProbe<'a> {
        #[serde(borrow, default)]
        id: Option<std::borrow::Cow<'a, str>>,
    }
    // A derived struct would also take a sequence (`["a"]`): only an object has an `id`.
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let id = serde_json::from_str::<IdProbe>(text).ok()?.id?;
    let chars = id.chars().count();
    (1..=limits::MAX_COMMAND_ID_CHARS)
        .contains(&chars)
        .then(|| id.into_owned())
}

/// Tell malformed JSON from an unknown type from a known type with bad fields, and find the id
/// when there is one to name.
pub(super) fn classify(text: &str, err: &serde_json::Error) -> (Option<String>, ErrorCode, String) {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return (
            None,
            ErrorCode::MalformedJson,
            "the frame is not valid JSON".into(),
        );
    };
    let Value::Object(obj) = value else {
        return (
            None,
            ErrorCode::InvalidMessage,
            "a frame is a JSON object with a type and an id".into(),
        );
    };
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| valid_id(s))
        .map(str::to_string);
    match obj.get("type").and_then(Value::as_str) {
        None => (
            id,
            ErrorCode::UnknownType,
            "the frame has no type, or its type is not a string".into(),
        ),
        Some(t) if !Command::NAMES.contains(&t) => {
            let shown: String = t.chars().take(40).collect();
            (
                id,
                ErrorCode::UnknownType,
                format!("unknown type {shown:?}"),
            )
        }
        Some(t) => {
            let detail = err.to_string();
            let detail = detail.split(" at line ").next().unwrap_or(&detail);
            let message = match culprit(&obj) {
                Some(field) if !detail.contains(&format!("`{field}`")) => {
                    format!("{t}: {field}: {detail}")
                }
                _ => format!("{t}: {detail}"),
            };
            (id, ErrorCode::InvalidMessage, message)
        }
    }
}

/// The field a command of a known type could not take (a wrong type, a number out of range
/// for it, an unknown variant): the one whose absence alone lets the frame be read, or be
/// missed as a required field. serde's message names a wrong value but not where it was.
fn culprit(obj: &serde_json::Map<String, Value>) -> Option<&str> {
    obj.keys()
        .map(String::as_str)
        .filter(|k| !matches!(*k, "id" | "type"))
        .take(FIELD_TRIALS)
        .find(|k| {
            let mut rest = obj.clone();
            rest.remove(*k);
            match serde_json::from_value::<ClientMessage>(Value::Object(rest)) {
                Ok(_) => true,
                Err(e) => e.to_string().starts_with(&format!("missing field `{k}`")),
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_reading_agrees_with_the_careful_one() {
        let frames = [
            r#"{"id":"a","type":"raise_hand"}"#,
            r#"{"type":"lower_hand","id":"b","participant":null}"#,
            r#"{"id":"c","type":7}"#,
            r#"{"id":"d","type":null}"#,
            r#"{"id":"e","type":{"x":[1,2,{"y":"z"}]}}"#,
            r#"{"id":"f","type":["raise_hand"]}"#,
            r#"{"id":"g"}"#,
            r#"{"id":"h","type":7,"type":"raise_hand"}"#,
            r#"{"id":"i","type":"raise_hand","type":"done"}"#,
            r#"{"id":"j","type":"give_floor","participant":"x"}"#,
            r#"{"id":"k","type":"nope"}"#,
            r#"[1,2]"#,
            r#"{"id":"l","type":"raise_hand""#,
            r#"{"id":"m","type":"raise_hand","extra":{"deep":[true,false,1.5]}}"#,
            r#"{"type":"lower_hand","id":"n\u0041","participant":4}"#,
            r#"{"id":"","type":"raise_hand"}"#,
            r#"{"id":7,"type":"raise_hand"}"#,
            r#"{"type":"raise_hand"}"#,
            r#"{"id":"o","type":"adjust_timer","timer":"stage","seconds":60}"#,
            r#"{"id":"p","type":"adjust_timer","timer":"stage","seconds":"60"}"#,
            r#"{"id":"q","type":"join","room":"r","key":"k","name":"Ada"}"#,
        ];
        for text in frames {
            let Ok(scanned) = scan(text) else {
                // A repeated key is refused before any reading.
                assert!(text.matches("\"type\"").count() > 1, "{text}");
                continue;
            };
            let quick = parse(text, scanned).map_err(|e| e.to_string());
            let whole = serde_json::from_str::<ClientMessage>(text).map_err(|e| e.to_string());
            if let (Ok(q), Ok(w)) = (&quick, &whole) {
                assert_eq!(q, w, "{text}: the command alone reads as the whole frame");
            }
            let careful = parse_via_value(text).map_err(|e| e.to_string());
            assert_eq!(
                quick.is_ok(),
                careful.is_ok(),
                "{text}: {quick:?} vs {careful:?}"
            );
            if let (Ok(q), Ok(c)) = (&quick, &careful) {
                assert_eq!(q, c, "{text}");
            }
        }
        let read = |text: &str| scan(text).ok().map(|s| parse(text, s).is_ok());
        assert_eq!(read(r#"{"id":"c","type":7}"#), Some(false));
        assert_eq!(read(r#"{"id":"a","type":"raise_hand"}"#), Some(true));
        // Only a string `type` lets the typed reading through as it is.
        let noted = |text: &str| scan(text).map(|s| s.type_text).ok();
        let id = |text: &str| scan(text).ok().and_then(|s| s.id).map(Cow::into_owned);
        assert_eq!(id(r#"{"id":"a\u0062","type":"x"}"#).as_deref(), Some("ab"));
        assert_eq!(id(r#"{"id":"","type":"x"}"#), None);
        assert_eq!(id(r#"{"x":{"id":"a"}}"#), None);
        assert_eq!(noted(r#"{"id":"a","type":"raise_hand"}"#), Some(true));
        assert_eq!(noted(r#"{"id":"a","type":"r\u0061ise_hand"}"#), Some(true));
        assert_eq!(noted(r#"{"id":"a","type":7}"#), Some(false));
        assert_eq!(
            noted(r#"{"id":"a","x":{"type":"raise_hand"}}"#),
            Some(false)
        );
        assert_eq!(noted(r#"[{"type":"raise_hand"}]"#), Some(false));
    }

    #[test]
    fn only_a_command_id_is_taken_from_a_frame_not_read() {
        assert_eq!(id_of(r#"{"type":"sync","id":"a7"}"#), Some("a7".into()));
        assert_eq!(
            id_of(r#"{"id":"a\u0037","x":[1,{"y":2}]}"#),
            Some("a7".into())
        );
        let long = format!(
            r#"{{"id":"{}"}}"#,
            "x".repeat(limits::MAX_COMMAND_ID_CHARS + 1)
        );
        for text in [
            r#"{"type":"sync"}"#,
            r#"{"id":""}"#,
            r#"{"id":7}"#,
            r#"{"id":"a","id":"b"}"#,
            r#"{"id":"a""#,
            r#"["a"]"#,
            long.as_str(),
        ] {
            assert_eq!(id_of(text), None, "{text}");
        }
    }

    #[test]
    fn the_scan_finds_repeats_depth_and_huge_numbers_and_passes_the_rest() {
        let flaw = |text: &str| scan(text).err();
        assert_eq!(flaw(r#"{"id":"a","type":"sync"}"#), None);
        assert_eq!(
            flaw(r#"{"id":"a","type":"sync""#),
            None,
            "malformed is not a flaw"
        );
        assert_eq!(flaw("not json"), None);
        assert_eq!(
            flaw(r#"{"id":"a","x":{"k":1,"\u006b":2}}"#),
            Some((Some("a".into()), Flaw::DuplicateKey("k".into())))
        );
        // The same key in two objects is no repeat.
        assert_eq!(flaw(r#"{"id":"a","x":{"k":1},"y":{"k":2}}"#), None);
        let nested = |n: usize| "[".repeat(n) + &"]".repeat(n);
        assert_eq!(flaw(&nested(MAX_JSON_DEPTH)), None);
        assert_eq!(
            flaw(&nested(MAX_JSON_DEPTH + 1)),
            Some((None, Flaw::TooDeep))
        );
        assert_eq!(
            flaw(r#"{"id":"a","n":[1e400]}"#),
            Some((Some("a".into()), Flaw::NumberOutOfRange("n".into())))
        );
        assert_eq!(flaw("1e400"), None, "no field to name: malformed");
        let long_id = "i".repeat(limits::MAX_COMMAND_ID_CHARS + 1);
        assert_eq!(
            flaw(&format!(r#"{{"id":"{long_id}","a":1,"a":1}}"#)),
            Some((None, Flaw::DuplicateKey("a".into())))
        );
        assert_eq!(
            flaw(r#"{"id":"","a":1,"a":1}"#),
            Some((None, Flaw::DuplicateKey("a".into()))),
            "an empty id is no id to echo"
        );
    }

    #[test]
    fn an_empty_or_over_long_id_is_not_echoed_in_a_refusal() {
        let err = serde_json::from_str::<Value>("{").expect_err("not JSON");
        let long_id = "i".repeat(limits::MAX_COMMAND_ID_CHARS + 1);
        for id in ["", long_id.as_str()] {
            let text = format!(r#"{{"id":"{id}","type":"no_such_command"}}"#);
            let (echoed, code, _) = classify(&text, &err);
            assert_eq!((echoed, code), (None, ErrorCode::UnknownType), "{id:?}");
        }
        let (echoed, _, _) = classify(r#"{"id":"k","type":"no_such_command"}"#, &err);
        assert_eq!(echoed.as_deref(), Some("k"));
    }
}
